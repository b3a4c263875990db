/**
 * The NET_RX softirq of one CPU (REFERENCE §12.1 item 5): `__do_softirq` on top of whatever task the CPU was
 * running, then the NIC's net_rx_action for that CPU's queue.
 *
 * `softirqEnter` clears PF_MEMALLOC on the borrowed task and `softirqExit` puts it back (§11.7), so a softirq
 * that interrupts kswapd (PF_MEMALLOC for life) does not hand the flood kswapd's entitlement; the receive path
 * itself sets PF_MEMALLOC around a tagged skb only. In `groups` mode the CPU's RX reservation group is current
 * for the whole softirq, so every RX refill or copybreak allocation that dips below the watermarks is charged to
 * it (v20's per-device charging, per CPU here).
 *
 * Stateless: a function over the pieces it is handed.
 */

import type { MemReserve } from '../../mm/reserve.ts';
import { softirqEnter, softirqExit, type ExecContext, type TaskStruct } from '../../mm/task.ts';
import type { SwapNic } from './nic.ts';

/** Told the borrowed task's flags before and after the softirq (invariant 5). */
export interface SoftirqObserver {
  onSoftirqFlags(before: number, after: number, cpu: number): void;
}

/** Run CPU `cpu`'s NET_RX softirq on top of `borrowed`; returns the frames processed. */
export function netRxSoftirq(
  ctx: ExecContext, nic: SwapNic, cpu: number, borrowed: TaskStruct, rxGroup: MemReserve | null, obs: SoftirqObserver | null,
): number {
  const prev = ctx.switchTo(borrowed);
  const prevCpu = ctx.cpu;
  ctx.cpu = cpu;
  const before = borrowed.flags;
  const saved = softirqEnter(ctx);
  const savedRes = ctx.reserve;
  ctx.reserve = rxGroup;
  let n = 0;
  try {
    n = nic.netRxAction(cpu);
  } finally {
    ctx.reserve = savedRes;
    softirqExit(ctx, saved);
    obs?.onSoftirqFlags(before, borrowed.flags, cpu);
    ctx.cpu = prevCpu;
    ctx.switchTo(prev);
  }
  return n;
}
