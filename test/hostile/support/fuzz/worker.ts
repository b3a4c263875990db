/**
 * The fuzz loop in a worker thread (runner.ts watches it): runs engine.fuzz with the options it is given,
 * announces each case before running it (the heartbeat and, should the case never return, the evidence),
 * and posts the report at the end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fuzz, type FuzzOptions } from './engine.ts';

const port = parentPort!;
const opts = (workerData as { data: Omit<FuzzOptions, 'onCase'> }).data;
const report = fuzz({
  ...opts,
  onCase: (i, c, shrinking) => port.postMessage(shrinking ? { t: 'beat' } : { t: 'case', i, c }),
});
port.postMessage({ t: 'done', report });
