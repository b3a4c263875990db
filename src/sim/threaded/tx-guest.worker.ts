/**
 * The guest's thread of a threaded TX run: the guest kernel, netfront and the sender (bench/machine.ts's
 * guest half) over the shared machine memory, reaching the hypervisor through the link. Connects, sends the
 * warm-up, marks, sends the measured packets, marks, then removes its device and reports.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { IrqDispatcher } from '../../drivers/evtchn-irq.ts';
import { MachineMemory } from '../../hv/memory.ts';
import { buildGuestSide, connected } from '../bench/machine.ts';
import { HeapWatch } from './heap.ts';
import { LoopStats, runLoop } from './loop.ts';
import { Link, OP_SHUTDOWN } from './protocol.ts';
import { RemoteHypervisor } from './remote-hv.ts';
import { MARK_END, MARK_START, type TxGuestWorkerData, type TxWorkerMessage } from './tx-plan.ts';
import { WallClock, epochMs } from './wall-clock.ts';

const post = (m: TxWorkerMessage) => parentPort!.postMessage(m);

async function main(d: TxGuestWorkerData): Promise<void> {
  const mem = MachineMemory.attach(d.memory);
  const clock = new WallClock(d.originMs);
  const link = new Link(d.link);
  const rhv = new RemoteHypervisor(mem, clock, link, d.guest);
  const irq = new IrqDispatcher(rhv.asHypervisor(), 0);
  const side = buildGuestSide(rhv.asHypervisor(), irq, rhv.dom, d.plan.spec);
  const { gen, nf } = side;
  const scratch = new Int32Array(4);
  const step = () => rhv.drain(scratch) + gen.pump();
  const stallMs = d.plan.stallMs ?? 30_000;
  const loop = (what: string, done: () => boolean, stats?: LoopStats) =>
    runLoop(done, step, {
      bell: link.guestBell, peer: link.hvBell, clock, what: `guest thread: ${what}`, stallMs, ...(stats ? { stats } : {}),
      ...(d.plan.spinMs !== undefined ? { spinMs: d.plan.spinMs } : {}),
    });

  loop('connecting', () => connected(nf, null));
  gen.allow(d.plan.warmup);
  loop('warm-up', () => gen.drained);
  const heap = d.plan.heap === true ? new HeapWatch() : null;
  rhv.port.call('mark', MARK_START);
  heap?.start();
  const startMs = epochMs();
  gen.allow(d.plan.packets);
  const stats = new LoopStats();
  loop('sending', () => gen.drained, stats);
  const endMs = epochMs();
  heap?.stop();
  rhv.port.call('mark', MARK_END);
  gen.log?.scan(nf.queues[0]!);
  const netfront = nf.netfrontStats();
  const broken = nf.brokenReason;

  let closed = false;
  nf.remove(() => {
    closed = true;
  });
  loop('closing', () => closed);
  gen.release();
  rhv.port.post(OP_SHUTDOWN, 0);
  post({
    type: 'result', startMs, endMs, records: gen.log?.records() ?? null, strays: gen.log?.strays ?? 0, netfront, broken,
    busy: gen.busy, loop: { ...stats }, deferred: rhv.dom.gnttab.deferredCount, posted: rhv.port.postedCount,
    heap: heap === null ? null : await heap.report(),
  });
}

main((workerData as { data: TxGuestWorkerData }).data).catch((e: Error) => post({ type: 'error', message: e.message, stack: e.stack ?? '' }));
