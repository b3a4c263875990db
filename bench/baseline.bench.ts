/**
 * The baselines `pvnet bench` divides by, as mitata benches: memcpy of each frame size (a typed-array copy
 * of a prepared view, the source rotating over 64 pages: the view is the computed parameter, so each
 * iteration copies other bytes), and the bare single-producer single-consumer SharedArrayBuffer ring of
 * 12-byte messages, produced here and consumed by a worker thread (src/sim/bench/ring-baseline.worker.ts).
 *
 *   npx tsx bench/run.ts baseline
 */
import { once } from 'node:events';
import { bench, do_not_optimize, group } from 'mitata';
import { BENCH_SIZES } from '../src/sim/bench/workload.ts';
import { RING_BASELINE_SLOTS, RB_CONS, RB_GO, RB_HDR, RB_PROD, RB_STOP } from '../src/sim/bench/ring-baseline.ts';
import { spawnTsWorker } from '../src/sim/threaded/spawn.ts';

const PAGE = 4096;
const POOL = 64;
const src = new Uint8Array((POOL + 16) * PAGE).map((_, i) => (i * 7 + 1) & 0xff);
const dst = new Uint8Array(64 * 1024 + PAGE);

group('baseline: memcpy (typed-array copy of a frame)', () => {
  for (const size of BENCH_SIZES) {
    const views = Array.from({ length: POOL }, (_, k) => src.subarray(k * PAGE, k * PAGE + size));
    let k = 0;
    bench(`memcpy ${size} B`, function* () {
      yield {
        [0]: () => views[k++ & (POOL - 1)]!,
        bench(v: Uint8Array) {
          dst.set(v, 0);
          do_not_optimize(dst);
        },
      };
    });
  }
});

const BATCH = 4096;

group('baseline: bare SPSC ring of 12-byte messages, two threads', () => {
  bench(`${BATCH} messages produced here, consumed by a worker`, async function* () {
    const sab = new SharedArrayBuffer((RB_HDR + RING_BASELINE_SLOTS * 3) * 4);
    const w = new Int32Array(sab);
    const sink = spawnTsWorker(new URL('../src/sim/bench/ring-baseline.worker.ts', import.meta.url), { sab, role: 'sink', messages: 0 }, 'pvnet-ring-sink');
    await once(sink, 'message');
    Atomics.store(w, RB_GO, 1);
    Atomics.notify(w, RB_GO);
    const mask = RING_BASELINE_SLOTS - 1;
    let p = 0;
    let cons = 0;
    yield () => {
      for (let n = 0; n < BATCH; n++) {
        while (((p - cons) | 0) >= RING_BASELINE_SLOTS) cons = Atomics.load(w, RB_CONS);
        const at = RB_HDR + (p & mask) * 3;
        w[at] = p;
        w[at + 1] = p * 3;
        w[at + 2] = p ^ 0x5bd1e995;
        p = (p + 1) | 0;
        Atomics.store(w, RB_PROD, p);
      }
      while (Atomics.load(w, RB_CONS) !== p);
    };
    Atomics.store(w, RB_STOP, 1);
    await sink.terminate();
  });
});
