import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { scenarioByName } from '../../src/sim/scenarios/index.ts';
import { defaultSwapParams, withParams, type SwapMode, type SwapParams } from '../../src/sim/swap/params.ts';
import { runSwapOverNetwork, type SwapRun } from '../../src/sim/swap/scenario.ts';

const runs = new Map<string, SwapRun>();

/** Run (once) mode `mode` with REFERENCE §12.2's parameters, some replaced. */
function run(mode: SwapMode, over: Partial<SwapParams> = {}, seed = 1): SwapRun {
  const key = `${mode}/${seed}/${JSON.stringify(over)}`;
  let r = runs.get(key);
  if (r === undefined) {
    r = runSwapOverNetwork(withParams(defaultSwapParams(), over), mode, seed);
    runs.set(key, r);
  }
  return r;
}

function failed(r: SwapRun): string {
  return JSON.stringify(r.checks.filter((c) => !c.ok));
}

function check(r: SwapRun, prefix: string) {
  const c = r.checks.find((x) => x.name.startsWith(prefix));
  assert.ok(c, prefix);
  return c!;
}

test('off (A, pre-2012): the flood fills memory to the GFP_ATOMIC floor, replies find no buffer, the watchdog detects the deadlock', () => {
  const r = run('off');
  assert.is(r.outcome, 'deadlock');
  assert.ok(r.ok, failed(r));
  assert.match(check(r, '9 ').detail, /^deadlock detected as expected at step \d+: no swap completion for 200 steps/);
  assert.is(r.counters['inFlight'], 16, 'in flight stays at M');
  assert.is(r.counters['minFree'], 96, 'RX refills stop at the GFP_ATOMIC floor');
  assert.ok((r.counters['rx.missed.storage'] as number) > 0, 'replies lost in hardware');
  assert.is(r.counters['taggedRx'], 0);
  assert.is(r.counters['oomKills'], 0, 'the workload hangs (throttled), it is not killed');
});

test('naive (A′): RX may use the reserve but nothing filters it: the flood drains it into floodSock, free reaches 0, deadlock detected', () => {
  const r = run('naive');
  assert.is(r.outcome, 'deadlock');
  assert.ok(r.ok, failed(r));
  assert.is(r.counters['minFree'], 0);
  assert.ok((r.counters['reserveOverruns'] as number) > 0);
  assert.ok((r.counters['taggedOnFloodSock'] as number) > 0, 'tagged flood skbs held by the blocked reader');
  assert.match(check(r, '2 ').detail, /not applicable/);
});

test('mainline (B, 3.6): completes, 0 OOM kills, every invariant of §12.4 holds at every step', () => {
  const r = run('mainline');
  assert.is(r.outcome, 'completed');
  assert.ok(r.ok, failed(r));
  const c = r.counters;
  assert.is(c['oomKills'], 0);
  assert.is(c['reserveOverruns'], 0);
  assert.ok((c['taggedRx'] as number) > 0, 'the reserve was used');
  assert.ok((c['flood.drop.pfmemallocFilter'] as number) > 0, 'tagged flood skbs freed at sk_filter');
  assert.ok((c['flood.drop.pfmemallocProto'] as number) > 0, 'tagged non-IP frames dropped at receive');
  assert.is(c['taggedStray'], 0);
  assert.ok((c['minFree'] as number) > 0);
  assert.is(c['minFreeKbytes'], 2084, 'the admin-tuned min_free_kbytes');
  assert.ok((c['recoveredAt'] as number) > (c['workloadExitStep'] as number));
});

test('groups (C, v20): completes; every group stays within its limit; the flood CPU\'s over-limit charges fail and its frames are dropped', () => {
  const r = run('groups');
  assert.is(r.outcome, 'completed');
  assert.ok(r.ok, failed(r));
  const c = r.counters;
  assert.ok((c['pagesEmerg'] as number) > 0);
  for (const g of ['tx', 'rpc', 'rx.cpu0', 'rx.cpu1']) assert.ok((c[`groupPeak.${g}`] as number) <= (c[`groupLimit.${g}`] as number), g);
  assert.ok((c['groupChargeFailures.rx.cpu0'] as number) > 0);
  assert.is(c['rx.missed.storage'], 0, 'the storage ring, within its own share, never lost a reply');
  assert.is(c['reserveOverruns'], 0);
});

test('nta: network buffers from their own pool: the flood exhausts CPU 0\'s share and is lost in hardware; swap completes', () => {
  const r = run('nta');
  assert.is(r.outcome, 'completed');
  assert.ok(r.ok, failed(r));
  const c = r.counters;
  assert.is(c['taggedRx'], 0);
  assert.ok((c['nta.failures'] as number) > 0);
  assert.ok((c['flood.drop.hardware'] as number) > (c['flood.delivered'] as number));
  assert.match(check(r, '10 ').detail, /not applicable \(nta/);
});

test('mainline with the 3.6 default min_free_kbytes (1024): the reserve runs dry (overruns): the admin must tune it', () => {
  const r = run('mainline', { minFreeKbytes: 1024 });
  assert.not.ok(r.ok);
  assert.is(r.counters['minFree'], 0);
  assert.ok((r.counters['reserveOverruns'] as number) > 0);
  assert.match(check(r, '1 ').detail, /reserve overrun/);
});

test('100× flood (1500 steps) in mainline, groups, nta: swap keeps completing and no invariant fails', () => {
  for (const mode of ['mainline', 'groups', 'nta'] as const) {
    const r = run(mode, { floodMultiplier: 100, steps: 1500 });
    assert.is(r.counters['watchdog.firedAt'], -1, mode);
    assert.ok((r.counters['swapCompletions'] as number) > 1000, mode);
    assert.ok((r.counters['flood.offered'] as number) >= 100 * 128 * 1500, mode);
    assert.ok(r.checks.filter((x) => !x.name.startsWith('9 ')).every((x) => x.ok), `${mode}: ${failed(r)}`);
    assert.is(r.counters['reserveOverruns'], 0, mode);
  }
});

test('determinism: the same seed gives the same counters; another seed gives others', () => {
  const a = runSwapOverNetwork(defaultSwapParams(), 'naive', 5);
  const b = runSwapOverNetwork(defaultSwapParams(), 'naive', 5);
  const c = runSwapOverNetwork(defaultSwapParams(), 'naive', 6);
  assert.equal(a.counters, b.counters);
  assert.equal(a.checks, b.checks);
  assert.not.equal(a.counters, c.counters);
});

test('sticky frag tag (2013-2020): with copybreak and a reader that wakes at step 400, only the sticky cache fails invariant 10', () => {
  const over = { rxCopybreak: 256, floodReaderWake: 400, steps: 500 };
  const sticky = run('mainline', { ...over, stickyFrag: true });
  const fixed = run('mainline', over);
  assert.not.ok(check(sticky, '10 ').ok);
  assert.match(check(sticky, '10 ').detail, /napi_alloc_cache\/1: an skb was tagged/);
  assert.ok(check(fixed, '10 ').ok, check(fixed, '10 ').detail);
  assert.ok(fixed.checks.filter((x) => !x.name.startsWith('9 ')).every((x) => x.ok), failed(fixed));
});

test('tap: in mainline the never-read tap keeps no tagged received skb', () => {
  const r = run('mainline', { tap: true, steps: 600 });
  assert.ok(check(r, '3 ').ok);
  assert.is(r.counters['taggedOnTap'], 0);
  assert.ok((r.counters['taggedRx'] as number) > 0);
});

test('registry: swap-over-network has the five modes and its knobs; --mode off is ok (deadlock detected as expected)', () => {
  const s = scenarioByName('swap-over-network')!;
  assert.equal([...s.modes].sort(), ['groups', 'mainline', 'naive', 'nta', 'off']);
  for (const k of ['flood', 'steps', 'tap', 'reclaimers']) assert.ok(k in s.knobs, k);
  const r = s.run({ mode: 'off', seed: 1, knobs: {} });
  assert.ok(r.ok);
  assert.is(r.counters['outcome'], 'deadlock');
  assert.is(r.counters['reference'], 'A');
  const short = s.run({ mode: 'mainline', seed: 1, knobs: { steps: 50, reclaimers: 2 } });
  assert.not.ok(short.ok, 'too few steps to complete: liveness fails');
  assert.is(short.counters['outcome'], 'incomplete');
});

test('property: for any seed, flood ×1..4, 1..8 reclaimers, with or without a tap, mainline holds every invariant through the deep-reserve phase and naive deadlocks', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 8 }), fc.boolean(), (seed, flood, reclaimers, tap) => {
      const over = { floodMultiplier: flood, reclaimers, tap, steps: 400 };
      const good = runSwapOverNetwork(withParams(defaultSwapParams(), over), 'mainline', seed);
      assert.is(good.counters['watchdog.firedAt'], -1);
      assert.ok(good.checks.filter((x) => !x.name.startsWith('9 ')).every((x) => x.ok), failed(good));
      const bad = runSwapOverNetwork(withParams(defaultSwapParams(), { ...over, steps: 1000 }), 'naive', seed);
      assert.is(bad.outcome, 'deadlock');
      assert.ok(bad.ok, failed(bad));
    }),
    { numRuns: 4, seed: 42 },
  );
});

test.run();
