import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgument } from '../../src/errors.ts';
import {
  ExecContext, kswapdTask, kthreadCreate, memallocNoreclaimRestore, memallocNoreclaimSave, PF_KSWAPD, PF_KTHREAD,
  PF_MEMALLOC, softirqEnter, softirqExit, TaskStruct, tskRestoreFlags,
} from '../../src/mm/task.ts';
import { throwsType } from '../support/assert.ts';

test('task: memalloc_noreclaim save/restore nests and restores exactly the bit each save saw', () => {
  const ctx = new ExecContext();
  const outer = memallocNoreclaimSave(ctx);
  assert.is(outer, 0);
  assert.ok(ctx.current.flags & PF_MEMALLOC);
  const inner = memallocNoreclaimSave(ctx);
  assert.is(inner, PF_MEMALLOC);
  memallocNoreclaimRestore(ctx, inner);
  assert.ok(ctx.current.flags & PF_MEMALLOC, 'the inner restore leaves the outer section entitled');
  memallocNoreclaimRestore(ctx, outer);
  assert.is(ctx.current.flags & PF_MEMALLOC, 0);
});

test('task: restore touches only PF_MEMALLOC', () => {
  const ctx = new ExecContext(new TaskStruct('t', PF_KTHREAD));
  const saved = memallocNoreclaimSave(ctx);
  ctx.current.flags |= 0x4; // some unrelated bit set inside the section
  memallocNoreclaimRestore(ctx, saved);
  assert.is(ctx.current.flags, PF_KTHREAD | 0x4);
});

test('task: a softirq neither inherits nor leaks the borrowed task\'s PF_MEMALLOC', () => {
  const ctx = new ExecContext(new TaskStruct('reclaimer', PF_MEMALLOC));
  const saved = softirqEnter(ctx);
  assert.is(ctx.current.flags & PF_MEMALLOC, 0, 'cleared on entry');
  assert.ok(ctx.inServingSoftirq() && ctx.inInterrupt());
  ctx.current.flags |= PF_MEMALLOC; // set during processing of a tagged skb
  softirqExit(ctx, saved);
  assert.ok(ctx.current.flags & PF_MEMALLOC, 'restored on exit');
  assert.not.ok(ctx.inInterrupt());

  const plain = new ExecContext();
  const s2 = softirqEnter(plain);
  plain.current.flags |= PF_MEMALLOC;
  softirqExit(plain, s2);
  assert.is(plain.current.flags & PF_MEMALLOC, 0, 'what the softirq set does not leak out');
});

test('task: tsk_restore_flags restores only the masked bits', () => {
  const t = new TaskStruct('t', PF_MEMALLOC | PF_KTHREAD);
  t.flags = 0;
  tskRestoreFlags(t, PF_MEMALLOC | PF_KTHREAD, PF_MEMALLOC);
  assert.is(t.flags, PF_MEMALLOC);
});

test('task: kswapd is a kernel thread running with PF_MEMALLOC | PF_KSWAPD; kthreads are PF_KTHREAD', () => {
  const k = kswapdTask();
  assert.is(k.flags, PF_KTHREAD | PF_MEMALLOC | PF_KSWAPD);
  assert.ok(k.isKthread);
  assert.ok(kthreadCreate('nbd').isKthread);
  assert.not.ok(new TaskStruct('user').isKthread);
});

test('task: switchTo returns the previous task; contexts of two domains are independent', () => {
  const a = new ExecContext();
  const b = new ExecContext();
  const k = kswapdTask();
  const prev = a.switchTo(k);
  assert.is(a.current, k);
  assert.is.not(b.current, k);
  a.switchTo(prev);
  assert.is(a.current, prev);
});

test('task: unbalanced interrupt exits are misuse', () => {
  const ctx = new ExecContext();
  throwsType(() => ctx.hardirqExit(), InvalidArgument);
  throwsType(() => ctx.localBhEnable(), InvalidArgument);
  throwsType(() => softirqExit(ctx, 0), InvalidArgument);
});

test.run();
