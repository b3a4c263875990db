/**
 * The worker-thread runtime, main-thread side: run the TX workload with the guest and the backend each in
 * its own worker_thread over one machine memory (DESIGN.md principle 5, "parallel second").
 *
 * ```
 *   main thread          spawns both, relays the backend's "ready" (memory and guest domain) to the guest,
 *                        collects both results
 *   backend worker       Hypervisor + dom0: netback, dom0's stack, the sink; executes the guest's hypercalls
 *   guest worker         the guest kernel: netfront and the sender; memory shared, hypercalls over the link
 * ```
 *
 * Both workers start from boot.mjs, which registers tsx in the thread, so the runtime works the same from
 * `npx pvnet`, `npm test` and `npm run bench`. Timing is the guest's: from the first measured packet handed
 * to netfront to the last one's completion (its sk_buff freed after every slot was answered).
 */

import type { Worker } from 'node:worker_threads';
import { InvalidArgument } from '../../errors.ts';
import type { DomainCost } from '../../hv/cost.ts';
import { costDiff } from '../bench/machine.ts';
import { checkSpec } from '../bench/workload.ts';
import { Link } from './protocol.ts';
import { spawnTsWorker } from './spawn.ts';
import {
  MARK_END, MARK_START, type TxBackendReady, type TxBackendResult, type TxGuestResult, type TxRunPlan, type TxWorkerMessage,
} from './tx-plan.ts';
import { epochMs } from './wall-clock.ts';

export interface ThreadedTxResult {
  readonly plan: TxRunPlan;
  /** Measured window, from the guest's clock. */
  readonly elapsedMs: number;
  readonly pps: number;
  /** Frame bytes per second × 8 / 1e9. */
  readonly gbps: number;
  /** Modelled hypervisor cost of the measured window (both domains' counters), and per packet. */
  readonly cost: DomainCost;
  readonly modelNsPerPacket: number;
  readonly guest: TxGuestResult;
  readonly backend: TxBackendResult;
}

const GUEST_ENTRY = new URL('./tx-guest.worker.ts', import.meta.url);
const BACKEND_ENTRY = new URL('./tx-backend.worker.ts', import.meta.url);

/** A worker started through boot.mjs, and a way to await its next message. */
class Thread {
  readonly worker: Worker;
  private readonly inbox: TxWorkerMessage[] = [];
  private waiter: ((m: TxWorkerMessage) => void) | null = null;
  private failure: Error | null = null;
  private failed: ((e: Error) => void) | null = null;

  constructor(name: string, entry: URL, data: object) {
    this.worker = spawnTsWorker(entry, data, name);
    this.worker.on('message', (m: TxWorkerMessage) => {
      if (m.type === 'error') return this.fail(new InvalidArgument(`${name}: ${m.message}${m.stack ? `\n${m.stack}` : ''}`));
      if (this.waiter !== null) {
        const w = this.waiter;
        this.waiter = null;
        this.failed = null;
        w(m);
      } else this.inbox.push(m);
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => {
      if (this.waiter !== null) this.fail(new InvalidArgument(`${name} exited (code ${code}) before answering`));
    });
  }

  next(): Promise<TxWorkerMessage> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const m = this.inbox.shift();
    if (m !== undefined) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failed = reject;
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const f = this.failed;
    this.waiter = null;
    this.failed = null;
    f?.(e);
  }
}

function checkPlan(plan: TxRunPlan): void {
  checkSpec(plan.spec);
  for (const k of ['warmup', 'packets'] as const) {
    if (!Number.isInteger(plan[k]) || plan[k] < (k === 'packets' ? 1 : 0)) throw new InvalidArgument(`threaded run: bad ${k} ${plan[k]}`);
  }
}

/** Run `plan` with the guest and the backend in two worker threads. */
export async function runThreadedTx(plan: TxRunPlan): Promise<ThreadedTxResult> {
  checkPlan(plan);
  const link = Link.create();
  const originMs = epochMs();
  const backend = new Thread('pvnet-backend', BACKEND_ENTRY, { plan, link: link.parts, originMs });
  let guest: Thread | null = null;
  try {
    const ready = await backend.next() as TxBackendReady;
    guest = new Thread('pvnet-guest', GUEST_ENTRY, { plan, link: link.parts, originMs, memory: ready.memory, guest: ready.guest });
    const [g, b] = await Promise.all([guest.next(), backend.next()]) as [TxGuestResult, TxBackendResult];
    const start = b.marks.find((m) => m.label === MARK_START);
    const end = b.marks.find((m) => m.label === MARK_END);
    if (start === undefined || end === undefined) throw new InvalidArgument('threaded run: the backend saw no start and end marks');
    const elapsedMs = g.endMs - g.startMs;
    const pps = plan.packets / (elapsedMs / 1e3);
    const cost = costDiff(end.cost, start.cost);
    return {
      plan, elapsedMs, pps, gbps: (pps * plan.spec.size * 8) / 1e9, cost, modelNsPerPacket: cost.ns / plan.packets, guest: g, backend: b,
    };
  } finally {
    await Promise.all([backend.worker.terminate(), guest?.worker.terminate()]);
  }
}
