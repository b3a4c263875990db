/**
 * The cost model applied to the benchmark's packets (DESIGN.md principle 6): what one guest TX packet of a
 * given size would cost a real hypervisor in each strategy, and the size at which map becomes cheaper than
 * copy. Prices are hv/cost.ts's named parameters; the op counts below follow netback's TX layouts for the
 * workload's frames (workload.ts), so they are what the measured counters show per packet (the benchmark
 * reports those too, priced, as `modelNsPerPacket`).
 *
 * Per packet of S bytes in s slots (s = 1 for S ≤ 1514; else a 54-byte header slot and ⌈(S − 54) / 4096⌉
 * payload slots):
 *
 * ```
 *   copy      copy ops: one per slot, plus one per dom0 frame boundary the linear copy crosses
 *             (the head starts NET_SKB_PAD + NET_IP_ALIGN = 66 bytes into its first frame);
 *             one pin per slot (each slot is a new grant: a copy buffer switch); S bytes
 *   map       one map and one unmap per slot; one TLB flush per 32 unmaps
 *   hybrid    the first 128 bytes copied (one op and one pin per slot they touch), every slot not copied
 *   zerocopy  whole mapped (a slot copied in part is mapped for its rest)
 *   all       hypercall entries: one copy, one map and one unmap hypercall per NAPI round of
 *             ROUND_PACKETS packets (amortised); event sends are left out (the same for every strategy,
 *             and set by how busy the rings are, not by the strategy)
 * ```
 *
 * The crossover is the smallest S where map's price is below copy's, or null when there is none up to
 * 65535: per 4 KiB slot map costs mapNs + unmapNs + tlbFlushNs / 32 whatever the size, copy costs copyOpNs
 * (twice when the slot straddles a dom0 frame) + copyPinNs + 4096 × copyByteNs, so with per-slot fixed costs
 * above copy's the answer is "never", and `breakEvenCopyByteNs` says what per-byte copy cost would change it.
 */

import { XEN_PAGE_SIZE } from '../../abi/page.ts';
import { XEN_NETBACK_TX_COPY_LEN, XENVIF_NAPI_WEIGHT } from '../../drivers/netback/constants.ts';
import type { TxStrategy } from '../../drivers/netback/netback.ts';
import { DEFAULT_COST_PARAMS, newDomainCost, priceOf, type CostParams, type DomainCost } from '../../hv/cost.ts';
import { GNTTAB_UNMAP_BATCH_SIZE } from '../../abi/grant_table.ts';
import { NET_IP_ALIGN, NET_SKB_PAD } from '../../skb/constants.ts';
import { TX_HDR_LEN, TX_LINEAR_MAX, TX_MAX_SIZE, TX_MIN_SIZE } from './workload.ts';

/** Packets per NAPI round the hypercall entries are shared by. */
export const ROUND_PACKETS = XENVIF_NAPI_WEIGHT;
/** Where netback's linear copy starts in its first head frame. */
const HEAD_START = NET_SKB_PAD + NET_IP_ALIGN;

/** Slot sizes of a workload frame of `size` bytes. */
export function slotSizes(size: number): number[] {
  if (size <= TX_LINEAR_MAX) return [size];
  const out = [TX_HDR_LEN];
  for (let left = size - TX_HDR_LEN; left > 0; left -= XEN_PAGE_SIZE) out.push(Math.min(left, XEN_PAGE_SIZE));
  return out;
}

/** Modelled hypervisor work for one packet (fractions where an op is shared by several packets). */
export function modelOps(strategy: TxStrategy, size: number): DomainCost {
  const c = newDomainCost();
  const slots = slotSizes(size);
  const copyLen = strategy === 'copy' ? size : strategy === 'map' ? 0 : Math.min(size, XEN_NETBACK_TX_COPY_LEN);
  let dest = HEAD_START;
  let left = copyLen;
  let mapped = 0;
  for (const slot of slots) {
    const take = Math.min(left, slot);
    if (take > 0) {
      c.copyOps += 1 + Math.floor((dest + take - 1) / XEN_PAGE_SIZE) - Math.floor(dest / XEN_PAGE_SIZE);
      c.copyPins += 1;
      c.copyBytes += take;
      dest += take;
      left -= take;
    }
    if (take < slot) mapped++;
  }
  c.mapOps = mapped;
  c.unmapOps = mapped;
  c.tlbFlushes = mapped / GNTTAB_UNMAP_BATCH_SIZE;
  c.hypercalls = ((c.copyOps > 0 ? 1 : 0) + (mapped > 0 ? 2 : 0)) / ROUND_PACKETS;
  return c;
}

/** Modelled ns of one packet. */
export function modelNs(p: CostParams, strategy: TxStrategy, size: number): number {
  return priceOf(modelOps(strategy, size), p);
}

export interface Crossover {
  /** Smallest frame size at which map is modelled cheaper than copy, or null if none up to 65535 B. */
  readonly bytes: number | null;
  /**
   * copyByteNs above which a full 4 KiB payload slot is cheaper to map than to copy, all else as given:
   * (mapNs + unmapNs + tlbFlushNs / 32 − copyOpNs − copyPinNs) / 4096.
   */
  readonly breakEvenCopyByteNs: number;
}

export function modelCrossover(p: CostParams = DEFAULT_COST_PARAMS): Crossover {
  const breakEvenCopyByteNs = (p.mapNs + p.unmapNs + p.tlbFlushNs / GNTTAB_UNMAP_BATCH_SIZE - p.copyOpNs - p.copyPinNs) / XEN_PAGE_SIZE;
  for (let s = TX_MIN_SIZE; s <= TX_MAX_SIZE; s++) {
    if (modelNs(p, 'map', s) < modelNs(p, 'copy', s)) return { bytes: s, breakEvenCopyByteNs };
  }
  return { bytes: null, breakEvenCopyByteNs };
}
