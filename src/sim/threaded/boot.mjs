// Worker bootstrap of the worker runtime: register tsx in this thread (a worker cannot inherit the
// parent's loader hooks, and `npx pvnet` has none on its command line), then load the TypeScript entry
// named in workerData.entry (its own data is workerData.data).
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
