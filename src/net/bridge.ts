/**
 * NetBridge: a learning Ethernet bridge (net/bridge) between ports (vifs, NICs) and the host, whose own
 * interface is the bridge device (br0): frames for the host go up through it, frames from the host leave
 * through it.
 *
 * ```
 *   port rx_handler (brHandleFrame), data at the network header:
 *     learn the source MAC on the ingress port (fdb, aged after ageingTimeNs)
 *     destination   group (broadcast/multicast)   -> host + flood to every other port
 *                   the bridge's own MAC           -> host only
 *                   learned on a port              -> that port (dropped if it is the ingress port)
 *                   unknown                        -> flood to every other port
 *   flood: the ports get clones, except the last, which gets the skb itself, unless the host also receives
 *          it (then every port gets a clone and the original goes up)      (br_flood / maybe_deliver)
 *   host: netifReceiveSkb(stack, br0, skb)                                  (br_pass_frame_up)
 *   forward: MTU check, push the Ethernet header back, devQueueXmit on the port's device
 * ```
 *
 * The reserve rule (pvnet, REFERENCE §12.4 invariant 2: no forwarding queue holds a tagged skb): while the
 * rules are active a tagged frame received on a port is not forwarded to any port (each refused port counts
 * dropPfmemalloc; nothing is cloned); it still goes up to the host if it is for the host, where the receive
 * path applies the socket rules. Frames the host sends (brDevXmit) are forwarded whatever their tag: the
 * swap client's own requests must get out.
 *
 * Owns: its ports (installed as each device's rx_handler until brDelIf), the fdb, the bridge device. Every skb
 * it is given ends forwarded, delivered up, or freed. An optional capture hook sees each frame entering the
 * bridge (from a port or from the host), for pcap.
 */

import { InvalidArgument } from '../errors.ts';
import type { PcapWriter } from '../report/pcap.ts';
import { GFP_ATOMIC } from '../mm/gfp.ts';
import { skbPush } from '../skb/alloc.ts';
import { skbCopyBits } from '../skb/bytes.ts';
import { skbClone } from '../skb/clone.ts';
import { kfreeSkb } from '../skb/free.ts';
import { pskbPull } from '../skb/pull.ts';
import { skbIsGso, skbResetMacHeader, type SkBuff } from '../skb/skbuff.ts';
import { devQueueXmit } from './devqueue.ts';
import { skbEthHdr, skbMacOffset } from './eth.ts';
import { NetDeviceBase, NETDEV_TX_OK, RX_HANDLER_CONSUMED, type NetDevice } from './netdevice.ts';
import { netifReceiveSkb } from './receive.ts';
import type { NetStack } from './stack.ts';
import { ETH_HLEN, isMulticastEtherAddr, isValidEtherAddr, newEthHdr } from './wire.ts';

/** Port states (BR_STATE_*). pvnet runs no STP: a port is forwarding or disabled. */
export const BR_STATE_DISABLED = 0;
export const BR_STATE_FORWARDING = 3;
/** Default fdb ageing time: 300 s. */
export const BR_AGEING_TIME_NS = 300_000_000_000;

/** Sees each frame entering the bridge; `port` is null for frames from the host. Must not keep the skb. */
export type BridgeCaptureHook = (skb: SkBuff, port: BridgePort | null, timeNs: number) => void;

export class BridgePortStats {
  /** Frames received on this port. */
  rxFrames = 0;
  /** Frames sent out of this port (forwarded or flooded). */
  txFrames = 0;
  /** Of which flooded. */
  floodTx = 0;
  /** Frames not forwarded to this port because they were tagged pfmemalloc. */
  dropPfmemalloc = 0;
  /** Frames too big for this port's MTU. */
  dropMtu = 0;
  /** Frames received with a group or zero source MAC, or on a disabled port. */
  dropIngress = 0;
  /** MACs learned on this port. */
  learned = 0;
}

export class BridgePort {
  readonly br: NetBridge;
  readonly dev: NetDevice;
  readonly portNo: number;
  state = BR_STATE_FORWARDING;
  readonly stats = new BridgePortStats();
  /** The rx_handler installed on `dev`. */
  readonly handler: (skb: SkBuff) => number;

  constructor(br: NetBridge, dev: NetDevice, portNo: number) {
    this.br = br;
    this.dev = dev;
    this.portNo = portNo;
    this.handler = (skb) => brHandleFrame(this, skb);
  }
}

/** A forwarding database entry: where a MAC was last seen (or that it is the bridge's own). */
export class FdbEntry {
  port: BridgePort | null;
  updatedNs: number;
  readonly isLocal: boolean;

  constructor(port: BridgePort | null, updatedNs: number, isLocal: boolean) {
    this.port = port;
    this.updatedNs = updatedNs;
    this.isLocal = isLocal;
  }
}

export class BridgeStats {
  /** Frames delivered up to the host. */
  localDelivered = 0;
  /** Frames flooded, and forwarded to one known port. */
  flooded = 0;
  forwarded = 0;
  /** Clones made for flooding / for ports beside a host delivery. */
  clones = 0;
  cloneFailures = 0;
  /** Frames freed by the bridge (no eligible port, ingress checks, tagged). */
  dropped = 0;
}

/** br0: the bridge's own interface. Transmitting on it is brDevXmit. */
export class BridgeDevice extends NetDeviceBase {
  br: NetBridge | null = null;

  override ndoStartXmit(skb: SkBuff): number {
    brDevXmit(this.br!, skb);
    return NETDEV_TX_OK;
  }
}

export class NetBridge {
  readonly stack: NetStack;
  readonly dev: BridgeDevice;
  readonly ports: BridgePort[] = [];
  readonly fdb = new Map<number, FdbEntry>();
  ageingTimeNs = BR_AGEING_TIME_NS;
  capture: BridgeCaptureHook | null = null;
  readonly stats = new BridgeStats();
  private nextPortNo = 1;
  /** Parse record reused per frame. */
  readonly eth = newEthHdr();

  constructor(stack: NetStack, name: string, ifindex: number, mac: number) {
    this.stack = stack;
    this.dev = new BridgeDevice(name, ifindex, mac);
    this.dev.br = this;
    this.fdb.set(mac, new FdbEntry(null, 0, true));
  }

  /** @internal */
  allocPortNo(): number {
    return this.nextPortNo++;
  }
}

/** Create a bridge (br0) on `stack` with the given MAC. */
export function brCreate(stack: NetStack, name: string, ifindex: number, mac: number): NetBridge {
  return new NetBridge(stack, name, ifindex, mac);
}

/** br_add_if: make `dev` a port: the bridge becomes its rx_handler. A device with a handler is busy (EBUSY). */
export function brAddIf(br: NetBridge, dev: NetDevice): BridgePort {
  if (dev.rxHandler !== null) throw new InvalidArgument(`br_add_if: ${dev.name} already has an rx_handler (EBUSY)`);
  const p = new BridgePort(br, dev, br.allocPortNo());
  br.ports.push(p);
  dev.rxHandler = p.handler;
  return p;
}

/** br_del_if: remove the port, its rx_handler and the MACs learned on it. */
export function brDelIf(br: NetBridge, port: BridgePort): void {
  const i = br.ports.indexOf(port);
  if (i < 0) throw new InvalidArgument(`br_del_if: ${port.dev.name} is not a port of ${br.dev.name}`);
  br.ports.splice(i, 1);
  if (port.dev.rxHandler === port.handler) port.dev.rxHandler = null;
  for (const [mac, e] of br.fdb) if (e.port === port) br.fdb.delete(mac);
}

/** br_fdb_update: `mac` was seen on `port` now. The bridge's own entries never move. */
export function brFdbUpdate(br: NetBridge, port: BridgePort, mac: number): void {
  const now = br.stack.clock.now();
  const e = br.fdb.get(mac);
  if (e === undefined) {
    br.fdb.set(mac, new FdbEntry(port, now, false));
    port.stats.learned++;
  } else if (!e.isLocal) {
    e.port = port;
    e.updatedNs = now;
  }
}

/** br_fdb_find: the live entry for `mac`, or null (an aged entry is removed). */
export function brFdbFind(br: NetBridge, mac: number): FdbEntry | null {
  const e = br.fdb.get(mac);
  if (e === undefined) return null;
  if (!e.isLocal && br.stack.clock.now() - e.updatedNs > br.ageingTimeNs) {
    br.fdb.delete(mac);
    return null;
  }
  return e;
}

function shouldDeliver(p: BridgePort, ingress: BridgePort | null): boolean {
  return p !== ingress && p.state === BR_STATE_FORWARDING && p.dev.up;
}

function brDrop(br: NetBridge, skb: SkBuff): void {
  br.stats.dropped++;
  kfreeSkb(skb);
}

/** br_handle_frame (+ _finish): the rx_handler of every port. Always consumes the skb. */
export function brHandleFrame(port: BridgePort, skb: SkBuff): number {
  const br = port.br;
  const stack = br.stack;
  port.stats.rxFrames++;
  if (br.capture !== null) br.capture(skb, port, stack.clock.now());
  const eth = br.eth;
  if (!skbEthHdr(skb, eth) || !isValidEtherAddr(eth.src) || port.state !== BR_STATE_FORWARDING) {
    port.stats.dropIngress++;
    brDrop(br, skb);
    return RX_HANDLER_CONSUMED;
  }
  brFdbUpdate(br, port, eth.src);
  const dst = eth.dst;
  const group = isMulticastEtherAddr(dst);
  const e = group ? null : brFdbFind(br, dst);
  const local = group || (e !== null && e.isLocal);

  if (skb.pfmemalloc && stack.pfmemallocRulesActive()) {
    refuseTagged(br, port, e);
    if (local) brPassFrameUp(br, skb);
    else {
      stack.stats.dropPfmemallocForward++;
      kfreeSkb(skb);
    }
    return RX_HANDLER_CONSUMED;
  }

  if (local && !group) brPassFrameUp(br, skb);
  else if (e !== null) brForward(br, e.port!, skb, port);
  else brFlood(br, skb, port, group);
  return RX_HANDLER_CONSUMED;
}

/** Count the ports a tagged frame was not forwarded to. */
function refuseTagged(br: NetBridge, ingress: BridgePort, e: FdbEntry | null): void {
  if (e !== null) {
    if (!e.isLocal && shouldDeliver(e.port!, ingress)) e.port!.stats.dropPfmemalloc++;
    return;
  }
  const ports = br.ports;
  for (let i = 0; i < ports.length; i++) if (shouldDeliver(ports[i]!, ingress)) ports[i]!.stats.dropPfmemalloc++;
}

/** br_forward to one known port (unicast); the frame is freed if that port may not have it. */
export function brForward(br: NetBridge, to: BridgePort, skb: SkBuff, ingress: BridgePort | null): void {
  if (!shouldDeliver(to, ingress)) {
    brDrop(br, skb);
    return;
  }
  br.stats.forwarded++;
  brForwardOne(br, to, skb);
}

/**
 * br_flood: every eligible port but the last gets a clone; the last gets the skb itself, unless `localRcv`
 * (the host receives the original, so the last port gets a clone too).
 */
export function brFlood(br: NetBridge, skb: SkBuff, ingress: BridgePort | null, localRcv: boolean): void {
  let prev: BridgePort | null = null;
  const ports = br.ports;
  for (let i = 0; i < ports.length; i++) {
    const p = ports[i]!;
    if (!shouldDeliver(p, ingress)) continue;
    if (prev !== null) {
      prev.stats.floodTx++;
      deliverClone(br, prev, skb);
    }
    prev = p;
  }
  br.stats.flooded++;
  if (prev !== null) {
    prev.stats.floodTx++;
    if (localRcv) deliverClone(br, prev, skb);
    else {
      brForwardOne(br, prev, skb);
      return;
    }
  }
  if (localRcv) brPassFrameUp(br, skb);
  else brDrop(br, skb);
}

function deliverClone(br: NetBridge, to: BridgePort, skb: SkBuff): void {
  const n = skbClone(skb, GFP_ATOMIC);
  if (n === null) {
    br.stats.cloneFailures++;
    to.dev.stats.txDropped++;
    return;
  }
  br.stats.clones++;
  brForwardOne(br, to, n);
}

/** __br_forward + br_dev_queue_push_xmit: MTU check, Ethernet header back on, out of the port's device. */
function brForwardOne(br: NetBridge, to: BridgePort, skb: SkBuff): void {
  if (skb.len > to.dev.mtu && !skbIsGso(skb)) {
    to.stats.dropMtu++;
    brDrop(br, skb);
    return;
  }
  skbPush(skb, ETH_HLEN);
  to.stats.txFrames++;
  devQueueXmit(br.stack, to.dev, skb);
}

/** br_pass_frame_up: the frame is for the host: receive it again on the bridge device. */
export function brPassFrameUp(br: NetBridge, skb: SkBuff): void {
  const d = br.dev;
  d.stats.rxPackets++;
  d.stats.rxBytes += skb.len;
  br.stats.localDelivered++;
  netifReceiveSkb(br.stack, d, skb);
}

/** br_dev_xmit: the host sends `skb` (data at the Ethernet header) through the bridge. */
export function brDevXmit(br: NetBridge, skb: SkBuff): void {
  const d = br.dev;
  d.stats.txPackets++;
  d.stats.txBytes += skb.len;
  skbResetMacHeader(skb);
  if (br.capture !== null) br.capture(skb, null, br.stack.clock.now());
  const eth = br.eth;
  if (!skbEthHdr(skb, eth) || !pskbPull(skb, ETH_HLEN)) {
    d.stats.txDropped++;
    brDrop(br, skb);
    return;
  }
  if (isMulticastEtherAddr(eth.dst)) {
    brFlood(br, skb, null, false);
    return;
  }
  const e = brFdbFind(br, eth.dst);
  if (e === null) brFlood(br, skb, null, false);
  else if (e.isLocal) brDrop(br, skb);
  else brForward(br, e.port!, skb, null);
}

/** A capture hook recording every frame entering the bridge into `pcap`, link header included. */
export function bridgeCapturePcap(br: NetBridge, pcap: PcapWriter): BridgeCaptureHook {
  const hook: BridgeCaptureHook = (skb, _port, timeNs) => {
    const off = skbMacOffset(skb);
    const len = skb.len - off;
    const buf = br.stack.pktScratch;
    if (len <= buf.length && skbCopyBits(skb, off, buf, 0, len) === 0) pcap.record(timeNs, buf, 0, len);
  };
  br.capture = hook;
  return hook;
}
