/**
 * skb hot paths, each measured twice on the same 64 KiB packet (128 linear bytes + 16 full-page frags):
 * with plain page references on the frags, and with Campbell's per-frag destructors (one per frag, held by the
 * producer for the whole run, so every slot ref / unref lands on a destructor object instead of the frame's
 * page count). The ratio of each pair is the destructor overhead.
 *
 * Every iteration builds its own packet (allocation, 16 frag slots and their references are part of the cost
 * in both variants) and frees everything it made, so the machine is in the same state after each iteration.
 *
 *   npx tsx bench/run.ts skb
 */
import { bench, do_not_optimize, group, summary } from 'mitata';
import { MachineMemory } from '../src/hv/memory.ts';
import { FlatPageAllocator } from '../src/mm/page-allocator.ts';
import { GFP_KERNEL } from '../src/mm/gfp.ts';
import {
  NETIF_F_HW_CSUM,
  NETIF_F_SG,
  SkbEnv,
  allocSkb,
  fragDestructorAlloc,
  kfreeSkb,
  pskbPullTail,
  skbAddRxFrag,
  skbClone,
  skbFragRef,
  skbFragSetDestructor,
  skbPull,
  skbPut,
  skbReserve,
  skbSegment,
  skbSplit,
  type FragDestructor,
  type SkBuff,
} from '../src/skb/index.ts';

const NFRAGS = 16;
const LINEAR = 128;

const mem = new MachineMemory(1024);
mem.registerDomain(0);
const pages = new FlatPageAllocator(mem, 0, mem.populate(0, 1000));
const env = new SkbEnv(pages);
const frames = Array.from({ length: NFRAGS }, () => pages.allocPage(GFP_KERNEL));
const dtors: FragDestructor[] = frames.map(() => fragDestructorAlloc(env, () => {}));

/** The 64 KiB packet, with plain page references or with one destructor per frag. */
function build(withDtors: boolean): SkBuff {
  const skb = allocSkb(env, 64 + LINEAR)!;
  skbReserve(skb, 64);
  skbPut(skb, LINEAR);
  for (let i = 0; i < NFRAGS; i++) {
    if (!withDtors) pages.getPage(frames[i]!);
    skbAddRxFrag(skb, i, frames[i]!, 0, 4096, 4096);
    if (withDtors) {
      skbFragSetDestructor(skb, i, dtors[i]!);
      skbFragRef(skb, i);
    }
  }
  return skb;
}

function cloneFree(withDtors: boolean): number {
  const skb = build(withDtors);
  const c = skbClone(skb)!;
  kfreeSkb(skb);
  const n = c.len;
  kfreeSkb(c);
  return n;
}

/** A clone's pull-tail: the head is reallocated (+1 per frag), then the eaten frag is dropped. */
function pullTail(withDtors: boolean): number {
  const skb = build(withDtors);
  const c = skbClone(skb)!;
  pskbPullTail(c, 6000);
  const n = c.len;
  kfreeSkb(c);
  kfreeSkb(skb);
  return n;
}

/** tcp_fragment's split in the middle of frag 8: whole frags move, the straddling one is referenced twice. */
function split(withDtors: boolean): number {
  const skb = build(withDtors);
  const skb1 = allocSkb(env, 0)!;
  skbSplit(skb, skb1, LINEAR + 8 * 4096 + 1000);
  const n = skb1.len;
  kfreeSkb(skb);
  kfreeSkb(skb1);
  return n;
}

/** Software GSO at MSS 1448 with scatter-gather: 46 segments, one reference per frag slot placed. */
function segment(withDtors: boolean): number {
  const skb = build(withDtors);
  skb.macHeader = skb.data;
  skbPull(skb, 54);
  skb.protocol = 0x0800;
  skb.shinfo.gsoSize = 1448;
  let segs = skbSegment(skb, NETIF_F_SG | NETIF_F_HW_CSUM) as SkBuff;
  let n = 0;
  while (segs !== null) {
    const next: SkBuff | null = segs.next;
    segs.next = null;
    n++;
    kfreeSkb(segs);
    segs = next as SkBuff;
  }
  kfreeSkb(skb);
  return n;
}

const CASES: readonly [string, (withDtors: boolean) => number][] = [
  ['clone+free', cloneFree],
  ['pull-tail (cloned)', pullTail],
  ['split', split],
  ['segment 64 KiB', segment],
];

// Warm both variants up together, so that each is measured on code already optimised for both kinds of slot
// (as a kernel's would be), not on whichever shape the JIT happened to see first.
for (let i = 0; i < 3000; i++) for (const [, fn] of CASES) do_not_optimize(fn(i % 2 === 0));

for (const [name, fn] of CASES) {
  group(name, () => {
    summary(() => {
      bench(`${name}: plain page refs`, () => do_not_optimize(fn(false))).baseline(true);
      bench(`${name}: per-frag destructors`, () => do_not_optimize(fn(true)));
    });
  });
}
