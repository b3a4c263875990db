/**
 * The receive path: netif_receive_skb (__netif_receive_skb and its core), deliver_skb, the per-CPU backlog
 * (netif_rx / enqueue_to_backlog / process_backlog) and the receive-side allocation helper.
 *
 * netifReceiveSkb(stack, dev, skb) takes ownership of `skb`, whose data starts at the network header
 * (ethTypeTrans has run: `skb.protocol` set, mac header recorded). In order (REFERENCE §11.7, modern core):
 *
 * ```
 *   tagged = skb.pfmemalloc && a SOCK_MEMALLOC socket exists (mode 'aware')   <- one test while there is none
 *   tagged: save PF_MEMALLOC, set it (memalloc_noreclaim_save)                 (step 1)
 *   device down                                   -> drop
 *   802.1Q: untag (skb_vlan_untag)                                              (step 2)
 *   taps (ptype_all, matching device)             skipped when tagged           (step 3)
 *   tagged and protocol not ARP/IPv4/IPv6/802.1Q  -> drop                        (step 5)
 *   rx_handler (a bridge port)                    CONSUMED ends here; PASS/EXACT go on (step 6)
 *   ptype_base by protocol (exact: device-bound handlers only)
 *   last handler: orphan zerocopy frags (skb_orphan_frags_rx), then hand over
 *   nothing matched                               -> drop (rx_nohandler)
 *   drops: dev.stats.rxDropped++ and kfree_skb                                  (step 7)
 *   tagged: restore PF_MEMALLOC as it was                                       (step 8)
 * ```
 *
 * Handlers are called Linux's pt_prev way: each matching handler but the last gets its own `users` reference
 * through deliverSkb (after skb_orphan_frags_rx: a zerocopy skb is copied before it can reach a local
 * consumer, REFERENCE §5.8); the last one gets the caller's reference. A tap that is handed a shared skb
 * clones it (af_packet), which is how taps come to hold clones.
 *
 * The path is re-entrant: a bridge re-injects a frame for the host with netifReceiveSkb on the bridge device,
 * and the nested call saves and restores PF_MEMALLOC around itself.
 */

import { InvalidArgument } from '../errors.ts';
import { GFP_ATOMIC } from '../mm/gfp.ts';
import { memallocNoreclaimRestore, memallocNoreclaimSave, softirqEnter, softirqExit } from '../mm/task.ts';
import { netdevAllocSkb, skbPull } from '../skb/alloc.ts';
import { skbCopyBits } from '../skb/bytes.ts';
import { skbClone } from '../skb/clone.ts';
import { SKB_HEADER_UNSET } from '../skb/constants.ts';
import { consumeSkb, kfreeSkb, skbGet } from '../skb/free.ts';
import { pskbMayPull } from '../skb/pull.ts';
import { skbDequeue, skbQueueTail } from '../skb/queue.ts';
import { skbResetMacLen, skbResetNetworkHeader, skbResetTransportHeader, skbShared, type SkBuff } from '../skb/skbuff.ts';
import { skbOrphanFragsRx } from '../skb/ubuf.ts';
import {
  NET_RX_DROP,
  NET_RX_SUCCESS,
  RX_HANDLER_ANOTHER,
  RX_HANDLER_CONSUMED,
  RX_HANDLER_EXACT,
  type NetDevice,
  type PacketType,
} from './netdevice.ts';
import type { Backlog, NetStack } from './stack.ts';
import { ETH_P_8021Q, ETH_P_ALL, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, VLAN_HLEN } from './wire.ts';

/** skb_pfmemalloc_protocol: the protocols a tagged skb may carry (REFERENCE §11.7 step 5). */
export function skbPfmemallocProtocol(skb: SkBuff): boolean {
  const p = skb.protocol;
  return p === ETH_P_ARP || p === ETH_P_IP || p === ETH_P_IPV6 || p === ETH_P_8021Q;
}

/** Drop at the core: count on the device (rx_dropped) and free. */
function rxDrop(dev: NetDevice, skb: SkBuff): number {
  dev.stats.rxDropped++;
  kfreeSkb(skb);
  return NET_RX_DROP;
}

/**
 * netif_receive_skb: run the receive path on `skb` received by `dev`; ownership passes with the call.
 * Returns NET_RX_SUCCESS or NET_RX_DROP (what the last handler answered).
 */
export function netifReceiveSkb(stack: NetStack, dev: NetDevice, skb: SkBuff): number {
  stack.stats.rxPackets++;
  if (skb.pfmemalloc && stack.pfmemallocRulesActive()) {
    stack.stats.rxPfmemalloc++;
    const saved = memallocNoreclaimSave(stack.ctx);
    try {
      return receiveCore(stack, dev, skb, true);
    } finally {
      memallocNoreclaimRestore(stack.ctx, saved);
    }
  }
  return receiveCore(stack, dev, skb, false);
}

function receiveCore(stack: NetStack, dev: NetDevice, skb: SkBuff, pfmemalloc: boolean): number {
  const st = stack.stats;
  if (!dev.up) {
    st.dropDevDown++;
    return rxDrop(dev, skb);
  }
  skbResetNetworkHeader(skb);
  if (skb.transportHeader === SKB_HEADER_UNSET) skbResetTransportHeader(skb);
  skbResetMacLen(skb);

  if (skb.protocol === ETH_P_8021Q) {
    const untagged = skbVlanUntag(stack, skb);
    if (untagged === null) return NET_RX_DROP;
    skb = untagged;
  }

  let ptPrev: PacketType | null = null;
  const all = stack.ptypeAll;
  if (pfmemalloc) {
    if (all.length !== 0) st.rxTapsSkipped++;
  } else {
    for (let i = 0; i < all.length; i++) {
      const pt = all[i]!;
      if (pt.dev !== null && pt.dev !== dev) continue;
      if (ptPrev !== null) deliverSkb(stack, skb, ptPrev, dev, dev);
      ptPrev = pt;
    }
  }

  if (pfmemalloc && !skbPfmemallocProtocol(skb)) {
    st.dropPfmemallocProto++;
    return rxDrop(dev, skb);
  }

  let exact = false;
  const handler = dev.rxHandler;
  if (handler !== null) {
    if (ptPrev !== null) {
      deliverSkb(stack, skb, ptPrev, dev, dev);
      ptPrev = null;
    }
    const r = handler(skb);
    if (r === RX_HANDLER_CONSUMED) return NET_RX_SUCCESS;
    if (r === RX_HANDLER_ANOTHER) {
      throw new InvalidArgument(`${dev.name}: RX_HANDLER_ANOTHER is not supported; re-inject with netifReceiveSkb and return RX_HANDLER_CONSUMED`);
    }
    if (r === RX_HANDLER_EXACT) exact = true;
  }

  const base = stack.ptypeBase;
  const type = skb.protocol;
  for (let i = 0; i < base.length; i++) {
    const pt = base[i]!;
    if (pt.type !== type) continue;
    if (pt.dev === null ? exact : pt.dev !== dev) continue;
    if (ptPrev !== null) deliverSkb(stack, skb, ptPrev, dev, dev);
    ptPrev = pt;
  }

  if (ptPrev === null) {
    st.dropNoHandler++;
    return rxDrop(dev, skb);
  }
  if (skbOrphanFragsRx(skb, GFP_ATOMIC) !== 0) {
    st.dropNoMem++;
    return rxDrop(dev, skb);
  }
  if (ptPrev.type === ETH_P_ALL) st.tapDeliveries++;
  return ptPrev.func(skb, dev, ptPrev, dev);
}

/**
 * deliver_skb: give `pt` its own reference to `skb`, after copying zerocopy frags aside (the local consumer
 * must not hold a guest's pages). If the copy cannot be made the handler is skipped (-ENOMEM, as Linux).
 */
export function deliverSkb(stack: NetStack, skb: SkBuff, pt: PacketType, dev: NetDevice, origDev: NetDevice): number {
  if (skbOrphanFragsRx(skb, GFP_ATOMIC) !== 0) {
    stack.stats.deliverNoMem++;
    return NET_RX_DROP;
  }
  if (pt.type === ETH_P_ALL) stack.stats.tapDeliveries++;
  skbGet(skb);
  return pt.func(skb, dev, pt, origDev);
}

/**
 * skb_share_check: a handler that will change `skb` and was given a shared one works on a clone and drops its
 * reference to the original. Null if the clone failed (the reference is dropped then too).
 */
export function skbShareCheck(skb: SkBuff): SkBuff | null {
  if (!skbShared(skb)) return skb;
  const n = skbClone(skb, GFP_ATOMIC);
  if (n !== null) consumeSkb(skb);
  else kfreeSkb(skb);
  return n;
}

/**
 * skb_vlan_untag: strip one 802.1Q tag (the TCI is not kept: pvnet has no VLAN devices); the inner ethertype
 * becomes the protocol. Null if the tag is truncated or memory ran out; the skb is then freed and counted.
 */
function skbVlanUntag(stack: NetStack, skb: SkBuff): SkBuff | null {
  const s = skbShareCheck(skb);
  if (s === null) {
    stack.stats.dropNoMem++;
    return null;
  }
  if (!pskbMayPull(s, VLAN_HLEN)) {
    if (s.len < VLAN_HLEN) stack.stats.dropMalformed++;
    else stack.stats.dropNoMem++;
    kfreeSkb(s);
    return null;
  }
  const b = stack.hdrScratch;
  skbCopyBits(s, 0, b, 0, VLAN_HLEN);
  s.protocol = (b[2]! << 8) | b[3]!;
  skbPull(s, VLAN_HLEN);
  skbResetNetworkHeader(s);
  skbResetMacLen(s);
  return s;
}

// ---- the backlog ------------------------------------------------------------------------------------------

/**
 * enqueue_to_backlog: queue `skb` on `cpu`'s backlog for a later softirq poll. Linux admits while the queue
 * holds at most netdev_max_backlog packets (`qlen <= max`), so max + 1 fit; beyond that the skb is dropped.
 */
export function enqueueToBacklog(stack: NetStack, dev: NetDevice, skb: SkBuff, cpu: number): number {
  const b = stack.backlog[cpu];
  if (b === undefined) throw new InvalidArgument(`enqueue_to_backlog: no CPU ${cpu} (stack has ${stack.backlog.length})`);
  const qlen = b.queue.qlen;
  if (qlen > stack.netdevMaxBacklog) {
    stack.stats.dropBacklog++;
    return rxDrop(dev, skb);
  }
  b.devs.push(dev);
  skbQueueTail(b.queue, skb);
  stack.stats.backlogEnqueued++;
  if (!b.scheduled) {
    b.scheduled = true;
    b.poll ??= () => processBacklog(stack, b);
    stack.clock.setTimer(0, b.poll);
  }
  return NET_RX_SUCCESS;
}

/** netif_rx: queue on the current CPU's backlog (non-NAPI drivers, loopback). */
export function netifRx(stack: NetStack, dev: NetDevice, skb: SkBuff): number {
  return enqueueToBacklog(stack, dev, skb, stack.ctx.cpu);
}

/**
 * process_backlog as a NET_RX softirq round on `b`'s CPU: up to devWeight packets through netifReceiveSkb,
 * then another round is scheduled if packets remain.
 */
export function processBacklog(stack: NetStack, b: Backlog): number {
  const ctx = stack.ctx;
  const savedCpu = ctx.cpu;
  const saved = softirqEnter(ctx);
  ctx.cpu = b.cpu;
  let n = 0;
  try {
    while (n < stack.devWeight) {
      const skb = skbDequeue(b.queue);
      if (skb === null) break;
      const dev = b.devs.shift();
      n++;
      netifReceiveSkb(stack, dev, skb);
    }
    stack.stats.backlogPolls++;
  } finally {
    ctx.cpu = savedCpu;
    softirqExit(ctx, saved);
  }
  if (b.queue.qlen > 0) stack.clock.setTimer(0, b.poll!);
  else b.scheduled = false;
  return n;
}

// ---- context and allocation ---------------------------------------------------------------------------------

/**
 * Run `fn` as softirq work on the stack's domain (__do_softirq's entry and exit): PF_MEMALLOC cleared on entry
 * and restored on exit, in_serving_softirq() true inside. Drivers wrap their NAPI poll in it.
 */
export function doSoftirq<T>(stack: NetStack, fn: () => T): T {
  const saved = softirqEnter(stack.ctx);
  try {
    return fn();
  } finally {
    softirqExit(stack.ctx, saved);
  }
}

/**
 * __netdev_alloc_skb for a receive buffer of `length` bytes on this stack: while a SOCK_MEMALLOC socket exists
 * (and rxReserveMode is not 'off') the allocation may use the emergency reserve (__GFP_MEMALLOC), and the skb
 * comes back tagged pfmemalloc if it had to (REFERENCE §11.5). Null when memory ran out.
 */
export function netdevAllocSkbRx(stack: NetStack, length: number, gfp: number = GFP_ATOMIC): SkBuff | null {
  return netdevAllocSkb(stack.env, length, gfp | stack.rxMemallocGfp());
}

/** Register a protocol handler or tap (dev_add_pack): ETH_P_ALL goes to ptype_all, the rest to ptype_base. */
export function devAddPack(stack: NetStack, pt: PacketType): void {
  const list = pt.type === ETH_P_ALL ? stack.ptypeAll : stack.ptypeBase;
  if (list.includes(pt)) throw new InvalidArgument('dev_add_pack: packet type already registered');
  list.push(pt);
}

/** dev_remove_pack. Removing one that is not registered is misuse. */
export function devRemovePack(stack: NetStack, pt: PacketType): void {
  const list = pt.type === ETH_P_ALL ? stack.ptypeAll : stack.ptypeBase;
  const i = list.indexOf(pt);
  if (i < 0) throw new InvalidArgument('dev_remove_pack: packet type not registered');
  list.splice(i, 1);
}
