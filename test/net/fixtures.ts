/**
 * Fixtures for the net suites: a machine with one or two domains, each with a page allocator, an ExecContext,
 * a NetStack (its own SkbEnv) on one Scheduler, and helpers that build real frames (Ethernet / IPv4 / UDP or
 * TCP, checksums filled) as received skbs, linear or with the payload in a page frag carrying a destructor
 * (what netback's map mode hands the stack). Every suite ends with `end(w)`: the stack's own queues freed,
 * the skb audit clean, the allocator back at its baseline.
 */
import * as assert from 'uvu/assert';
import { MachineMemory } from '../../src/hv/memory.ts';
import { GFP_KERNEL } from '../../src/mm/gfp.ts';
import { FlatPageAllocator, type PageAllocator } from '../../src/mm/page-allocator.ts';
import { ExecContext } from '../../src/mm/task.ts';
import { ZonePageAllocator } from '../../src/mm/zone-allocator.ts';
import { Scheduler } from '../../src/sim/scheduler.ts';
import {
  SkbAudit,
  allocSkb,
  consumeSkb,
  fragDestructorAlloc,
  skbAddRxFrag,
  skbCopyBits,
  skbFragDestructorUnref,
  skbFragRef,
  skbFragSetDestructor,
  skbPutData,
  skbReserve,
  type FragDestructor,
  type SkBuff,
} from '../../src/skb/index.ts';
import {
  emitEth,
  emitIpv4,
  emitTcp,
  emitUdp,
  ethTypeTrans,
  ETH_HLEN,
  ETH_P_IP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_HLEN,
  netStackCreate,
  newIpv4Hdr,
  newL4Hdr,
  NetDeviceBase,
  NETDEV_TX_OK,
  TCP_ACK,
  TCP_HLEN,
  UDP_HLEN,
  type NetStack,
  type NetStackCreateOptions,
} from '../../src/net/index.ts';

export const MAC_A = 0x00163e000001;
export const MAC_B = 0x00163e000002;
export const MAC_C = 0x00163e000003;
export const MAC_BR = 0x00163e0000fe;
export const IP_A = 0x0a000001;
export const IP_B = 0x0a000002;

export interface Dom {
  readonly domid: number;
  readonly pa: PageAllocator & { readonly inUse: number };
  readonly ctx: ExecContext;
  readonly stack: NetStack;
  readonly audit: SkbAudit;
  readonly baseInUse: number;
}

export interface NetWorld {
  readonly mem: MachineMemory;
  readonly clock: Scheduler;
  readonly a: Dom;
  readonly b: Dom;
}

export interface WorldOptions {
  readonly frames?: number;
  /** Use a ZonePageAllocator with MIN/LOW/HIGH 256/320/384 over 1024 frames for dom A. */
  readonly zone?: boolean;
  readonly stack?: Partial<Omit<NetStackCreateOptions, 'pages' | 'ctx' | 'clock'>>;
}

function dom(mem: MachineMemory, clock: Scheduler, domid: number, frames: number, zone: boolean, opts: WorldOptions): Dom {
  mem.registerDomain(domid);
  const owned = mem.populate(domid, zone ? 1024 : frames);
  const ctx = new ExecContext();
  const pa = zone
    ? new ZonePageAllocator(mem, domid, owned, ctx, { watermarks: { min: 256, low: 320, high: 384 } })
    : new FlatPageAllocator(mem, domid, owned);
  const stack = netStackCreate({ pages: pa, ctx, clock, ...opts.stack });
  return { domid, pa, ctx, stack, audit: new SkbAudit(stack.env), baseInUse: pa.inUse };
}

export function netWorld(opts: WorldOptions = {}): NetWorld {
  const frames = opts.frames ?? 512;
  const mem = new MachineMemory(frames * 2 + 1100);
  const clock = new Scheduler();
  return { mem, clock, a: dom(mem, clock, 0, frames, opts.zone ?? false, opts), b: dom(mem, clock, 1, frames, false, opts) };
}

/** The end of every test: the stacks' own queues freed, the audits clean, the allocators at baseline. */
export function end(w: NetWorld): void {
  for (const d of [w.a, w.b]) {
    d.stack.shutdown();
    d.audit.assertClean();
    assert.is(d.pa.inUse, d.baseInUse, `dom${d.domid} allocator back at its baseline`);
  }
}

/** A test device: records what it is asked to send, frees it, and counts. */
export class SinkDevice extends NetDeviceBase {
  /** Bytes of every frame sent, in order. */
  readonly sent: Uint8Array[] = [];
  /** Keep the skbs instead of freeing them (a slow driver); the test frees them. */
  hold = false;
  readonly held: SkBuff[] = [];

  override ndoStartXmit(skb: SkBuff): number {
    const b = new Uint8Array(skb.len);
    if (skbCopyBits(skb, 0, b, 0, skb.len) !== 0) throw new Error('skbCopyBits failed');
    this.sent.push(b);
    this.stats.txPackets++;
    if (this.hold) this.held.push(skb);
    else consumeSkb(skb);
    return NETDEV_TX_OK;
  }

  /** Free what a holding device kept (its TX completion). */
  release(): void {
    for (const skb of this.held.splice(0)) consumeSkb(skb);
  }
}

export interface FrameSpec {
  readonly dst?: number;
  readonly src?: number;
  readonly proto?: number;
  readonly ipProto?: number;
  readonly saddr?: number;
  readonly daddr?: number;
  readonly sport?: number;
  readonly dport?: number;
  readonly payload?: Uint8Array;
  readonly id?: number;
}

/** The bytes of an Ethernet + IPv4 + UDP/TCP frame with every checksum filled. */
export function frameBytes(spec: FrameSpec = {}): Uint8Array {
  const payload = spec.payload ?? new Uint8Array(32).fill(0x5a);
  const ipProto = spec.ipProto ?? IPPROTO_UDP;
  const l4len = ipProto === IPPROTO_TCP ? TCP_HLEN : UDP_HLEN;
  const b = new Uint8Array(ETH_HLEN + IPV4_HLEN + l4len + payload.length);
  b.set(payload, ETH_HLEN + IPV4_HLEN + l4len);
  const ip = { ...newIpv4Hdr(), totLen: IPV4_HLEN + l4len + payload.length, protocol: ipProto, saddr: spec.saddr ?? IP_A, daddr: spec.daddr ?? IP_B, id: spec.id ?? 1 };
  const l4 = { ...newL4Hdr(), sport: spec.sport ?? 4000, dport: spec.dport ?? 2049, flags: TCP_ACK };
  if (ipProto === IPPROTO_TCP) emitTcp(b, ETH_HLEN + IPV4_HLEN, ip, l4, payload.length);
  else emitUdp(b, ETH_HLEN + IPV4_HLEN, ip, l4, payload.length);
  emitIpv4(b, ETH_HLEN, ip);
  emitEth(b, 0, { dst: spec.dst ?? MAC_B, src: spec.src ?? MAC_A, proto: spec.proto ?? ETH_P_IP });
  return b;
}

/** A linear received skb holding `bytes`, after eth_type_trans. */
export function rxSkb(stack: NetStack, bytes: Uint8Array, tagged = false): SkBuff {
  const skb = allocSkb(stack.env, bytes.length + 64);
  if (skb === null) throw new Error('allocSkb failed');
  skbReserve(skb, 64);
  skbPutData(skb, bytes);
  skb.pfmemalloc = tagged;
  if (ethTypeTrans(skb) < 0) throw new Error('ethTypeTrans failed');
  return skb;
}

/** A received frame skb (the UDP defaults of frameBytes, or `spec`). */
export function rxFrame(stack: NetStack, spec: FrameSpec = {}, tagged = false): SkBuff {
  return rxSkb(stack, frameBytes(spec), tagged);
}

export interface PagedRx {
  readonly skb: SkBuff;
  readonly page: number;
  readonly dtor: FragDestructor;
  readonly log: { destroyed: number };
}

/**
 * A received skb as netback's map mode builds it: the first `linear` bytes in the head, the rest in one frag
 * over a page of the stack's domain (standing for the grant-mapped guest page) whose slot counts on a frag
 * destructor. The page is freed when the destructor fires (the grant would be unmapped then).
 */
export function rxPaged(stack: NetStack, bytes: Uint8Array, linear = ETH_HLEN + IPV4_HLEN + UDP_HLEN): PagedRx {
  const env = stack.env;
  const page = env.pages.allocPage(GFP_KERNEL);
  if (page < 0) throw new Error('out of pages');
  const rest = bytes.length - linear;
  env.mem.write(env.domid, page, 0, bytes, linear, rest);
  const log = { destroyed: 0 };
  const dtor = fragDestructorAlloc(env, () => {
    log.destroyed++;
    env.pages.putPage(page);
  });
  const skb = allocSkb(env, linear + 64);
  if (skb === null) throw new Error('allocSkb failed');
  skbReserve(skb, 64);
  skbPutData(skb, bytes.subarray(0, linear));
  skbAddRxFrag(skb, 0, page, 0, rest, rest);
  skbFragSetDestructor(skb, 0, dtor);
  skbFragRef(skb, 0);
  skbFragDestructorUnref(dtor); // the producer's own reference goes once the skb is built (Campbell's idiom)
  if (ethTypeTrans(skb) < 0) throw new Error('ethTypeTrans failed');
  return { skb, page, dtor, log };
}
