import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GFP_HIGHUSER } from '../../../src/mm/gfp.ts';
import { endWorld, smallWorld, steps } from './fixtures.ts';

/** A world whose workload stays idle (target 0 pages would exit at once: use a huge step share of 0). */
function quietWorld(over = {}) {
  return smallWorld('mainline', { anonPerStep: 0, floodFrames: 0, ...over });
}

test('swap client: a queued page goes out as one request (header + page frag), and the reply hands it back', () => {
  const w = quietWorld();
  const page = w.pages.allocPage(GFP_HIGHUSER);
  assert.ok(w.client.queuePage(page));
  steps(w, 0, 1);
  assert.is(w.client.stats.writes, 1);
  assert.is(w.client.writesInFlight, 1);
  assert.is(w.server.stats.writes, 1);
  assert.is(w.mem.refcount[page], 2, 'reclaim\'s reference and the kept clone\'s frag');
  steps(w, 1, 1 + w.params.serverLatency);
  assert.is(w.client.stats.completions, 1);
  assert.is(w.client.writesInFlight, 0);
  assert.is(w.reclaim.written.count, 1, 'written: back to reclaim');
  assert.is(w.mem.refcount[page], 1, 'the clone and its rpc buffer are gone');
  endWorld(w);
});

test('swap client: at most M requests in flight; the rest wait in the device queue', () => {
  const w = quietWorld();
  const m = w.params.maxInFlight;
  for (let i = 0; i < m + 3; i++) w.client.queuePage(w.pages.allocPage(GFP_HIGHUSER));
  steps(w, 0, 1);
  assert.is(w.client.writesInFlight, m);
  assert.is(w.client.queue.count, 3);
  steps(w, 1, 10);
  assert.is(w.client.stats.completions, m + 3);
  endWorld(w);
});

test('swap client: a request unanswered for T_rto steps is sent again (a clone), and the server answers both', () => {
  const w = quietWorld({ serverLatency: 30, rto: 20 });
  w.client.queuePage(w.pages.allocPage(GFP_HIGHUSER));
  steps(w, 0, 21);
  assert.is(w.client.stats.retransmits, 1);
  assert.is(w.server.stats.retransmits, 1);
  steps(w, 21, 52);
  assert.is(w.client.stats.completions, 1);
  assert.is(w.client.stats.staleReplies, 1, 'the second answer finds nothing in flight');
  endWorld(w);
});

test('swap client: idle for pingIdle steps, it sends a NULL ping (no page) and reads the answer', () => {
  const w = quietWorld();
  steps(w, 0, w.params.pingIdle + w.params.serverLatency + 1);
  assert.is(w.client.stats.pings, 1);
  assert.is(w.client.stats.pingReplies, 1);
  assert.is(w.client.stats.writes, 0);
  endWorld(w);
});

test('swap client: swapSock is SOCK_MEMALLOC in mainline and groups, not in off and nta', () => {
  for (const [mode, want] of [['mainline', 1], ['groups', 1], ['naive', 1], ['off', 0], ['nta', 0]] as const) {
    const w = smallWorld(mode);
    assert.is(w.stack.memallocSocks, want, mode);
    endWorld(w);
  }
});

test('swap client: teardown gives back queued and in-flight pages, clones and rpc buffers', () => {
  const w = quietWorld({ serverLatency: 50 });
  for (let i = 0; i < 6; i++) w.client.queuePage(w.pages.allocPage(GFP_HIGHUSER));
  steps(w, 0, 2);
  assert.ok(w.client.inFlight > 0);
  endWorld(w);
});

test.run();
