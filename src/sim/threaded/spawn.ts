/**
 * Starting a TypeScript worker that works from `npx pvnet`, `npm test` and `npm run bench` alike: every
 * worker starts from boot.mjs, which registers tsx in its own thread and imports `entry` (a worker cannot
 * rely on its parent's loader hooks or command line). The entry reads its own data from `workerData.data`.
 *
 * `PVNET_WORKER_PROF=<dir>` starts every worker with --cpu-prof into that directory (a CPU profile per
 * thread, for docs/performance.md's profiles); `PVNET_WORKER_HEAP_PROF=<dir>` likewise with --heap-prof (the
 * sampling allocation profile: where the garbage comes from).
 */

import { Worker } from 'node:worker_threads';

const BOOT = new URL('./boot.mjs', import.meta.url);

export function spawnTsWorker(entry: URL, data: unknown, name: string): Worker {
  const cpu = process.env['PVNET_WORKER_PROF'];
  const heap = process.env['PVNET_WORKER_HEAP_PROF'];
  const execArgv = [...(cpu ? ['--cpu-prof', '--cpu-prof-dir', cpu] : []), ...(heap ? ['--heap-prof', '--heap-prof-dir', heap] : [])];
  return new Worker(BOOT, { workerData: { entry: entry.href, data }, execArgv, name });
}
