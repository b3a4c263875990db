import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { timelineRows, timelineSpec } from '../../src/report/timeline.ts';
import type { TraceEvent } from '../../src/sim/scenarios/index.ts';

const slot = { domid: 1, queue: 0, id: 0 };
const events: TraceEvent[] = [
  { t: 0, kind: 'granted', page: '1:10', domid: 1, ref: 8 },
  { t: 0, kind: 'requested', page: '1:10', ...slot, ref: 8, size: 4096, tag: 1 },
  { t: 1000, kind: 'mapped', page: '1:10', ...slot },
  { t: 1000, kind: 'delivered', domid: 1, queue: 0, id: -1 },
  { t: 21000, kind: 'tap-released', tag: 1, pages: ['1:10'] },
  { t: 21000, kind: 'released', page: '1:10', ...slot },
  { t: 22000, kind: 'unmapped', page: '1:10', ...slot, refs: 0 },
  { t: 22000, kind: 'answered', page: '1:10', ...slot, status: 0 },
  { t: 23000, kind: 'ended', page: '1:10', domid: 1, ref: 8, ok: true },
];

test('timeline: each state lasts from its event to the slot\'s next one, in µs; the clone hold overlaps', () => {
  const rows = timelineRows(events);
  const by = (s: string) => rows.filter((r) => r.state === s).map((r) => [r.start, r.end]);
  assert.equal(by('granted'), [[0, 0]]);
  assert.equal(by('requested'), [[0, 1]]);
  assert.equal(by('mapped (in an sk_buff)'), [[1, 21]]);
  assert.equal(by('held by a tap clone'), [[1, 21]]);
  assert.equal(by('released'), [[21, 22]]);
  assert.equal(by('unmapped'), [[22, 22]]);
  assert.equal(by('answered'), [[22, 23]]);
  assert.ok(rows.every((r) => r.page === '1:10' && r.slot === '1/0/0'));
});

test('timeline: a slot never ended runs to the last event (a leak shows)', () => {
  const rows = timelineRows(events.slice(0, 4).concat([{ t: 5000, kind: 'copied', page: '9:9', domid: 9, queue: 0, id: 3 }]));
  const mapped = rows.find((r) => r.state === 'mapped (in an sk_buff)');
  assert.equal([mapped?.start, mapped?.end], [1, 5]);
});

test('timeline spec: y = page, x = virtual time in µs, color = state; rows capped with a note', () => {
  const many: TraceEvent[] = [];
  for (let i = 0; i < 5; i++) many.push({ t: i, kind: 'requested', page: `1:${i}`, domid: 1, queue: 0, id: i }, { t: 10 + i, kind: 'ended', page: `1:${i}`, domid: 1, ref: i, ok: true });
  const spec = timelineSpec(many, { title: 't', maxPages: 3 }) as any;
  assert.is(spec.encoding.y.field, 'page');
  assert.match(spec.encoding.x.title, /µs/);
  assert.is(spec.encoding.color.field, 'state');
  assert.equal(new Set(spec.data.values.map((v: any) => v.page)).size, 3);
  assert.match(spec.title.subtitle.join(' '), /first 3 of 5 pages/);
  assert.equal(spec.encoding.y.sort, ['dom1 frame 0', 'dom1 frame 1', 'dom1 frame 2']);
});

test.run();
