/**
 * Fixtures for the netback suites: a machine with dom0 running netback and a hand-written guest that plays
 * the frontend through the real ring, grant and event-channel API. It initialises the rings, grants its
 * pages, writes raw TX requests and RX buffers, and reads responses. Because every slot is written by hand,
 * it is also how hostile rings are built (`putTx`, `putExtra`, `setReqProd`).
 *
 *   const w = nbWorld({ strategy: 'map' });
 *   const g = new TestGuest(w);
 *   g.connect();                      // handshake through xenstore, rings mapped, channels bound
 *   const p = g.sendPacket(frame(200, 1));
 *   run(w);                           // xenstore watches + virtual time
 *   ...                               // w.held: the sk_buffs the stack got, in order
 *   teardown(w, g);                   // free held skbs, close, end grants; both audits
 */
import * as assert from 'uvu/assert';
import {
  NETTXF_csum_blank, NETTXF_extra_info, NETTXF_more_data, XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_TYPE_GSO,
  netifExtraInfoCodec, netifTxRequestCodec, netifRxRingType, netifTxRingType,
  type NetifExtraInfo, type NetifRxFrontRing, type NetifRxResponse, type NetifTxFrontRing, type NetifTxRequest,
  type NetifTxResponse,
} from '../../../src/abi/netif.ts';
import {
  SharedRing, frontRingAttach, ringCopyResponse, ringPushRequestsAndCheckNotify, ringPutRequest, sharedRingInit,
} from '../../../src/abi/ring.ts';
import {
  XenbusStateClosed, XenbusStateClosing, XenbusStateConnected, XenbusStateInitialising, type XenbusState,
} from '../../../src/abi/xenbus.ts';
import { DOMID_SELF } from '../../../src/abi/xen.ts';
import {
  backendPath, frontendPath, xenbusCreateDevice, xenbusPrintf, xenbusReadState, xenbusSwitchState,
} from '../../../src/hv/xenbus.ts';
import { XBT_NIL } from '../../../src/hv/xenstore.ts';
import { IrqDispatcher } from '../../../src/drivers/evtchn-irq.ts';
import { FlatPageAllocator } from '../../../src/mm/page-allocator.ts';
import { SkbAudit, SkbEnv, kfreeSkb, skbCopyBits, type SkBuff } from '../../../src/skb/index.ts';
import { Netback, netbackRemove, type NetbackOptions, type TxStrategy, type XenVif } from '../../../src/drivers/netback/index.ts';
import type { BackendInfo } from '../../../src/drivers/netback/xenbus.ts';
import {
  ETH_HLEN, ETH_P_IP, IPPROTO_TCP, IPV4_HLEN, TCP_ACK, TCP_HLEN, emitEth, emitIpv4, emitTcp, newEthHdr, newIpv4Hdr,
  newL4Hdr,
} from '../../../src/net/wire.ts';
import { testMachine, type TestMachine } from '../../support/machine.ts';

export const GUEST = 1;
export const MAC = '00:16:3e:00:00:01';

export interface NbWorld {
  readonly t: TestMachine;
  readonly irq: IrqDispatcher;
  readonly pa: FlatPageAllocator;
  readonly env: SkbEnv;
  readonly audit: SkbAudit;
  readonly nb: Netback;
  /** What the stack received (hold mode), in order. The test frees them. */
  readonly held: SkBuff[];
  /** Bytes of every delivered frame (mac header on), in order, captured at delivery. */
  readonly frames: Uint8Array[];
}

export interface WorldOptions extends Partial<Omit<NetbackOptions, 'hv' | 'irq' | 'dom' | 'env'>> {
  /** Keep delivered skbs in `held` (default true); false consumes them at once. */
  readonly hold?: boolean;
  readonly frames?: number;
  readonly dom0Frames?: number;
  readonly guestFrames?: number;
  readonly maxSkbFrags?: number;
}

export function nbWorld(opts: WorldOptions = {}): NbWorld {
  const t = testMachine({ frames: opts.frames ?? 4096, dom0Frames: opts.dom0Frames ?? 1024, guestFrames: opts.guestFrames ?? 1536 });
  const irq = new IrqDispatcher(t.hv);
  const pa = new FlatPageAllocator(t.hv.mem, 0, t.dom0.frames);
  const env = new SkbEnv(pa, opts.maxSkbFrags !== undefined ? { maxSkbFrags: opts.maxSkbFrags } : {});
  const held: SkBuff[] = [];
  const frames: Uint8Array[] = [];
  const hold = opts.hold ?? true;
  const { hold: _h, frames: _f, dom0Frames: _d, guestFrames: _g, maxSkbFrags: _m, ...nbOpts } = opts;
  const nb = new Netback({
    hv: t.hv, irq, dom: t.dom0, env,
    deliver: (skb) => {
      frames.push(frameOf(skb));
      if (hold) held.push(skb);
      else kfreeSkb(skb);
    },
    ...nbOpts,
  });
  return { t, irq, pa, env, audit: new SkbAudit(env), nb, held, frames };
}

/** The frame an skb carries, from its mac header (the stack got it after eth_type_trans). */
export function frameOf(skb: SkBuff): Uint8Array {
  const back = skb.data - skb.macHeader;
  const out = new Uint8Array(skb.len + back);
  const rc = skbCopyBits(skb, -back, out, 0, out.length);
  if (rc !== 0) throw new Error(`frameOf: skb_copy_bits ${rc}`);
  return out;
}

/** Let xenstore watches and virtual time run for `ns` (default 1 ms), in 10 µs steps. */
export function run(w: NbWorld, ns = 1_000_000): void {
  const steps = Math.max(1, Math.ceil(ns / 10_000));
  for (let i = 0; i < steps; i++) {
    w.t.hv.xs.processWatches();
    w.t.clock.advance(10_000);
  }
  w.t.hv.xs.processWatches();
}

/** `len` bytes of an Ethernet frame: IPv4/TCP headers (when len allows) and a pattern payload. */
export function frame(len: number, seed: number, opts: { tcp?: boolean } = {}): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (seed * 31 + i * 7 + 3) & 0xff;
  if (len >= ETH_HLEN) {
    const eth = newEthHdr();
    eth.dst = 0x00163e000002;
    eth.src = 0x00163e000001;
    eth.proto = 0x88b5; // local experimental ethertype unless it is a TCP frame
    if (opts.tcp === true && len >= ETH_HLEN + IPV4_HLEN + TCP_HLEN) {
      eth.proto = ETH_P_IP;
      const ip = newIpv4Hdr();
      ip.totLen = len - ETH_HLEN;
      ip.protocol = IPPROTO_TCP;
      ip.saddr = 0x0a000001;
      ip.daddr = 0x0a000002;
      emitIpv4(b, ETH_HLEN, ip);
      const tcp = newL4Hdr();
      tcp.sport = 1000 + seed;
      tcp.dport = 80;
      tcp.flags = TCP_ACK;
      tcp.window = 65535;
      emitTcp(b, ETH_HLEN + IPV4_HLEN, ip, tcp, len - ETH_HLEN - IPV4_HLEN - TCP_HLEN);
    }
    emitEth(b, 0, eth);
  }
  return b;
}

export interface GuestOptions {
  readonly devid?: number;
  /** TX strategy of this vif (default the Netback's). */
  readonly strategy?: TxStrategy;
  /** Queues to ask for (multi-queue-num-queues written when > 1, or when `writeNumQueues`). */
  readonly queues?: number;
  readonly writeNumQueues?: number;
  /** Use event-channel-tx/-rx (default true). */
  readonly split?: boolean;
  /** request-rx-copy value; null leaves the key out. Default 1. */
  readonly rxCopy?: number | null;
  /** feature-rx-notify (default true). */
  readonly rxNotify?: boolean;
  readonly gso?: boolean;
  /** Ring index both rings start at (default 0): wrap tests. */
  readonly ringStart?: number;
  /** Backend `rate` key. */
  readonly rate?: string;
  /** Extra backend keys. */
  readonly backendKeys?: Record<string, string>;
}

/** One packet as the guest posted it. */
export interface SentPacket {
  readonly ids: number[];
  readonly grefs: number[];
  readonly frames: number[];
  /** Ring index of the first slot and the number of slots (extras included). */
  readonly start: number;
  readonly slots: number;
}

export interface TxSlotSpec {
  /** Bytes of the packet in this slot (the first slot's own length). */
  readonly size: number;
  /** Offset in its page (default 0). */
  readonly offset?: number;
}

/** The hand-written frontend. Owns its frames, grants, ports and ring pages; `close()` gives them back. */
export class TestGuest {
  readonly w: NbWorld;
  readonly devid: number;
  readonly be: BackendInfo;
  readonly fe: string;
  readonly bePath: string;
  readonly queues: number;
  tx: NetifTxFrontRing[] = [];
  rx: NetifRxFrontRing[] = [];
  txPort: number[] = [];
  rxPort: number[] = [];
  /** Notifications received per port. */
  readonly notified = new Map<number, number>();
  private readonly freeFrames: number[];
  private readonly freeIds: number[][] = [];
  private readonly outstanding: Set<number>[] = [];
  /** Grants of in-flight TX data: ref → frame. */
  readonly txGrants = new Map<number, number>();
  /** RX buffers posted: ring index → {ref, frame, id}. */
  readonly rxPosted: Map<number, { ref: number; frame: number; id: number }>[] = [];
  private ringRefs: number[] = [];
  private ringFrames: number[] = [];
  private readonly opts: GuestOptions;

  constructor(w: NbWorld, opts: GuestOptions = {}) {
    this.w = w;
    this.opts = opts;
    this.devid = opts.devid ?? 0;
    this.queues = opts.queues ?? 1;
    this.fe = frontendPath(GUEST, 'vif', this.devid);
    this.bePath = backendPath(0, 'vif', GUEST, this.devid);
    this.freeFrames = [...w.t.guest.frames].reverse();
    const backendKeys: Record<string, string> = { mac: MAC, ...(opts.backendKeys ?? {}) };
    if (opts.rate !== undefined) backendKeys['rate'] = opts.rate;
    const rc = xenbusCreateDevice(w.t.hv.xs, 0, {
      type: 'vif', frontendId: GUEST, backendId: 0, devid: this.devid, backendKeys, frontendKeys: { mac: MAC },
    });
    assert.is(rc, 0);
    this.be = opts.strategy !== undefined ? w.nb.probe(GUEST, this.devid, opts.strategy) : w.nb.probe(GUEST, this.devid);
    run(w, 100_000);
  }

  get vif(): XenVif {
    return this.be.vif!;
  }

  get dom() {
    return this.w.t.guest;
  }

  allocFrame(): number {
    const f = this.freeFrames.pop();
    if (f === undefined) throw new Error('guest out of frames');
    return f;
  }

  freeFrame(f: number): void {
    this.freeFrames.push(f);
  }

  backendState(): XenbusState {
    return xenbusReadState(this.w.t.hv.xs, GUEST, this.bePath);
  }

  switchState(s: XenbusState): void {
    xenbusSwitchState(this.w.t.hv.xs, GUEST, this.fe, s);
  }

  write(key: string, value: string | number): void {
    xenbusPrintf(this.w.t.hv.xs, GUEST, XBT_NIL, this.fe, key, value);
  }

  /** Rings, channels, keys, Connected (netfront's talk_to_netback, by hand). Runs the handshake. */
  connect(opts: { settle?: boolean } = {}): void {
    const g = this.dom;
    const hv = this.w.t.hv;
    const split = this.opts.split ?? true;
    const start = this.opts.ringStart ?? 0;
    for (let qi = 0; qi < this.queues; qi++) {
      const dir = this.queues > 1 ? `${this.fe}/queue-${qi}` : this.fe;
      const txFrame = this.allocFrame();
      const rxFrame = this.allocFrame();
      const txPage = hv.mem.page(GUEST, txFrame, true);
      const rxPage = hv.mem.page(GUEST, rxFrame, true);
      sharedRingInit(txPage);
      sharedRingInit(rxPage);
      const txs = new SharedRing(txPage);
      const rxs = new SharedRing(rxPage);
      txs.reqProd = txs.rspProd = start;
      txs.reqEvent = txs.rspEvent = (start + 1) >>> 0;
      rxs.reqProd = rxs.rspProd = start;
      rxs.reqEvent = rxs.rspEvent = (start + 1) >>> 0;
      this.tx.push(frontRingAttach(netifTxRingType, txPage, start));
      this.rx.push(frontRingAttach(netifRxRingType, rxPage, start));
      const txRef = g.gnttab.gnttabGrantForeignAccess(0, txFrame, false);
      const rxRef = g.gnttab.gnttabGrantForeignAccess(0, rxFrame, false);
      this.ringRefs.push(txRef, rxRef);
      this.ringFrames.push(txFrame, rxFrame);
      const txPort = hv.evtchn.evtchnAllocUnbound(g, DOMID_SELF, 0);
      const rxPort = split ? hv.evtchn.evtchnAllocUnbound(g, DOMID_SELF, 0) : txPort;
      this.txPort.push(txPort);
      this.rxPort.push(rxPort);
      for (const p of split ? [txPort, rxPort] : [txPort]) {
        this.notified.set(p, 0);
        this.w.irq.bindEvtchnToIrqhandler(g, p, () => this.notified.set(p, (this.notified.get(p) ?? 0) + 1));
      }
      xenbusPrintf(hv.xs, GUEST, XBT_NIL, dir, 'tx-ring-ref', txRef);
      xenbusPrintf(hv.xs, GUEST, XBT_NIL, dir, 'rx-ring-ref', rxRef);
      if (split) {
        xenbusPrintf(hv.xs, GUEST, XBT_NIL, dir, 'event-channel-tx', txPort);
        xenbusPrintf(hv.xs, GUEST, XBT_NIL, dir, 'event-channel-rx', rxPort);
      } else {
        xenbusPrintf(hv.xs, GUEST, XBT_NIL, dir, 'event-channel', txPort);
      }
      this.freeIds.push(Array.from({ length: 256 }, (_, i) => 255 - i));
      this.outstanding.push(new Set());
      this.rxPosted.push(new Map());
    }
    if (this.queues > 1 || this.opts.writeNumQueues !== undefined) {
      this.write('multi-queue-num-queues', this.opts.writeNumQueues ?? this.queues);
    }
    if (this.opts.rxCopy !== null) this.write('request-rx-copy', this.opts.rxCopy ?? 1);
    if (this.opts.rxNotify ?? true) this.write('feature-rx-notify', 1);
    this.write('feature-sg', 1);
    if (this.opts.gso ?? true) {
      this.write('feature-gso-tcpv4', 1);
      this.write('feature-gso-tcpv6', 1);
    }
    this.switchState(XenbusStateConnected);
    if (opts.settle ?? true) run(this.w, 200_000);
  }

  // ---- TX ------------------------------------------------------------------------------------------------

  takeId(qi = 0): number {
    const id = this.freeIds[qi]!.pop();
    if (id === undefined) throw new Error('guest out of TX ids');
    this.outstanding[qi]!.add(id);
    return id;
  }

  /** Write a raw request into the next TX slot (no validation: hostile rings). */
  putTx(req: Partial<NetifTxRequest>, qi = 0): number {
    const r = this.tx[qi]!;
    const idx = r.reqProdPvt;
    const v = netifTxRequestCodec.create();
    Object.assign(v, { gref: 0, offset: 0, flags: 0, id: 0, size: 0 }, req);
    ringPutRequest(r, idx, v);
    r.reqProdPvt = (idx + 1) >>> 0;
    return idx;
  }

  /** Write a raw extra_info into the next TX slot. */
  putExtra(fill: (x: NetifExtraInfo) => void, qi = 0): number {
    const r = this.tx[qi]!;
    const idx = r.reqProdPvt;
    const x = netifExtraInfoCodec.create();
    fill(x);
    ringPutRequest(r, idx, x, netifExtraInfoCodec);
    r.reqProdPvt = (idx + 1) >>> 0;
    return idx;
  }

  /** Publish the requests written so far; notify the backend if its req_event asks. */
  pushTx(qi = 0): boolean {
    const notify = ringPushRequestsAndCheckNotify(this.tx[qi]!);
    if (notify) this.w.t.hv.evtchn.evtchnSend(this.dom, this.txPort[qi]!);
    return notify;
  }

  /** Grant a fresh page holding `bytes` at `offset` read-only to dom0. */
  grantData(bytes: Uint8Array, offset: number): { ref: number; frame: number } {
    const f = this.allocFrame();
    this.w.t.hv.mem.write(GUEST, f, offset, bytes, 0, bytes.length);
    const ref = this.dom.gnttab.gnttabGrantForeignAccess(0, f, true);
    this.txGrants.set(ref, f);
    return { ref, frame: f };
  }

  /**
   * Post one packet: `data` split into slots (`layout` sizes; default one slot, or 4096-byte slots), each in
   * its own granted page. Extras (GSO etc.) follow the first slot. Pushes unless `push` is false.
   */
  sendPacket(data: Uint8Array, opts: {
    layout?: readonly TxSlotSpec[]; gso?: { size: number; type: number }; extras?: ((x: NetifExtraInfo) => void)[];
    flags?: number; push?: boolean; qi?: number;
  } = {}): SentPacket {
    const qi = opts.qi ?? 0;
    const layout = opts.layout ?? defaultLayout(data.length);
    const extras = [...(opts.extras ?? [])];
    if (opts.gso !== undefined) {
      const g = opts.gso;
      extras.unshift((x) => {
        x.type = XEN_NETIF_EXTRA_TYPE_GSO;
        x.u.gso.size = g.size;
        x.u.gso.type = g.type;
      });
    }
    const start = this.tx[qi]!.reqProdPvt;
    const ids: number[] = [];
    const grefs: number[] = [];
    const frames: number[] = [];
    let at = 0;
    layout.forEach((s, i) => {
      const off = s.offset ?? 0;
      const { ref, frame: f } = this.grantData(data.subarray(at, at + s.size), off);
      at += s.size;
      const id = this.takeId(qi);
      ids.push(id);
      grefs.push(ref);
      frames.push(f);
      let flags = i === 0 ? (opts.flags ?? 0) : 0;
      if (i < layout.length - 1) flags |= NETTXF_more_data;
      if (i === 0 && extras.length > 0) flags |= NETTXF_extra_info;
      this.putTx({ gref: ref, offset: off, flags, id, size: i === 0 ? data.length : s.size }, qi);
      if (i === 0) {
        extras.forEach((fill, k) => this.putExtra((x) => {
          fill(x);
          x.flags |= k < extras.length - 1 ? XEN_NETIF_EXTRA_FLAG_MORE : 0;
        }, qi));
      }
    });
    if (at !== data.length) throw new Error(`layout covers ${at} of ${data.length} bytes`);
    const slots = (this.tx[qi]!.reqProdPvt - start) >>> 0;
    if (opts.push ?? true) this.pushTx(qi);
    return { ids, grefs, frames, start, slots };
  }

  /** New TX responses, in ring order (NULL slots included). Their ids go back to the pool. */
  txResponses(qi = 0): NetifTxResponse[] {
    const r = this.tx[qi]!;
    const out: NetifTxResponse[] = [];
    while (r.rspCons !== r.sring.rspProd) {
      const rsp = ringCopyResponse(r, r.rspCons, { id: 0, status: 0 });
      out.push({ ...rsp });
      r.rspCons = (r.rspCons + 1) >>> 0;
      if (rsp.status !== 1 && this.outstanding[qi]!.delete(rsp.id)) this.freeIds[qi]!.push(rsp.id);
    }
    return out;
  }

  /** End foreign access to a TX data grant: true if it could be ended (then the page is the guest's again). */
  endTxGrant(ref: number): boolean {
    if (!this.dom.gnttab.gnttabEndForeignAccessRef(ref)) return false;
    this.dom.gnttab.gnttabFreeGrantReference(ref);
    this.freeFrame(this.txGrants.get(ref)!);
    this.txGrants.delete(ref);
    return true;
  }

  /** GTF_reading / GTF_writing of a grant, as the guest sees them. */
  grantBusy(ref: number): number {
    return this.dom.gnttab.gnttabQueryForeignAccess(ref);
  }

  /** Rewrite bytes of a granted page (the guest reusing its buffer). */
  scribble(frame: number, offset: number, bytes: Uint8Array): void {
    this.w.t.hv.mem.write(GUEST, frame, offset, bytes, 0, bytes.length);
  }

  // ---- RX ------------------------------------------------------------------------------------------------

  /** Post `n` empty pages on the RX ring (id = index & 255), push, notify. */
  postRx(n: number, qi = 0): void {
    const r = this.rx[qi]!;
    for (let i = 0; i < n; i++) {
      const idx = r.reqProdPvt;
      const f = this.allocFrame();
      const ref = this.dom.gnttab.gnttabGrantForeignAccess(0, f, false);
      const id = idx & 255;
      ringPutRequest(r, idx, { id, pad: 0, gref: ref });
      this.rxPosted[qi]!.set(idx, { ref, frame: f, id });
      r.reqProdPvt = (idx + 1) >>> 0;
    }
    if (ringPushRequestsAndCheckNotify(r)) this.w.t.hv.evtchn.evtchnSend(this.dom, this.rxPort[qi]!);
  }

  /** New RX responses with their ring index, in order; extras come back as raw slots too. */
  rxResponses(qi = 0): { idx: number; rsp: NetifRxResponse; extra: NetifExtraInfo }[] {
    const r = this.rx[qi]!;
    const out: { idx: number; rsp: NetifRxResponse; extra: NetifExtraInfo }[] = [];
    while (r.rspCons !== r.sring.rspProd) {
      const idx = r.rspCons;
      const rsp = ringCopyResponse(r, idx, { id: 0, offset: 0, flags: 0, status: 0 });
      const extra = ringCopyResponse(r, idx, netifExtraInfoCodec.create(), netifExtraInfoCodec);
      out.push({ idx, rsp: { ...rsp }, extra });
      r.rspCons = (idx + 1) >>> 0;
    }
    return out;
  }

  /** Bytes [off, off + len) of the page posted at RX ring index `idx`. */
  rxBytes(idx: number, off: number, len: number, qi = 0): Uint8Array {
    const p = this.rxPosted[qi]!.get(idx)!;
    const out = new Uint8Array(len);
    this.w.t.hv.mem.read(GUEST, p.frame, off, out, 0, len);
    return out;
  }

  /** End every RX buffer grant (after the backend is done with them). */
  private releaseRx(): void {
    for (const m of this.rxPosted) {
      for (const { ref, frame: f } of m.values()) {
        assert.ok(this.dom.gnttab.gnttabEndForeignAccessRef(ref), `RX grant ${ref} still busy`);
        this.dom.gnttab.gnttabFreeGrantReference(ref);
        this.freeFrame(f);
      }
      m.clear();
    }
  }

  /** Closing, Closed; then give back every grant, port and frame. The backend must have let go. */
  close(): void {
    const hv = this.w.t.hv;
    this.switchState(XenbusStateClosing);
    run(this.w, 200_000);
    this.switchState(XenbusStateClosed);
    run(this.w, 200_000);
    for (let qi = 0; qi < this.tx.length; qi++) this.txResponses(qi);
    for (const ref of [...this.txGrants.keys()]) assert.ok(this.endTxGrant(ref), `TX grant ${ref} still mapped`);
    this.releaseRx();
    for (let i = 0; i < this.ringRefs.length; i++) {
      assert.ok(this.dom.gnttab.gnttabEndForeignAccessRef(this.ringRefs[i]!), 'ring grant still mapped');
      this.dom.gnttab.gnttabFreeGrantReference(this.ringRefs[i]!);
      this.freeFrame(this.ringFrames[i]!);
    }
    this.ringRefs = [];
    this.ringFrames = [];
    const ports = new Set([...this.txPort, ...this.rxPort]);
    for (const p of ports) {
      this.w.irq.unbindFromIrqhandler(this.dom, p);
      hv.evtchn.evtchnClose(this.dom, p);
    }
    this.txPort = [];
    this.rxPort = [];
    this.tx = [];
    this.rx = [];
    this.freeIds.length = 0;
    this.outstanding.length = 0;
    this.rxPosted.length = 0;
  }
}

function defaultLayout(len: number): TxSlotSpec[] {
  if (len <= 4096) return [{ size: len }];
  const out: TxSlotSpec[] = [];
  const first = len - Math.floor((len - 1) / 4096) * 4096;
  out.push({ size: first });
  for (let at = first; at < len; at += 4096) out.push({ size: 4096 });
  return out;
}

/** Free what the stack holds, close the guest, remove the backend, then both audits. */
export function teardown(w: NbWorld, ...guests: TestGuest[]): void {
  for (const skb of w.held.splice(0)) kfreeSkb(skb);
  run(w, 100_000);
  for (const g of guests) g.close();
  for (const be of [...w.nb.backends.values()]) netbackRemove(be);
  run(w, 100_000);
  w.t.audit();
  w.audit.assertClean();
}

export { XenbusStateClosed, XenbusStateClosing, XenbusStateConnected, XenbusStateInitialising, NETTXF_csum_blank };
