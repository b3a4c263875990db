/**
 * The hypervisor's and dom0's thread of a threaded TX run: the Hypervisor, netback and dom0's stack with the
 * sink (bench/machine.ts's backend half), plus the guest link that executes the guest thread's hypercalls.
 * Reports its counters at the guest's marks, then tears the backend down and audits the hypervisor.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { auditHypervisor } from '../../hv/audit.ts';
import { netbackRemove } from '../../drivers/netback/index.ts';
import { buildBackendSide, machineCost } from '../bench/machine.ts';
import { GuestLink } from './hv-link.ts';
import { HeapWatch } from './heap.ts';
import { LoopStats, loopSnapshot, runLoop } from './loop.ts';
import { Link } from './protocol.ts';
import { MARK_END, MARK_START, type TxBackendResult, type TxMark, type TxWorkerData, type TxWorkerMessage } from './tx-plan.ts';
import { WallClock, epochMs } from './wall-clock.ts';

const post = (m: TxWorkerMessage) => parentPort!.postMessage(m);

async function main(d: TxWorkerData): Promise<void> {
  const clock = new WallClock(d.originMs);
  const back = buildBackendSide(clock, d.plan.spec, d.plan.cost);
  back.irq.upcallLatencyNs = 0;
  const link = new Link(d.link);
  const gl = new GuestLink(back.hv, back.guest, link);
  gl.install();
  const marks: TxMark[] = [];
  const heap = d.plan.heap === true ? new HeapWatch() : null;
  const stats = new LoopStats();
  gl.onMark = (label) => {
    if (heap !== null && label === MARK_END) heap.stop();
    marks.push({ label, atMs: epochMs(), cost: machineCost(back), delivered: back.sink.delivered, loop: loopSnapshot(stats, performance.now()) });
    if (heap !== null && label === MARK_START) heap.start();
  };
  post({ type: 'ready', memory: back.hv.mem.shared, guest: gl.domainInfo() });

  const stallMs = d.plan.stallMs ?? 30_000;
  runLoop(() => gl.shutdown, () => gl.poll(), { bell: link.hvBell, clock, what: 'hypervisor thread', stallMs, stats, peer: link.guestBell, ...(d.plan.spinMs !== undefined ? { spinMs: d.plan.spinMs } : {}) });

  const netback = back.be.vif?.queueStats ?? null;
  netbackRemove(back.be);
  const until = epochMs() + 20;
  while (epochMs() < until) clock.run();
  const sink = back.sink;
  const result: TxBackendResult = {
    type: 'result', marks, delivered: sink.delivered, mismatches: sink.mismatches, seqs: sink.seqs, digests: sink.digests,
    netback: netback!, audit: auditHypervisor(back.hv), posted: gl.posted, calls: gl.calls,
    heap: heap === null ? null : await heap.report(),
  };
  post(result);
}

main((workerData as { data: TxWorkerData }).data).catch((e: Error) => post({ type: 'error', message: e.message, stack: e.stack ?? '' }));
