import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memReserveInfo } from '../../../src/mm/reserve.ts';
import { endWorld, smallWorld } from './fixtures.ts';

test('groups: the v20 tree is sized per §12.2 and its demand becomes the emergency watermark', () => {
  const w = smallWorld('groups');
  const g = w.groups!;
  const d = w.demand;
  assert.is(g.txPages.pages, d.tx);
  assert.is(g.txPages.limit, d.tx * 4096);
  assert.equal(g.rxCpu.map((r) => r.pages), [d.rxPerCpu, d.rxPerCpu]);
  assert.is(g.rpc.limit, w.params.maxInFlight * 512);
  assert.is(g.network.pages, d.tx + d.rx + g.rpc.pages);
  assert.is(w.zone.zone.pagesEmerg, g.network.pages);
  assert.match(memReserveInfo(w.zone.reserveRoot), /"total network reserve"/);
  endWorld(w);
  assert.is(w.zone.zone.pagesEmerg, 0, 'disconnected at teardown');
});

test('groups: no groups, no emergency pool, in the other modes', () => {
  for (const m of ['mainline', 'off', 'naive', 'nta'] as const) {
    const w = smallWorld(m);
    assert.is(w.groups, null);
    assert.is(w.zone.zone.pagesEmerg, 0);
    endWorld(w);
  }
});

test.run();
