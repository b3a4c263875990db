/** Run one fuzz case in a worker thread and post its result (runner.ts uses it to shrink a hang). */
import { parentPort, workerData } from 'node:worker_threads';
import { runCase } from './run-case.ts';
import type { FuzzCase } from './case.ts';

const { case: c } = (workerData as { data: { case: FuzzCase } }).data;
parentPort!.postMessage(runCase(c));
