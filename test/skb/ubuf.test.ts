import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UseAfterDestroy } from '../../src/errors.ts';
import {
  EINVAL,
  SKBFL_DONT_ORPHAN,
  SKBFL_MANAGED_FRAG_REFS,
  SKBFL_ZEROCOPY_ENABLE,
  SKBFL_ZEROCOPY_FRAG,
  allocUbufInfo,
  kfreeSkb,
  netZcopyGet,
  netZcopyPut,
  skbClone,
  skbCopyUbufs,
  skbGet,
  skbOrphanFrags,
  skbOrphanFragsRx,
  skbToBytes,
  skbTxError,
  skbZcopy,
  skbZcopyDowngradeManaged,
  skbZcopyInit,
  skbZcopySet,
  ubufInfoComplete,
} from '../../src/skb/index.ts';
import { throwsType } from '../support/assert.ts';
import { dataPage, expectedBytes, makeSkb, pattern, refcount, sameBytes, world } from './world.ts';

function lent(w: ReturnType<typeof world>, flags = SKBFL_ZEROCOPY_FRAG) {
  const page = dataPage(w, 1);
  const frags = [{ frame: page, off: 0, size: 2000 }, { frame: page, off: 2000, size: 2000 }];
  const skb = makeSkb(w, pattern(16, 1), frags);
  const results: boolean[] = [];
  const uarg = allocUbufInfo(w.env, (_u, ok) => results.push(ok), flags);
  skbZcopyInit(skb, uarg);
  return { skb, page, results, uarg, want: expectedBytes(w, pattern(16, 1), frags) };
}

test('ubuf: completion fires with success = true at the last dataref, before the frag references drop', () => {
  const w = world();
  const { skb, page, results } = lent(w);
  let refsAtCompletion = -1;
  skb.shinfo.destructorArg!.callback = (_u, ok) => {
    results.push(ok);
    refsAtCompletion = refcount(w, page);
  };
  kfreeSkb(skb);
  assert.equal(results, [true]);
  assert.is(refsAtCompletion, 3, 'both slots still held when completion ran');
  assert.is(refcount(w, page), 1);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('ubuf: skb_orphan_frags copies into local pages, drops the lent page refs and completes(false)', () => {
  const w = world();
  const { skb, page, results, want } = lent(w);
  assert.is(skbOrphanFrags(skb), 0);
  assert.equal(results, [false]);
  assert.is(skbZcopy(skb), null);
  assert.is(refcount(w, page), 1);
  assert.is(skb.shinfo.nrFrags, 1, '4000 paged bytes fit one new page');
  sameBytes(skbToBytes(skb), want);
  kfreeSkb(skb);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('ubuf: DONT_ORPHAN skips skb_orphan_frags but not skb_orphan_frags_rx', () => {
  const w = world();
  const { skb, page, results } = lent(w, SKBFL_ZEROCOPY_FRAG | SKBFL_DONT_ORPHAN);
  assert.is(skbOrphanFrags(skb), 0);
  assert.equal(results, []);
  assert.is(skbOrphanFragsRx(skb), 0);
  assert.equal(results, [false]);
  kfreeSkb(skb);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('ubuf: skb_copy_ubufs refuses a shared skb with -EINVAL', () => {
  const w = world();
  const { skb, page, results } = lent(w);
  skbGet(skb);
  assert.is(skbCopyUbufs(skb), -EINVAL);
  kfreeSkb(skb);
  const c = skbClone(skb)!;
  assert.equal(results, [false], 'unshared again: the clone orphans the frags');
  kfreeSkb(c);
  kfreeSkb(skb);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('ubuf: a refcounted completion ANDs every success and fires once at zero; completing again throws', () => {
  const w = world();
  const results: boolean[] = [];
  const u = allocUbufInfo(w.env, (_u, ok) => results.push(ok));
  netZcopyGet(u);
  ubufInfoComplete(u, false);
  assert.equal(results, []);
  netZcopyPut(u);
  assert.equal(results, [false], 'one copied completion makes the whole send "copied"');
  throwsType(() => ubufInfoComplete(u, true), UseAfterDestroy);
  w.audit.assertClean();
});

test('ubuf: skb_zcopy_set takes a reference unless one is donated, and never replaces a completion', () => {
  const w = world();
  const { skb, page, uarg } = lent(w);
  const other = allocUbufInfo(w.env, () => {});
  assert.not.ok(skbZcopySet(skb, other));
  assert.is(skbZcopy(skb), uarg);
  netZcopyPut(other);
  kfreeSkb(skb);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('ubuf: managed frag refs: release skips the unrefs; downgrading takes a real ref per frag', () => {
  const w = world();
  const { skb, page, results } = lent(w, SKBFL_ZEROCOPY_FRAG | SKBFL_MANAGED_FRAG_REFS);
  assert.is(skb.shinfo.flags & SKBFL_ZEROCOPY_ENABLE, SKBFL_ZEROCOPY_ENABLE);
  skbZcopyDowngradeManaged(skb);
  assert.is(refcount(w, page), 5, 'test + 2 donated + 2 downgrade refs');
  w.pa.putPage(page);
  w.pa.putPage(page);
  kfreeSkb(skb);
  assert.equal(results, [true]);
  assert.is(refcount(w, page), 1);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test('ubuf: skb_tx_error completes(true) unless clones share the shinfo', () => {
  const w = world();
  const { skb, page, results } = lent(w, SKBFL_ZEROCOPY_FRAG | SKBFL_DONT_ORPHAN);
  const c = skbClone(skb)!;
  skbTxError(skb);
  assert.equal(results, []);
  kfreeSkb(c);
  skbTxError(skb);
  assert.equal(results, [true]);
  kfreeSkb(skb);
  w.pa.putPage(page);
  w.audit.assertClean();
});

test.run();
