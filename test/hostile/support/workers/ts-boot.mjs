// Boot a TypeScript worker: register tsx in this thread, then import `workerData.entry` (a file URL). The
// `execArgv: ['--import', 'tsx']` form does not reach workers on every Node 20 (they fail on ".ts"), so
// workers start here and find their own options in `workerData.data`.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
