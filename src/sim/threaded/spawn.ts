/**
 * Starting a TypeScript worker that works from `npx pvnet`, `npm test` and `npm run bench` alike: every
 * worker starts from boot.mjs, which registers tsx in its own thread and imports `entry` (a worker cannot
 * rely on its parent's loader hooks or command line). The entry reads its own data from `workerData.data`.
 *
 * `PVNET_WORKER_PROF=<dir>` starts every worker with --cpu-prof into that directory (profiles per thread).
 */

import { Worker } from 'node:worker_threads';

const BOOT = new URL('./boot.mjs', import.meta.url);

export function spawnTsWorker(entry: URL, data: unknown, name: string): Worker {
  const prof = process.env['PVNET_WORKER_PROF'];
  return new Worker(BOOT, {
    workerData: { entry: entry.href, data },
    execArgv: prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [],
    name,
  });
}
