/**
 * What one fuzz case is: a hostile guest's whole session with netback, as plain JSON (so a failing case is
 * saved in test/hostile/support/corpus/ and replayed byte for byte), and the fast-check arbitraries that generate
 * and shrink it.
 *
 * A case fixes the vif (strategy, split channels, ring start near the 2^32 wrap or not, xdp-headroom,
 * feature-rx-notify, what the stack does with the packets) and then runs steps:
 *
 * | step      | the guest (or its surroundings) does                                                       |
 * |-----------|--------------------------------------------------------------------------------------------|
 * | `tx`      | writes raw TX slots (requests with arbitrary fields, extras of any type) and pushes; may lie  |
 * |           | about the producer index                                                                   |
 * | `grant`   | rewrites one of its earlier data grants (ended, sub-page, other domain, foreign frame, ...)  |
 * | `storm`   | signals its channels n times                                                               |
 * | `xs`      | rewrites a key of its xenstore directory n times (state, request-multicast-control, ...)   |
 * | `rx`      | posts RX buffers (some with garbage or read-only grants); the stack sends it packets         |
 * | `stack`   | the backend's stack frees, or clones then frees, what it holds                             |
 * | `run`     | virtual time passes                                                                        |
 *
 * Grefs of TX requests are described, not given: a fresh grant of a page holding frame bytes, an earlier
 * grant again, an ended grant, or a raw u32 (out of the table, never granted...). The runner resolves them.
 */
import fc from 'fast-check';
import type { GrantMutation } from '../../../../src/sim/faults/index.ts';
import { GRANT_MUTATIONS } from '../../../../src/sim/faults/index.ts';

export type FuzzStrategy = 'copy' | 'map' | 'hybrid' | 'zerocopy';

export type GrefSpec =
  | { readonly kind: 'fresh'; readonly seed: number }
  | { readonly kind: 'again'; readonly i: number }
  | { readonly kind: 'ended'; readonly seed: number }
  | { readonly kind: 'raw'; readonly v: number };

export type SlotSpec =
  | { readonly t: 'req'; readonly gref: GrefSpec; readonly offset: number; readonly flags: number; readonly id: number; readonly size: number }
  | { readonly t: 'extra'; readonly type: number; readonly flags: number; readonly bytes: readonly number[] };

export type Step =
  | { readonly k: 'tx'; readonly slots: readonly SlotSpec[]; readonly prodLie: number; readonly notify: boolean }
  | { readonly k: 'grant'; readonly i: number; readonly m: GrantMutation }
  | { readonly k: 'storm'; readonly n: number; readonly rx: boolean }
  | { readonly k: 'xs'; readonly key: string; readonly values: readonly string[]; readonly n: number }
  | { readonly k: 'rx'; readonly post: number; readonly bad: number; readonly readonly: number; readonly sizes: readonly number[]; readonly gso: boolean }
  | { readonly k: 'stack'; readonly op: 'free' | 'clone' }
  | { readonly k: 'run'; readonly us: number };

export interface FuzzCase {
  readonly strategy: FuzzStrategy;
  readonly split: boolean;
  /** Where both rings start: 0, or just below the 2^32 wrap. */
  readonly ringStart: number;
  /** xdp-headroom written before connecting (null: absent). */
  readonly xdpHeadroom: number | null;
  readonly rxNotify: boolean;
  /** The stack keeps what netback delivers (until a `stack` step) instead of consuming it at once. */
  readonly hold: boolean;
  /** Probability of a RingSlotCorrupter hit at each ring barrier, on the consumed-but-unanswered slots. */
  readonly corrupt: number;
  readonly steps: readonly Step[];
}

// Field values that sit on the rules' edges, mixed with anything at all.
const u16Edge = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 1, 13, 14, 15, 127, 128, 129, 4095, 4096, 4097, 0xffff) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 4096 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
);
const offsetArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 4096 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
);
const flagsArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(0, 4, 8, 12, 1, 5, 2, 6, 9, 13) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
);
const grefArb: fc.Arbitrary<GrefSpec> = fc.oneof(
  { weight: 16, arbitrary: fc.record({ kind: fc.constant('fresh' as const), seed: fc.nat(255) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('again' as const), i: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('ended' as const), seed: fc.nat(255) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('raw' as const), v: fc.oneof(fc.constantFrom(0, 1, 7, 511, 512, 0xffffffff), fc.nat()) }),
  },
);
const reqArb: fc.Arbitrary<Extract<SlotSpec, { t: 'req' }>> = fc.record({
  t: fc.constant('req' as const), gref: grefArb, offset: offsetArb, flags: flagsArb, id: fc.nat(0xffff), size: u16Edge,
});
const extraArb: fc.Arbitrary<SlotSpec> = fc.record({
  t: fc.constant('extra' as const),
  type: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 5 }) }, { weight: 1, arbitrary: fc.nat(255) }),
  flags: fc.constantFrom(0, 1, 0xff),
  bytes: fc.array(fc.oneof(fc.constantFrom(0, 1, 2, 3), fc.nat(255)), { minLength: 6, maxLength: 6 }),
});

/** One packet-shaped run of slots: a first request, maybe extras, follow-ons; flags are still arbitrary. */
const rawPacketArb: fc.Arbitrary<SlotSpec[]> = fc
  .tuple(reqArb, fc.array(extraArb, { maxLength: 3 }), fc.array(reqArb, { maxLength: 21 }))
  .map(([first, extras, follow]) => [first, ...extras, ...follow]);

type Req = Extract<SlotSpec, { t: 'req' }>;

/**
 * A packet whose structure is right (flags chain the slots, the first size is the total, extras are of real
 * types, no slot crosses its page) with its contents still hostile (grefs, ids, sizes at the edges, zero-size
 * slots, 18 to 21 slots): the cases that get past the first fatal check and exercise the ops, the stack and
 * the answers.
 */
const coherentPacketArb: fc.Arbitrary<SlotSpec[]> = fc
  .tuple(
    reqArb,
    fc.array(fc.record({
      type: fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(2, 3, 4) }),
      mss: fc.oneof({ weight: 40, arbitrary: fc.integer({ min: 1, max: 9000 }) }, { weight: 1, arbitrary: fc.constant(0) }),
      gsoType: fc.oneof({ weight: 40, arbitrary: fc.constantFrom(1, 2) }, { weight: 1, arbitrary: fc.nat(255) }),
    }), { maxLength: 2 }).chain((xs) => fc.oneof({ weight: 3, arbitrary: fc.constant([] as typeof xs) }, { weight: 1, arbitrary: fc.constant(xs) })),
    fc.oneof({ weight: 4, arbitrary: fc.array(reqArb, { maxLength: 6 }) }, { weight: 1, arbitrary: fc.array(reqArb, { minLength: 15, maxLength: 21 }) }),
    fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.constant(2) }, { weight: 1, arbitrary: fc.constant(1) }),
  )
  .map(([first, extras, follow, csum]) => {
    const fit = (r: Req, size: number): Req => ({ ...r, size, offset: Math.min(r.offset & 0xfff, 4096 - size) });
    const own = Math.min(Math.max(first.size & 0xfff, 14), 4096);
    const tail = follow.map((f, i) => ({ ...fit(f, Math.min(f.size, 4096)), flags: i < follow.length - 1 ? 4 : 0 }));
    const total = Math.min(0xffff, tail.reduce((n, f) => n + f.size, own));
    const head: Req = { ...fit(first, own), offset: first.offset % 3 === 0 ? Math.min(first.offset & 0xfff, 4096 - own) : 0, size: total, flags: csum | (extras.length > 0 ? 8 : 0) | (tail.length > 0 ? 4 : 0) };
    const xs: SlotSpec[] = extras.map((x, i) => ({
      t: 'extra', type: x.type, flags: i < extras.length - 1 ? 1 : 0, bytes: [x.mss & 0xff, x.mss >> 8, x.gsoType, 0, 0, 0],
    }));
    return [head, ...xs, ...tail];
  });

const packetArb: fc.Arbitrary<SlotSpec[]> = fc.oneof({ weight: 40, arbitrary: coherentPacketArb }, { weight: 1, arbitrary: rawPacketArb });

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      k: fc.constant('tx' as const),
      slots: fc.oneof(
        { weight: 30, arbitrary: fc.array(packetArb, { minLength: 1, maxLength: 4 }).map((ps) => ps.flat()) },
        { weight: 1, arbitrary: fc.array(fc.oneof(reqArb as fc.Arbitrary<SlotSpec>, extraArb), { minLength: 1, maxLength: 24 }) },
      ),
      prodLie: fc.oneof({ weight: 60, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(1, 5, 257, -1, 0x80000000) }),
      notify: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('grant' as const), i: fc.nat(40), m: fc.constantFrom(...GRANT_MUTATIONS) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('storm' as const), n: fc.integer({ min: 1, max: 2000 }), rx: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('xs' as const),
      key: fc.constantFrom('state', 'request-multicast-control', 'xdp-headroom', 'feature-rx-notify', 'multi-queue-num-queues'),
      values: fc.array(fc.oneof(fc.constantFrom('0', '1', '3', '4', '5', '6', '7', '4096', '5000', '32767', 'x', ''), fc.nat(70000).map(String)), { minLength: 1, maxLength: 3 }),
      n: fc.integer({ min: 1, max: 300 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('rx' as const),
      post: fc.nat(40),
      bad: fc.nat(3),
      readonly: fc.nat(2),
      sizes: fc.array(fc.oneof(fc.integer({ min: 14, max: 200 }), fc.integer({ min: 14, max: 20000 })), { maxLength: 4 }),
      gso: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('stack' as const), op: fc.constantFrom('free' as const, 'clone' as const) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('run' as const), us: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 100_000 })) }) },
);

export const caseArb: fc.Arbitrary<FuzzCase> = fc.record({
  strategy: fc.constantFrom('copy' as const, 'map' as const, 'hybrid' as const, 'zerocopy' as const),
  split: fc.boolean(),
  ringStart: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0xffffff00, max: 0xffffffff }) }),
  xdpHeadroom: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(0, 256, 4095, 4096, 5000, 32767, 65535) }),
  rxNotify: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  hold: fc.boolean(),
  corrupt: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(0.3, 1) }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 14 }),
});
