/**
 * The two baselines every benchmark result is divided by, measured in the same run as the results:
 *
 * - **memcpy**: the same number of bytes as one frame, copied with a typed-array copy (`Uint8Array.set` of
 *   a prepared view, no allocation in the loop) between two private buffers, the source rotating over 64
 *   pages as the workload's payload pool does; bytes per second for each frame size.
 * - **bare ring**: two worker threads and a single-producer single-consumer ring of 12-byte messages (the
 *   size of a netif_tx_request) in a SharedArrayBuffer, 256 slots, one index publication per message, both
 *   ends spinning (ring-baseline.worker.ts); messages per second.
 *
 * Both report the best of `reps` repetitions: a baseline is the machine's capability, which noise only
 * ever lowers.
 */

import { XEN_PAGE_SIZE } from '../../abi/page.ts';
import { once } from 'node:events';
import os from 'node:os';
import { InvalidArgument } from '../../errors.ts';
import { spawnTsWorker } from '../threaded/spawn.ts';
import { RING_BASELINE_SLOTS, RB_GO, RB_HDR } from './ring-baseline.ts';

const POOL_PAGES = 64;
const PAGE = XEN_PAGE_SIZE;

/** Bytes per second of a typed-array copy of `size` bytes, best of `reps` runs of about `ms` each. */
export function memcpyBytesPerSec(size: number, reps = 3, ms = 150): number {
  const src = new Uint8Array((POOL_PAGES + 16) * PAGE);
  for (let i = 0; i < src.length; i++) src[i] = (i * 7 + 1) & 0xff;
  const dst = new Uint8Array(size + PAGE);
  const views = Array.from({ length: POOL_PAGES }, (_, k) => src.subarray(k * PAGE, k * PAGE + size));
  let best = 0;
  let iters = 64;
  for (let r = 0; r < reps; r++) {
    for (;;) {
      const t0 = performance.now();
      for (let i = 0; i < iters; i++) dst.set(views[i & (POOL_PAGES - 1)]!, 0);
      const dt = performance.now() - t0;
      if (dt < ms) {
        iters *= dt < ms / 8 ? 8 : 2;
        continue;
      }
      best = Math.max(best, (iters * size) / (dt / 1e3));
      break;
    }
  }
  if (dst[0] !== src[0]) throw new InvalidArgument('memcpy baseline: the copy did not happen');
  return best;
}

export interface RingBaseline {
  readonly msgsPerSec: number;
  readonly messages: number;
}

/** Messages per second through the bare two-thread ring, best of `reps` runs of `messages` messages. */
export async function ringMsgsPerSec(messages: number, reps = 3): Promise<RingBaseline> {
  let best = 0;
  for (let r = 0; r < reps; r++) best = Math.max(best, await ringOnce(messages));
  return { msgsPerSec: best, messages };
}

interface RingEnd {
  readonly t0: number;
  readonly t1: number;
  readonly sum: number;
}

async function ringOnce(messages: number): Promise<number> {
  const sab = new SharedArrayBuffer((RB_HDR + RING_BASELINE_SLOTS * 3) * 4);
  const entry = new URL('./ring-baseline.worker.ts', import.meta.url);
  const workers = (['producer', 'consumer'] as const).map((role) => spawnTsWorker(entry, { sab, role, messages }, `pvnet-ring-${role}`));
  try {
    await Promise.all(workers.map((w) => once(w, 'message')));
    const done = workers.map(async (w) => ((await once(w, 'message')) as [RingEnd])[0]);
    const words = new Int32Array(sab);
    Atomics.store(words, RB_GO, 1);
    Atomics.notify(words, RB_GO);
    const [p, c] = await Promise.all(done);
    if (p!.sum !== c!.sum) throw new InvalidArgument('ring baseline: the consumer read other messages than the producer wrote');
    return messages / ((Math.max(p!.t1, c!.t1) - Math.min(p!.t0, c!.t0)) / 1e3);
  } finally {
    await Promise.all(workers.map((x) => x.terminate()));
  }
}

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly platform: string;
  readonly node: string;
  readonly totalMemBytes: number;
  /** 1-minute load average when the run started (other work on the machine skews every number). */
  readonly loadAvg: number;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: os.availableParallelism?.() ?? cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    totalMemBytes: os.totalmem(),
    loadAvg: os.loadavg()[0] ?? 0,
  };
}
