/**
 * Fixtures for the netfront suites: a machine with a guest kernel (SkbEnv over the guest's frames), a vif the
 * toolstack created, and `TestBackend`, a small hand-written backend that plays netback's part through the
 * real hypervisor (the real netback is written elsewhere): it probes (feature keys, InitWait), maps the rings
 * with gnttabMapGrantRef, binds the channels, answers TX requests (grant-copying the data out), fills RX
 * buffers with gnttabCopy, and can misbehave on request.
 *
 * Watch events are delivered on the clock (xs.onWatchQueued schedules processWatches), so `m.run(ns)` is all
 * a test needs to let both ends make progress.
 */

import * as assert from 'uvu/assert';
import {
  GNTCOPY_dest_gref, GNTCOPY_source_gref, GNTMAP_host_map, GNTMAP_readonly, GNTST_okay,
} from '../../../src/abi/grant_table.ts';
import {
  NETIF_RSP_NULL, NETIF_RSP_OKAY, NETRXF_extra_info, NETRXF_more_data, NETTXF_extra_info, NETTXF_more_data,
  XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_TYPE_GSO, netifExtraInfoCodec, netifRxRingType, netifTxRingType,
  type NetifExtraInfo, type NetifRxBackRing, type NetifRxResponse, type NetifTxBackRing, type NetifTxRequest,
} from '../../../src/abi/netif.ts';
import { XEN_PAGE_SIZE } from '../../../src/abi/page.ts';
import {
  SharedRing, backRingAttach, ringCopyRequest, ringFinalCheckForRequests, ringNrUnconsumedRequests, ringPushResponsesAndCheckNotify,
  ringPutResponse,
} from '../../../src/abi/ring.ts';
import {
  XenbusStateClosed, XenbusStateClosing, XenbusStateConnected, XenbusStateInitialising, XenbusStateInitWait,
  XenbusStateUnknown, type XenbusState,
} from '../../../src/abi/xenbus.ts';
import { DOMID_SELF } from '../../../src/abi/xen.ts';
import { IrqDispatcher } from '../../../src/drivers/evtchn-irq.ts';
import { NetfrontInfo, type NetfrontOptions } from '../../../src/drivers/netfront/index.ts';
import {
  gnttabSetMapOp, gnttabSetUnmapOp, newGnttabCopy, newMapGrantRef, newUnmapGrantRef, type GnttabMapGrantRef,
} from '../../../src/hv/grant-ops.ts';
import {
  backendPath, frontendPath, xenbusCreateDevice, xenbusPrintf, xenbusReadState, xenbusScanfUint,
  xenbusSwitchState,
} from '../../../src/hv/xenbus.ts';
import { XBT_NIL } from '../../../src/hv/xenstore.ts';
import { FlatPageAllocator } from '../../../src/mm/page-allocator.ts';
import { GFP_ATOMIC } from '../../../src/mm/gfp.ts';
import {
  ETH_HLEN, ETH_P_IP, IPPROTO_UDP, IPV4_HLEN, UDP_HLEN, emitEth, emitIpv4, emitUdp, newEthHdr, newIpv4Hdr, newL4Hdr,
} from '../../../src/net/wire.ts';
import {
  SkbAudit, SkbEnv, allocSkb, skbAddRxFrag, skbPutData, skbReserve, skbToBytes, type SkBuff,
} from '../../../src/skb/index.ts';
import { testMachine, type TestMachine } from '../../support/machine.ts';

// ---- the machine ------------------------------------------------------------------------------------------------

export interface NfMachine {
  readonly t: TestMachine;
  readonly irq: IrqDispatcher;
  readonly env: SkbEnv;
  readonly pages: FlatPageAllocator;
  readonly skbAudit: SkbAudit;
  readonly fe: string;
  readonly be: string;
  /** Let virtual time pass (timers, upcalls, watch events). */
  run(ns?: number): void;
  /** The teardown audits: hypervisor and skb. */
  audit(): void;
}

export interface NfMachineOptions {
  guestFrames?: number;
  frames?: number;
  frontendKeys?: Record<string, string>;
  maxSkbFrags?: number;
}

export const GUEST_MAC = '00:16:3e:00:00:01';

export function nfMachine(o: NfMachineOptions = {}): NfMachine {
  const guestFrames = o.guestFrames ?? 700;
  const t = testMachine({ frames: o.frames ?? guestFrames + 200, dom0Frames: 32, guestFrames });
  const irq = new IrqDispatcher(t.hv, 1_000);
  t.hv.xs.onWatchQueued = () => t.clock.setTimer(0, () => t.hv.xs.processWatches());
  const pages = new FlatPageAllocator(t.hv.mem, t.guest.domid, t.guest.frames);
  const env = new SkbEnv(pages, o.maxSkbFrags !== undefined ? { maxSkbFrags: o.maxSkbFrags } : {});
  const skbAudit = new SkbAudit(env);
  assert.is(xenbusCreateDevice(t.hv.xs, 0, {
    type: 'vif', frontendId: 1, backendId: 0, devid: 0,
    frontendKeys: { mac: GUEST_MAC, ...(o.frontendKeys ?? {}) },
  }), 0);
  const fe = frontendPath(1, 'vif', 0);
  const be = backendPath(0, 'vif', 1, 0);
  return {
    t, irq, env, pages, skbAudit, fe, be,
    run: (ns = 1_000_000) => t.clock.advance(ns),
    audit: () => {
      t.audit();
      skbAudit.assertClean();
    },
  };
}

/** A netfront on the machine's guest. */
export function netfront(m: NfMachine, o: Partial<NetfrontOptions> = {}): NetfrontInfo {
  return new NetfrontInfo({ hv: m.t.hv, irq: m.irq, dom: m.t.guest, env: m.env, ...o });
}

/** Remove the netfront and the backend, let it settle, and check both audits. */
export function teardown(m: NfMachine, nf: NetfrontInfo, b: TestBackend): void {
  let done = false;
  nf.remove(() => {
    done = true;
  });
  m.run(20_000_000);
  assert.ok(done, 'netfront finished closing');
  b.unmapHeld();
  b.stop();
  m.run(3_000_000_000);
  m.audit();
}

// ---- packets ----------------------------------------------------------------------------------------------------

/** A UDP/IPv4 Ethernet frame of exactly `len` bytes (≥ 42), payload bytes a function of `seed`. */
export function udpFrame(len: number, seed = 1): Uint8Array {
  const b = new Uint8Array(len);
  const payload = len - ETH_HLEN - IPV4_HLEN - UDP_HLEN;
  if (payload < 0) {
    for (let i = 0; i < len; i++) b[i] = (i * 7 + seed) & 0xff;
    return b;
  }
  const eth = newEthHdr();
  eth.dst = 0x00163e000002;
  eth.src = 0x00163e000001;
  eth.proto = ETH_P_IP;
  emitEth(b, 0, eth);
  for (let i = 0; i < payload; i++) b[ETH_HLEN + IPV4_HLEN + UDP_HLEN + i] = (i * 31 + seed * 17) & 0xff;
  const ip = newIpv4Hdr();
  ip.protocol = IPPROTO_UDP;
  ip.totLen = Math.min(0xffff, len - ETH_HLEN);
  ip.saddr = 0x0a000001;
  ip.daddr = 0x0a000002 + seed;
  emitIpv4(b, ETH_HLEN, ip);
  const udp = newL4Hdr();
  udp.sport = 1000 + seed;
  udp.dport = 2000;
  if (payload + UDP_HLEN <= 0xffff) emitUdp(b, ETH_HLEN + IPV4_HLEN, ip, udp, payload);
  return b;
}

export interface SkbLayout {
  /** Bytes in the linear area (the rest go to frags). */
  headlen: number;
  headroom?: number;
  /** Each frag: offset in its page and size; their sizes must add up to the rest of the packet. */
  frags?: readonly { off: number; size: number }[];
}

/** A guest sk_buff holding `bytes`: the head (possibly several frames) then one fresh page per frag. */
export function guestSkb(m: NfMachine, bytes: Uint8Array, layout: SkbLayout): SkBuff {
  const headroom = layout.headroom ?? 64;
  const skb = allocSkb(m.env, headroom + layout.headlen, GFP_ATOMIC)!;
  skbReserve(skb, headroom);
  skbPutData(skb, bytes, 0, layout.headlen);
  let pos = layout.headlen;
  (layout.frags ?? []).forEach((f, i) => {
    const page = m.pages.allocPage(GFP_ATOMIC);
    assert.ok(page >= 0, 'guest page');
    m.t.hv.mem.write(m.t.guest.domid, page, f.off, bytes, pos, f.size);
    skbAddRxFrag(skb, i, page, f.off, f.size, XEN_PAGE_SIZE);
    pos += f.size;
  });
  assert.is(pos, bytes.length, 'layout covers the packet');
  return skb;
}

// ---- the backend ------------------------------------------------------------------------------------------------

export interface BackendOptions {
  rxCopy?: boolean;
  split?: boolean;
  /** multi-queue-max-queues; omitted when undefined. */
  maxQueues?: number;
  /** Answer TX requests when they arrive (default true). */
  autoTx?: boolean;
  /** Map every TX grant and keep it mapped after answering (XSA-396 hostile backend). */
  holdTxMaps?: boolean;
  /** Status of every TX response (default OKAY). */
  txStatus?: number;
  /** Do not move to Closing when the frontend closes (a hung backend). */
  ignoreClose?: boolean;
}

export interface TxSlot {
  readonly req: NetifTxRequest;
  /** Bytes this slot contributed (the first slot: total minus the others). */
  readonly len: number;
}

export interface TxPacket {
  readonly queue: number;
  readonly bytes: Uint8Array;
  readonly slots: TxSlot[];
  readonly extras: NetifExtraInfo[];
  readonly flags: number;
  /** Every grant copy succeeded. */
  readonly copied: boolean;
}

export interface BackendQueue {
  readonly id: number;
  readonly tx: NetifTxBackRing;
  readonly rx: NetifRxBackRing;
  readonly txPort: number;
  readonly rxPort: number;
  readonly maps: GnttabMapGrantRef[];
}

export interface RxSendOptions {
  flags?: number;
  gso?: { size: number; type: number };
  /** Bytes per data slot (default: fill pages). */
  slotSizes?: number[];
  /** Rewrite a response just before it is stored (index among the packet's response slots). */
  mutate?: (slot: number, rsp: NetifRxResponse) => void;
  /** Skip the push and notify (to batch several packets). */
  noPush?: boolean;
}

const tmp = new Uint8Array(XEN_PAGE_SIZE);

export class TestBackend {
  readonly m: NfMachine;
  readonly o: BackendOptions;
  readonly queues: BackendQueue[] = [];
  readonly packets: TxPacket[] = [];
  /** Frontend states in the order this backend saw them, and its own. */
  readonly feStates: XenbusState[] = [];
  readonly beStates: XenbusState[] = [];
  /** TX grants mapped and kept (holdTxMaps). */
  readonly heldTx: GnttabMapGrantRef[] = [];
  private readonly scratch: number;
  private stopped = false;

  constructor(m: NfMachine, o: BackendOptions = {}) {
    this.m = m;
    this.o = o;
    this.scratch = m.t.dom0.frames[0]!;
    const xs = m.t.hv.xs;
    xs.watch(0, `${m.fe}/state`, 'testback', () => {
      if (!this.stopped) this.frontendChanged(xenbusReadState(xs, 0, m.fe));
    });
  }

  private get xs() {
    return this.m.t.hv.xs;
  }

  /** netback_probe: feature keys, then InitWait (the frontend is Initialising). */
  probe(): void {
    const be = this.m.be;
    const o = this.o;
    const w = (k: string, v: string | number) => assert.is(xenbusPrintf(this.xs, 0, XBT_NIL, be, k, v), 0);
    for (const k of ['feature-sg', 'feature-gso-tcpv4', 'feature-gso-tcpv6', 'feature-ipv6-csum-offload']) w(k, 1);
    w('feature-rx-copy', o.rxCopy === false ? 0 : 1);
    w('feature-rx-flip', 0);
    w('feature-split-event-channels', o.split === false ? 0 : 1);
    if (o.maxQueues !== undefined) w('multi-queue-max-queues', o.maxQueues);
    this.switchState(XenbusStateInitWait);
  }

  get state(): XenbusState {
    return xenbusReadState(this.xs, 0, this.m.be);
  }

  switchState(s: XenbusState): void {
    this.beStates.push(s);
    xenbusSwitchState(this.xs, 0, this.m.be, s);
  }

  private frontendChanged(fe: XenbusState): void {
    this.feStates.push(fe);
    const me = this.state;
    switch (fe) {
      case XenbusStateInitialising:
        if (me === XenbusStateClosed) this.switchState(XenbusStateInitWait);
        break;
      case XenbusStateConnected:
        if (me === XenbusStateInitWait && this.connect()) this.switchState(XenbusStateConnected);
        break;
      case XenbusStateClosing:
        if (this.o.ignoreClose) break;
        this.disconnect();
        this.switchState(XenbusStateClosing);
        break;
      case XenbusStateClosed:
      case XenbusStateUnknown:
        if (this.o.ignoreClose) break;
        this.disconnect();
        if (me !== XenbusStateClosed) this.switchState(XenbusStateClosed);
        break;
      default:
        break;
    }
  }

  /** Read the frontend's keys, map both rings of every queue, bind the channels. */
  connect(): boolean {
    const xs = this.xs;
    const fe = this.m.fe;
    const n = xenbusScanfUint(xs, 0, XBT_NIL, fe, 'multi-queue-num-queues') ?? 1;
    for (let i = 0; i < n; i++) {
      const dir = n === 1 ? fe : `${fe}/queue-${i}`;
      const u = (k: string) => xenbusScanfUint(xs, 0, XBT_NIL, dir, k);
      const txRef = u('tx-ring-ref');
      const rxRef = u('rx-ring-ref');
      const ev = u('event-channel');
      const evTx = u('event-channel-tx') ?? ev;
      const evRx = u('event-channel-rx') ?? ev;
      if (txRef === undefined || rxRef === undefined || evTx === undefined || evRx === undefined) return false;
      const maps: GnttabMapGrantRef[] = [];
      const txPage = this.mapRing(txRef, maps);
      const tx = backRingAttach(netifTxRingType, txPage, new SharedRing(txPage).rspProd);
      const rxPage = this.mapRing(rxRef, maps);
      const rx = backRingAttach(netifRxRingType, rxPage, new SharedRing(rxPage).rspProd);
      const hv = this.m.t.hv;
      const txPort = hv.evtchn.evtchnBindInterdomain(this.m.t.dom0, 1, evTx);
      const rxPort = evRx === evTx ? txPort : hv.evtchn.evtchnBindInterdomain(this.m.t.dom0, 1, evRx);
      assert.ok(txPort > 0 && rxPort > 0, 'bind');
      const q: BackendQueue = { id: i, tx, rx, txPort, rxPort, maps };
      this.queues.push(q);
      this.m.irq.bindEvtchnToIrqhandler(this.m.t.dom0, txPort, () => {
        if (this.o.autoTx !== false) this.processTx(q);
      });
      if (rxPort !== txPort) this.m.irq.bindEvtchnToIrqhandler(this.m.t.dom0, rxPort, () => {});
    }
    return true;
  }

  private mapRing(ref: number, maps: GnttabMapGrantRef[]) {
    const op = newMapGrantRef();
    gnttabSetMapOp(op, 0x40000000 + ref * 4096, GNTMAP_host_map, ref, 1);
    this.m.t.hv.gnttabMapGrantRef(this.m.t.dom0, [op], 1);
    assert.is(op.status, GNTST_okay, 'ring map');
    maps.push(op);
    return this.m.t.hv.mem.page(0, op.dev_bus_addr / XEN_PAGE_SIZE, true);
  }

  /** Unbind, close the channels, unmap the rings. */
  disconnect(): void {
    const hv = this.m.t.hv;
    for (const q of this.queues) {
      this.m.irq.unbindFromIrqhandler(this.m.t.dom0, q.txPort);
      hv.evtchn.evtchnClose(this.m.t.dom0, q.txPort);
      if (q.rxPort !== q.txPort) {
        this.m.irq.unbindFromIrqhandler(this.m.t.dom0, q.rxPort);
        hv.evtchn.evtchnClose(this.m.t.dom0, q.rxPort);
      }
      for (const op of q.maps) this.unmap(op);
    }
    this.queues.length = 0;
  }

  unmap(op: GnttabMapGrantRef): void {
    const u = newUnmapGrantRef();
    gnttabSetUnmapOp(u, op.host_addr, op.flags, op.handle);
    this.m.t.hv.gnttabUnmapGrantRef(this.m.t.dom0, [u], 1);
    assert.is(u.status, GNTST_okay, 'unmap');
  }

  /** Let go of TX grants kept mapped (holdTxMaps). */
  unmapHeld(): void {
    for (const op of this.heldTx) this.unmap(op);
    this.heldTx.length = 0;
  }

  /** Stop reacting to the frontend (end of test). */
  stop(): void {
    this.disconnect();
    this.stopped = true;
    this.xs.unwatch(0, `${this.m.fe}/state`, 'testback');
  }

  q(i = 0): BackendQueue {
    const q = this.queues[i];
    assert.ok(q !== undefined, `backend queue ${i}`);
    return q;
  }

  // ---- TX ---------------------------------------------------------------------------------------------------------

  /** Consume every TX request: copy the packets out, answer every slot (NULL for extras), push, notify. */
  processTx(q: BackendQueue, answer = true): TxPacket[] {
    const r = q.tx;
    const out: TxPacket[] = [];
    while (ringNrUnconsumedRequests(r) > 0 || ringFinalCheckForRequests(r)) {
      const first = { ...ringCopyRequest(r, r.reqCons, netifTxRingType.request.create()) };
      r.reqCons++;
      const extras: NetifExtraInfo[] = [];
      if ((first.flags & NETTXF_extra_info) !== 0) {
        let e: NetifExtraInfo;
        do {
          e = ringCopyRequest(r, r.reqCons, netifExtraInfoCodec.create(), netifExtraInfoCodec);
          r.reqCons++;
          extras.push(e);
        } while ((e.flags & XEN_NETIF_EXTRA_FLAG_MORE) !== 0);
      }
      const reqs: NetifTxRequest[] = [first];
      let prev = first;
      while ((prev.flags & NETTXF_more_data) !== 0) {
        prev = { ...ringCopyRequest(r, r.reqCons, netifTxRingType.request.create()) };
        r.reqCons++;
        reqs.push(prev);
      }
      const pkt = this.copyOut(q.id, reqs, extras);
      out.push(pkt);
      this.packets.push(pkt);
      if (answer) this.answerTx(q, reqs, extras.length, this.o.txStatus ?? NETIF_RSP_OKAY);
    }
    if (answer) this.pushTx(q);
    return out;
  }

  private copyOut(queue: number, reqs: NetifTxRequest[], extras: NetifExtraInfo[]): TxPacket {
    const hv = this.m.t.hv;
    const total = reqs[0]!.size;
    const rest = reqs.slice(1).reduce((a, x) => a + x.size, 0);
    const bytes = new Uint8Array(Math.max(total, rest));
    const slots: TxSlot[] = [];
    let pos = 0;
    let copied = total >= rest;
    const op = newGnttabCopy();
    reqs.forEach((req, i) => {
      const len = i === 0 ? Math.max(0, total - rest) : req.size;
      slots.push({ req, len });
      if (len === 0) return;
      op.source.u.ref = req.gref;
      op.source.domid = 1;
      op.source.offset = req.offset;
      op.dest.u.gmfn = this.scratch;
      op.dest.domid = DOMID_SELF;
      op.dest.offset = 0;
      op.len = len;
      op.flags = GNTCOPY_source_gref;
      hv.gnttabCopy(this.m.t.dom0, [op], 1);
      if (op.status !== GNTST_okay) copied = false;
      else hv.mem.read(0, this.scratch, 0, bytes, pos, len);
      if (this.o.holdTxMaps) {
        const map = newMapGrantRef();
        gnttabSetMapOp(map, 0x50000000 + this.heldTx.length * 4096, GNTMAP_host_map | GNTMAP_readonly, req.gref, 1);
        hv.gnttabMapGrantRef(this.m.t.dom0, [map], 1);
        assert.is(map.status, GNTST_okay, 'hold map');
        this.heldTx.push(map);
      }
      pos += len;
    });
    return { queue, bytes, slots, extras, flags: reqs[0]!.flags, copied };
  }

  /** Write the responses of one packet: its first slot, NULL for each extra, then the fragments. */
  answerTx(q: BackendQueue, reqs: readonly NetifTxRequest[], nExtras: number, status: number): void {
    const r = q.tx;
    const put = (id: number, st: number) => {
      ringPutResponse(r, r.rspProdPvt, { id, status: st });
      r.rspProdPvt++;
    };
    reqs.forEach((req, i) => {
      put(req.id, status);
      if (i === 0) for (let k = 0; k < nExtras; k++) put(0, NETIF_RSP_NULL);
    });
  }

  /** Write one raw TX response (hostile tests). */
  rawTxResponse(q: BackendQueue, id: number, status: number): void {
    ringPutResponse(q.tx, q.tx.rspProdPvt, { id, status });
    q.tx.rspProdPvt++;
  }

  pushTx(q: BackendQueue): void {
    if (ringPushResponsesAndCheckNotify(q.tx)) this.m.t.hv.evtchn.evtchnSend(this.m.t.dom0, q.txPort);
  }

  /** Notify the frontend on the TX (or only) channel regardless of the ring (event storms). */
  kickTx(q: BackendQueue): void {
    this.m.t.hv.evtchn.evtchnSend(this.m.t.dom0, q.txPort);
  }

  kickRx(q: BackendQueue): void {
    this.m.t.hv.evtchn.evtchnSend(this.m.t.dom0, q.rxPort);
  }

  // ---- RX ---------------------------------------------------------------------------------------------------------

  /** RX requests posted and not yet consumed. */
  rxAvailable(q: BackendQueue): number {
    return ringNrUnconsumedRequests(q.rx);
  }

  /**
   * Deliver `bytes` to the guest: grant-copy it into posted buffers (one per slot), responses in the slots of
   * the requests consumed, a GSO extra after the first if asked. False if too few buffers are posted.
   */
  sendRx(q: BackendQueue, bytes: Uint8Array, o: RxSendOptions = {}): boolean {
    const sizes = o.slotSizes ?? splitPages(bytes.length);
    const needed = sizes.length + (o.gso ? 1 : 0);
    if (this.rxAvailable(q) < needed) return false;
    const r = q.rx;
    const hv = this.m.t.hv;
    const op = newGnttabCopy();
    let pos = 0;
    let slot = 0;
    sizes.forEach((size, i) => {
      const req = ringCopyRequest(r, r.reqCons, netifRxRingType.request.create());
      r.reqCons++;
      const n = Math.min(size, Math.max(0, bytes.length - pos));
      if (n > 0) {
        tmp.set(bytes.subarray(pos, pos + n));
        hv.mem.write(0, this.scratch, 0, tmp, 0, n);
        op.source.u.gmfn = this.scratch;
        op.source.domid = DOMID_SELF;
        op.source.offset = 0;
        op.dest.u.ref = req.gref;
        op.dest.domid = 1;
        op.dest.offset = 0;
        op.len = n;
        op.flags = GNTCOPY_dest_gref;
        hv.gnttabCopy(this.m.t.dom0, [op], 1);
        assert.is(op.status, GNTST_okay, 'rx copy');
      }
      pos += n;
      let flags = i === 0 ? (o.flags ?? 0) | (o.gso ? NETRXF_extra_info : 0) : 0;
      if (i < sizes.length - 1) flags |= NETRXF_more_data;
      const rsp: NetifRxResponse = { id: req.id, offset: 0, flags, status: n };
      o.mutate?.(slot++, rsp);
      ringPutResponse(r, r.rspProdPvt, rsp);
      r.rspProdPvt++;
      if (i === 0 && o.gso) {
        ringCopyRequest(r, r.reqCons, netifRxRingType.request.create());
        r.reqCons++;
        const e = netifExtraInfoCodec.create();
        e.type = XEN_NETIF_EXTRA_TYPE_GSO;
        e.u.gso.size = o.gso.size;
        e.u.gso.type = o.gso.type;
        ringPutResponse(r, r.rspProdPvt, e, netifExtraInfoCodec);
        r.rspProdPvt++;
        slot++;
      }
    });
    if (!o.noPush) this.pushRx(q);
    return true;
  }

  pushRx(q: BackendQueue): void {
    if (ringPushResponsesAndCheckNotify(q.rx)) this.m.t.hv.evtchn.evtchnSend(this.m.t.dom0, q.rxPort);
  }
}

/** Page-sized pieces of a packet of `len` bytes (at least one). */
export function splitPages(len: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < len; p += XEN_PAGE_SIZE) out.push(Math.min(XEN_PAGE_SIZE, len - p));
  return out.length === 0 ? [0] : out;
}

/** A connected pair: machine, backend (probed), netfront; run until both are Connected. */
export function connected(mo: NfMachineOptions = {}, bo: BackendOptions = {}, fo: Partial<NetfrontOptions> = {}) {
  const m = nfMachine(mo);
  const b = new TestBackend(m, bo);
  b.probe();
  const received: SkBuff[] = [];
  const nf = netfront(m, { receive: (skb) => received.push(skb), ...fo });
  m.run(2_000_000);
  assert.is(nf.state, XenbusStateConnected, 'frontend Connected');
  assert.is(b.state, XenbusStateConnected, 'backend Connected');
  return { m, b, nf, received };
}

export { skbToBytes, XenbusStateClosing, XenbusStateInitialising };
