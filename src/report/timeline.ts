/**
 * The lifecycle timeline: a recorded trace (TraceEvent[], what `pvnet run --trace` writes) turned into bars,
 * one row per guest page, x = virtual time, color = the state the page's TX slot was in.
 *
 * ```
 *   page 1:2307  |granted|requested|== in skb (mapped) ==|released|unmapped|answered|
 *                                  |~~ held by a tap clone ~~|            (thin bar, overlapping)
 * ```
 *
 * A slot is one TX request (domid, queue, id) from `requested` to the guest's `ended`; each state lasts from
 * its event to the slot's next event. `granted` precedes its request (matched by page). A clone bar runs from
 * the packet's `delivered` (netback names the guest, not the page: every open mapped slot of that guest not yet
 * delivered) to the scenario's `tap-released` naming the page, and is drawn only while the slot
 * is mapped (with copy and zerocopy the tap holds a private copy, not the guest's page). Pure functions: the
 * rows and the Vega-Lite spec are built from the events alone, so a test can check them without rendering.
 */

import type { TopLevelSpec } from 'vega-lite';
import type { TraceEvent } from '../sim/scenarios/registry.ts';

/** The states, in lifecycle order (the legend's order). */
export const TIMELINE_STATES = [
  'granted', 'requested', 'mapped (in an sk_buff)', 'copied', 'released', 'unmapped', 'answered',
] as const;
export type TimelineState = (typeof TIMELINE_STATES)[number] | 'held by a tap clone';

export interface TimelineRow {
  /** The guest page, "domid:frame". */
  page: string;
  state: TimelineState;
  /** Virtual time, µs. */
  start: number;
  end: number;
  /** The TX request (domid/queue/id) the bar belongs to. */
  slot: string;
}

const STATE_OF: Record<string, TimelineState> = {
  requested: 'requested', mapped: 'mapped (in an sk_buff)', copied: 'copied', released: 'released',
  unmapped: 'unmapped', answered: 'answered',
};

interface OpenSlot {
  page: string;
  key: string;
  state: TimelineState;
  since: number;
  mapped: boolean;
  deliveredAt: number;
  tag: number;
}

/**
 * Bars from a trace. Times become µs. A slot still open at the end of the trace is closed at the last event's
 * time (so a leak shows as a bar running to the right edge).
 */
export function timelineRows(events: readonly TraceEvent[]): TimelineRow[] {
  const rows: TimelineRow[] = [];
  const open = new Map<string, OpenSlot>();
  const byPage = new Map<string, OpenSlot>();
  const grantedAt = new Map<string, number>();
  const us = (ns: number) => ns / 1000;
  let last = 0;
  const close = (s: OpenSlot, t: number) => {
    rows.push({ page: s.page, state: s.state, start: us(s.since), end: us(t), slot: s.key });
  };
  for (const e of events) {
    last = Math.max(last, e.t);
    const page = typeof e.page === 'string' ? e.page : undefined;
    if (e.kind === 'granted' && page !== undefined) {
      grantedAt.set(page, e.t);
      continue;
    }
    if (e.kind === 'tap-released' && Array.isArray(e['pages'])) {
      for (const p of e['pages'] as string[]) {
        const s = byPage.get(p);
        if (s === undefined || !s.mapped || s.deliveredAt < 0 || s.tag !== e['tag']) continue;
        rows.push({ page: p, state: 'held by a tap clone', start: us(s.deliveredAt), end: us(e.t), slot: s.key });
        s.deliveredAt = -1;
      }
      continue;
    }
    if (e.kind === 'delivered' && page === undefined) {
      // netback delivers a packet (no page named): its slots are the open, mapped ones of that guest not yet delivered.
      for (const s of open.values()) if (s.mapped && s.deliveredAt < 0 && s.key.startsWith(`${String(e['domid'])}/`)) s.deliveredAt = e.t;
      continue;
    }
    if (page === undefined) continue;
    const key = `${String(e['domid'])}/${String(e['queue'])}/${String(e['id'])}`;
    if (e.kind === 'requested') {
      const g = grantedAt.get(page);
      if (g !== undefined) {
        rows.push({ page, state: 'granted', start: us(g), end: us(e.t), slot: key });
        grantedAt.delete(page);
      }
      const s: OpenSlot = { page, key, state: 'requested', since: e.t, mapped: false, deliveredAt: -1, tag: Number(e['tag'] ?? -1) };
      open.set(key, s);
      byPage.set(page, s);
      continue;
    }
    const s = e.kind === 'ended' ? byPage.get(page) : open.get(key);
    if (s === undefined) continue;
    if (e.kind === 'ended') {
      close(s, e.t);
      open.delete(s.key);
      if (byPage.get(page) === s) byPage.delete(page);
      continue;
    }
    if (e.kind === 'delivered') {
      if (s.deliveredAt < 0) s.deliveredAt = e.t;
      continue;
    }
    const next = STATE_OF[e.kind];
    if (next === undefined || next === s.state) continue;
    close(s, e.t);
    s.state = next;
    s.since = e.t;
    if (e.kind === 'mapped') s.mapped = true;
    if (e.kind === 'unmapped') s.mapped = false;
  }
  for (const s of open.values()) close(s, last);
  return rows;
}

/** Which pages to draw: the first `maxPages` by first appearance. */
function pageOrder(rows: readonly TimelineRow[]): string[] {
  const first = new Map<string, number>();
  for (const r of rows) if (!first.has(r.page) || r.start < first.get(r.page)!) first.set(r.page, r.start);
  return [...first.entries()].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1)).map(([p]) => p);
}

const COLORS: Record<TimelineState, string> = {
  granted: '#c7c7c7',
  requested: '#9ecae1',
  'mapped (in an sk_buff)': '#e6550d',
  copied: '#31a354',
  released: '#fdae6b',
  unmapped: '#756bb1',
  answered: '#3182bd',
  'held by a tap clone': '#000000',
};

export interface TimelineOptions {
  title: string;
  subtitle?: string;
  /** Rows drawn at most (default 40); the subtitle says how many were left out. */
  maxPages?: number;
}

/**
 * The Vega-Lite spec: a gantt chart, y = page ("dom1 frame 2307"), x = virtual time in µs, color = state; clone
 * holds as thin black bars over the state bars. Zero-length states get a minimum width so they stay visible.
 */
export function timelineSpec(events: readonly TraceEvent[], opts: TimelineOptions): TopLevelSpec {
  const all = timelineRows(events);
  const order = pageOrder(all);
  const maxPages = opts.maxPages ?? 32;
  const keep = new Set(order.slice(0, maxPages));
  const rows = all.filter((r) => keep.has(r.page));
  const tMax = Math.max(1, ...rows.map((r) => r.end));
  const minW = tMax / 150;
  const label = (p: string) => {
    const [d, f] = p.split(':');
    return `dom${d} frame ${f}`;
  };
  const values = rows.map((r) => ({
    page: label(r.page), state: r.state, start: r.start, end: Math.max(r.end, r.start + minW),
    from: r.start, to: r.end, slot: r.slot, clone: r.state === 'held by a tap clone',
  }));
  const states = [...TIMELINE_STATES, 'held by a tap clone'] as TimelineState[];
  const present = states.filter((s) => values.some((v) => v.state === s));
  const left = order.length - keep.size;
  const subtitle = [
    ...(opts.subtitle !== undefined ? [opts.subtitle] : []),
    `one row per guest page lent for TX${left > 0 ? `; the first ${keep.size} of ${order.length} pages` : ''}; virtual time`,
  ];
  const y = { field: 'page', type: 'nominal' as const, title: 'guest page', sort: order.slice(0, maxPages).map(label) };
  const x = { field: 'start', type: 'quantitative' as const, title: 'virtual time (µs)', scale: { domain: [0, tMax * 1.01], nice: false } };
  const color = {
    field: 'state', type: 'nominal' as const, title: 'state of the page',
    scale: { domain: present, range: present.map((s) => COLORS[s]) },
    legend: { orient: 'bottom' as const, columns: 4, symbolType: 'square', labelLimit: 260 },
  };
  const tooltip = [
    { field: 'page', type: 'nominal' as const }, { field: 'state', type: 'nominal' as const },
    { field: 'from', type: 'quantitative' as const, title: 'from µs' }, { field: 'to', type: 'quantitative' as const, title: 'to µs' },
    { field: 'slot', type: 'nominal' as const, title: 'domid/queue/id' },
  ];
  const rowHeight = 14;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: opts.title, subtitle },
    width: 640,
    height: Math.max(80, keep.size * rowHeight),
    data: { values },
    encoding: { y, x, x2: { field: 'end' }, color, tooltip },
    layer: [
      { transform: [{ filter: '!datum.clone' }], mark: { type: 'bar', height: rowHeight - 3 } },
      { transform: [{ filter: 'datum.clone' }], mark: { type: 'bar', height: 3, yOffset: 0 } },
    ],
    config: { axisY: { labelFontSize: 9 }, legend: { labelFontSize: 11 } },
  } as TopLevelSpec;
}
