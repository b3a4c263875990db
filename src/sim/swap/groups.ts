/**
 * The v20 reservation-group tree for the `groups` mode (REFERENCE §11.10 "Reservation group tree (v20) and
 * sizing", §12.2), built on src/mm/reserve.ts:
 *
 * ```
 *   "total reserve" (the zone's root: its pages become zone.pagesEmerg, the emergency watermark)
 *    └─ "total network reserve"            connected at the first memalloc socket (sk_adjust_memalloc)
 *        ├─ "network TX reserve" └─ "protocol TX pages"   M × (page + header) + TX_RESERVE_PAGES
 *        │                       └─ "sunrpc buffers"      kmalloc_estimate_objs(rpc buffer, M)
 *        └─ "network RX reserve" └─ "SKB data reserve" ├─ "SKB data cpu0"   B × ⌈S_max / PAGE⌉
 *                                                      └─ "SKB data cpu1"   B × ⌈S_max / PAGE⌉
 * ```
 *
 * Deviation, on purpose: v20 charged every emergency RX page to one "SKB data reserve" aggregate. Here the
 * aggregate is split per CPU (Neil Brown's per-CPU bound, §11.11): a NIC refills its rings from the reserve,
 * so under a flood the flood's queue would otherwise keep the whole aggregate in posted buffers and starve the
 * storage queue's charges (Neil's fairness objection). Each CPU's charges stay within its own B pages.
 *
 * Owns the nodes below the root. Referenced by the softirq driver (ctx.reserve = the CPU's RX group), the swap
 * client (TX and RPC groups) and the checker (limits). Dies at `disconnect()` (teardown), which shrinks the pool.
 */

import { kmallocSlab } from '../../mm/kmalloc.ts';
import {
  memReserveConnect, memReserveDisconnect, memReserveInit, memReserveKmemCacheSet, memReservePagesSet, type MemReserve,
} from '../../mm/reserve.ts';
import type { KmemAllocator } from '../../mm/slab.ts';
import type { ReserveDemand, SwapParams } from './params.ts';

export class SwapReserveGroups {
  readonly network: MemReserve;
  readonly tx: MemReserve;
  readonly txPages: MemReserve;
  readonly rpc: MemReserve;
  readonly rx: MemReserve;
  readonly skb: MemReserve;
  readonly rxCpu: MemReserve[] = [];
  connected = false;

  constructor(p: SwapParams, kmem: KmemAllocator, demand: ReserveDemand) {
    this.network = memReserveInit('total network reserve');
    this.tx = memReserveInit('network TX reserve', this.network);
    this.txPages = memReserveInit('protocol TX pages', this.tx);
    this.rpc = memReserveInit('sunrpc buffers', this.tx);
    this.rx = memReserveInit('network RX reserve', this.network);
    this.skb = memReserveInit('SKB data reserve', this.rx);
    memReservePagesSet(this.txPages, demand.tx);
    memReserveKmemCacheSet(this.rpc, kmallocSlab(kmem, p.rpcBufBytes), p.maxInFlight);
    for (let c = 0; c < p.cpus; c++) {
      const g = memReserveInit(`SKB data cpu${c}`, this.skb);
      memReservePagesSet(g, demand.rxPerCpu);
      this.rxCpu.push(g);
    }
  }

  /** Every node, for the checker and the report. */
  all(): MemReserve[] {
    return [this.network, this.tx, this.txPages, this.rpc, this.rx, this.skb, ...this.rxCpu];
  }

  /** sk_adjust_memalloc's 0 → 1: hang the network reserve under the zone's root (the pool grows); 0 or -errno. */
  connect(root: MemReserve): number {
    const r = memReserveConnect(this.network, root);
    if (r === 0) this.connected = true;
    return r;
  }

  /** 1 → 0: take it off again (the pool shrinks). */
  disconnect(): void {
    if (!this.connected) return;
    memReserveDisconnect(this.network);
    this.connected = false;
  }
}
