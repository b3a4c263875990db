import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GFP_ATOMIC, __GFP_MEMALLOC, __GFP_NOMEMALLOC } from '../../src/mm/gfp.ts';
import { PF_MEMALLOC, softirqEnter, softirqExit } from '../../src/mm/task.ts';
import {
  RX_RESERVE_AWARE,
  RX_RESERVE_NAIVE,
  RX_RESERVE_OFF,
  SOCK_DGRAM,
  netifRx,
  skSetMemalloc,
  sockClose,
  sockCreate,
} from '../../src/net/index.ts';
import { end, netWorld, rxFrame, SinkDevice } from './fixtures.ts';

test('stack: netStackCreate wires the skb layer to the memalloc-socket switch and the reserve mode', () => {
  const w = netWorld();
  const stack = w.a.stack;
  assert.is(stack.rxReserveMode, RX_RESERVE_AWARE);
  assert.not.ok(stack.env.memallocSocks());
  const sk = sockCreate(stack, SOCK_DGRAM, 1);
  skSetMemalloc(sk);
  assert.ok(stack.env.memallocSocks());
  assert.ok(stack.pfmemallocRulesActive());
  stack.rxReserveMode = RX_RESERVE_NAIVE;
  assert.ok(stack.env.memallocSocks(), 'naive: RX still dips into the reserve');
  assert.not.ok(stack.pfmemallocRulesActive(), 'naive: no receive rule');
  stack.rxReserveMode = RX_RESERVE_OFF;
  assert.not.ok(stack.env.memallocSocks(), 'off: RX never uses the reserve');
  assert.is(stack.rxMemallocGfp(), 0);
  sockClose(sk);
  end(w);
});

test('stack: the skb layer asks the domain ExecContext who may use the reserve (PF_MEMALLOC in softirq, __GFP_NOMEMALLOC wins)', () => {
  const w = netWorld();
  const { stack, ctx } = w.a;
  assert.not.ok(stack.env.pfmemallocAllowed(GFP_ATOMIC));
  assert.ok(stack.env.pfmemallocAllowed(GFP_ATOMIC | __GFP_MEMALLOC));
  assert.not.ok(stack.env.pfmemallocAllowed(GFP_ATOMIC | __GFP_MEMALLOC | __GFP_NOMEMALLOC));
  const saved = softirqEnter(ctx);
  ctx.current.flags |= PF_MEMALLOC;
  assert.ok(stack.env.pfmemallocAllowed(GFP_ATOMIC));
  softirqExit(ctx, saved);
  assert.is(ctx.current.flags & PF_MEMALLOC, 0);
  end(w);
});

test('stack: shutdown frees what the stack itself holds (backlog, fragments)', () => {
  const w = netWorld();
  const stack = w.a.stack;
  const dev = new SinkDevice('eth0', 2, 1);
  for (let i = 0; i < 3; i++) netifRx(stack, dev, rxFrame(stack));
  assert.is(stack.backlog[0]!.queue.qlen, 3);
  end(w);
  assert.is(stack.backlog[0]!.queue.qlen, 0);
  assert.is(stack.stats.totalDrops(), 0, 'a shutdown is not counted as drops by the receive path');
});

test.run();
