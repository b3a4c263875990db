import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { E2BIG, EACCES, EAGAIN, EEXIST, EINVAL, ENOENT } from '../../src/hv/errno.ts';
import { XBT_NIL, XS_RELEASE_DOMAIN, XenStore } from '../../src/hv/xenstore.ts';
import { testMachine } from '../support/machine.ts';

/** A store with a recorded watch log. */
function store(): { xs: XenStore; log: string[]; cb: (p: string, tok: string) => void } {
  const xs = new XenStore();
  const log: string[] = [];
  return { xs, log, cb: (p, tok) => log.push(`${tok} ${p}`) };
}

test('xenstore: write creates missing parents; read, directory and rm behave like xenstored', () => {
  const { xs } = store();
  assert.is(xs.write(0, XBT_NIL, '/a/b/c', 'v'), 0);
  assert.is(xs.read(0, XBT_NIL, '/a/b/c'), 'v');
  assert.is(xs.read(0, XBT_NIL, '/a/b'), '');
  assert.equal(xs.directory(0, XBT_NIL, '/a'), ['b']);
  assert.is(xs.read(0, XBT_NIL, '/a/x'), -ENOENT);
  assert.is(xs.rm(0, XBT_NIL, '/a/x'), 0, 'a missing node whose parent exists');
  assert.is(xs.rm(0, XBT_NIL, '/q/x'), -ENOENT);
  assert.is(xs.rm(0, XBT_NIL, '/a'), 0);
  assert.is(xs.read(0, XBT_NIL, '/a/b/c'), -ENOENT);
  assert.equal(xs.directory(0, XBT_NIL, '/'), ['local']);
});

test('xenstore: mkdir creates an empty node and leaves an existing one (and its value) alone', () => {
  const { xs } = store();
  xs.write(0, XBT_NIL, '/d', 'keep');
  assert.is(xs.mkdir(0, XBT_NIL, '/d'), 0);
  assert.is(xs.read(0, XBT_NIL, '/d'), 'keep');
  assert.is(xs.mkdir(0, XBT_NIL, '/e/f'), 0);
  assert.is(xs.read(0, XBT_NIL, '/e/f'), '');
});

test('xenstore: invalid paths and oversized values are refused with -EINVAL / -E2BIG', () => {
  const { xs } = store();
  for (const p of ['', '/a//b', '/a/', '/a b', '/a/b\n']) assert.is(xs.write(0, XBT_NIL, p, 'x'), -EINVAL, p);
  assert.is(xs.write(0, XBT_NIL, '/big', 'x'.repeat(4097)), -E2BIG);
  assert.is(xs.rm(0, XBT_NIL, '/'), -EINVAL);
});

test('xenstore: a relative path is taken under /local/domain/<domid>', () => {
  const t = testMachine();
  assert.is(t.hv.xs.write(1, XBT_NIL, 'device/vif/0/state', '1'), 0);
  assert.is(t.hv.xs.read(0, XBT_NIL, '/local/domain/1/device/vif/0/state'), '1');
  assert.is(t.hv.xs.read(1, XBT_NIL, 'name'), 'guest');
  t.audit();
});

test('xenstore: a domain may not read or write another domain\'s home without permission', () => {
  const t = testMachine();
  const xs = t.hv.xs;
  xs.write(0, XBT_NIL, '/local/domain/0/backend/vif/1/0/state', '2');
  assert.is(xs.read(1, XBT_NIL, '/local/domain/0/backend/vif/1/0/state'), -EACCES);
  assert.is(xs.write(1, XBT_NIL, '/local/domain/0/backend/vif/1/0/state', '6'), -EACCES);
  assert.is(xs.read(1, XBT_NIL, '/local/domain/0/nope'), -EACCES, 'hidden, not merely missing');
  assert.is(xs.setPerms(0, XBT_NIL, '/local/domain/0/backend/vif/1/0/state', [{ id: 0, perm: 'n' }, { id: 1, perm: 'r' }]), 0);
  assert.is(xs.read(1, XBT_NIL, '/local/domain/0/backend/vif/1/0/state'), '2');
  assert.is(xs.write(1, XBT_NIL, '/local/domain/0/backend/vif/1/0/state', '6'), -EACCES);
  assert.equal(xs.getPerms(1, XBT_NIL, 'name'), [{ id: 1, perm: 'n' }]);
  assert.is(xs.setPerms(1, XBT_NIL, '/local/domain/0/backend/vif/1/0/state', [{ id: 1, perm: 'b' }]), -EACCES);
  t.audit();
});

test('xenstore: a watch fires once on registration, then for the path and every node below it, in order', () => {
  const { xs, log, cb } = store();
  assert.is(xs.watch(0, '/w', 'T', cb), 0);
  xs.write(0, XBT_NIL, '/w/a', '1');
  xs.write(0, XBT_NIL, '/w/a/b', '2');
  xs.write(0, XBT_NIL, '/wx', 'not a child');
  xs.write(0, XBT_NIL, '/w', '3');
  assert.equal(log, [], 'nothing is delivered before processWatches');
  assert.is(xs.processWatches(), 4);
  assert.equal(log, ['T /w', 'T /w/a', 'T /w/a/b', 'T /w']);
});

test('xenstore: removing a subtree fires watches on the removed path and on watched descendants', () => {
  const { xs, log, cb } = store();
  xs.write(0, XBT_NIL, '/r/a/b', 'x');
  xs.watch(0, '/r', 'top', cb);
  xs.watch(0, '/r/a/b', 'leaf', cb);
  xs.processWatches();
  log.length = 0;
  xs.rm(0, XBT_NIL, '/r/a');
  xs.processWatches();
  assert.equal(log, ['top /r/a', 'leaf /r/a/b']);
});

test('xenstore: duplicate watch is -EEXIST; unwatch stops delivery and drops queued events', () => {
  const { xs, log, cb } = store();
  xs.watch(0, '/u', 'T', cb);
  assert.is(xs.watch(0, '/u', 'T', cb), -EEXIST);
  xs.write(0, XBT_NIL, '/u', '1');
  assert.is(xs.unwatch(0, '/u', 'T'), 0);
  assert.is(xs.unwatch(0, '/u', 'T'), -ENOENT);
  xs.processWatches();
  assert.equal(log, []);
});

test('xenstore: a relative watch reports relative paths', () => {
  const t = testMachine();
  const log: string[] = [];
  t.hv.xs.watch(1, 'device', 'rel', (p) => log.push(p));
  t.hv.xs.write(1, XBT_NIL, 'device/vif/0/state', '4');
  t.hv.xs.processWatches();
  assert.equal(log, ['device', 'device/vif/0/state']);
  t.audit();
});

test('xenstore: events a callback causes are delivered after the ones already queued', () => {
  const { xs, log } = store();
  xs.watch(0, '/x', 'A', (p, tok) => {
    log.push(`${tok} ${p}`);
    if (p === '/x/1') xs.write(0, XBT_NIL, '/x/2', '');
  });
  xs.write(0, XBT_NIL, '/x/1', '');
  xs.write(0, XBT_NIL, '/x/3', '');
  xs.processWatches();
  assert.equal(log, ['A /x', 'A /x/1', 'A /x/3', 'A /x/2']);
});

test('xenstore: a watcher gets no event for a node it cannot read', () => {
  const t = testMachine();
  const log: string[] = [];
  t.hv.xs.watch(1, '/local/domain/0', 'spy', (p) => log.push(p));
  t.hv.xs.write(0, XBT_NIL, '/local/domain/0/secret', 'x');
  t.hv.xs.processWatches();
  assert.equal(log, ['/local/domain/0'], 'only the registration event');
  t.audit();
});

test('xenstore: a watch-event flood is bounded per domain, the excess dropped and counted (XSA-349)', () => {
  const xs = new XenStore({ maxQueuedEvents: 10 });
  xs.watch(0, '/f', 'T', () => {});
  for (let i = 0; i < 100; i++) xs.write(0, XBT_NIL, '/f', String(i));
  assert.is(xs.pendingWatchEvents, 10);
  assert.is(xs.droppedEvents, 91);
  assert.is(xs.processWatches(), 10);
});

test('xenstore: onWatchQueued wakes a scheduler once per empty-to-non-empty transition', () => {
  let wakes = 0;
  const xs = new XenStore({ onWatchQueued: () => wakes++ });
  xs.watch(0, '/s', 'T', () => {});
  xs.write(0, XBT_NIL, '/s', '1');
  assert.is(wakes, 1);
  xs.processWatches();
  xs.write(0, XBT_NIL, '/s', '2');
  assert.is(wakes, 2);
});

test('xenstore: a transaction sees its own writes, hides them from others, and publishes them at commit', () => {
  const { xs, log, cb } = store();
  xs.write(0, XBT_NIL, '/t/a', 'old');
  xs.watch(0, '/t', 'W', cb);
  xs.processWatches();
  log.length = 0;
  const tx = xs.transactionStart(0);
  xs.write(0, tx, '/t/a', 'new');
  xs.write(0, tx, '/t/b', 'b');
  assert.is(xs.read(0, tx, '/t/a'), 'new');
  assert.is(xs.read(0, XBT_NIL, '/t/a'), 'old');
  assert.equal(xs.directory(0, tx, '/t'), ['a', 'b']);
  xs.processWatches();
  assert.equal(log, [], 'no event before commit');
  assert.is(xs.transactionEnd(0, tx, true), 0);
  assert.is(xs.read(0, XBT_NIL, '/t/b'), 'b');
  xs.processWatches();
  assert.equal(log, ['W /t/a', 'W /t/b']);
  assert.is(xs.openTransactions, 0);
});

test('xenstore: a commit after a conflicting change fails with -EAGAIN and changes nothing', () => {
  const { xs } = store();
  xs.write(0, XBT_NIL, '/c/k', '1');
  const tx = xs.transactionStart(0);
  assert.is(xs.read(0, tx, '/c/k'), '1');
  xs.write(0, tx, '/c/other', 'x');
  xs.write(0, XBT_NIL, '/c/k', '2');
  assert.is(xs.transactionEnd(0, tx, true), -EAGAIN);
  assert.is(xs.read(0, XBT_NIL, '/c/other'), -ENOENT);
  assert.is(xs.read(0, XBT_NIL, '/c/k'), '2');
});

test('xenstore: two transactions creating children of one node conflict, as in xenstored', () => {
  const { xs } = store();
  xs.mkdir(0, XBT_NIL, '/p');
  const a = xs.transactionStart(0);
  const b = xs.transactionStart(0);
  xs.write(0, a, '/p/a', '1');
  xs.write(0, b, '/p/b', '1');
  assert.is(xs.transactionEnd(0, a, true), 0);
  assert.is(xs.transactionEnd(0, b, true), -EAGAIN);
  assert.equal(xs.directory(0, XBT_NIL, '/p'), ['a']);
});

test('xenstore: abort discards; an unknown or foreign transaction id is -ENOENT', () => {
  const { xs } = store();
  const tx = xs.transactionStart(0);
  xs.write(0, tx, '/ab', '1');
  assert.is(xs.transactionEnd(0, tx, false), 0);
  assert.is(xs.read(0, XBT_NIL, '/ab'), -ENOENT);
  assert.is(xs.read(0, 999, '/ab'), -ENOENT);
  const other = xs.transactionStart(0);
  assert.is(xs.write(1, other, '/x', '1'), -ENOENT);
  assert.is(xs.transactionEnd(1, other, true), -ENOENT);
  xs.transactionEnd(0, other, false);
});

test('xenstore: rm inside a transaction removes the subtree at commit only', () => {
  const { xs } = store();
  xs.write(0, XBT_NIL, '/rt/a/b', '1');
  const tx = xs.transactionStart(0);
  assert.is(xs.rm(0, tx, '/rt/a'), 0);
  assert.is(xs.read(0, tx, '/rt/a/b'), -ENOENT);
  assert.is(xs.read(0, XBT_NIL, '/rt/a/b'), '1');
  assert.is(xs.transactionEnd(0, tx, true), 0);
  assert.is(xs.read(0, XBT_NIL, '/rt/a/b'), -ENOENT);
  assert.equal(xs.directory(0, XBT_NIL, '/rt'), []);
});

test('xenstore: @releaseDomain fires for privileged watchers when a domain is destroyed', () => {
  const t = testMachine();
  const log: string[] = [];
  t.hv.xs.watch(0, XS_RELEASE_DOMAIN, 'rel', (p) => log.push(p));
  t.hv.xs.watch(1, XS_RELEASE_DOMAIN, 'rel', (p) => log.push(`guest ${p}`));
  const d = t.hv.createDomain({ frames: 1 });
  t.hv.destroyDomain(d);
  t.hv.xs.processWatches();
  // Both get the registration fire; only the privileged watcher learns of the release.
  assert.equal(log, [XS_RELEASE_DOMAIN, `guest ${XS_RELEASE_DOMAIN}`, XS_RELEASE_DOMAIN]);
  assert.is(t.hv.xs.read(0, XBT_NIL, `/local/domain/${d.domid}`), -ENOENT);
  t.audit();
});

test.run();
