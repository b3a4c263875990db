/**
 * Writing the showcase report to a directory (`pvnet demo` and `pvnet report DIR`):
 *
 *   index.html            the results as tables, every chart inline as SVG (no external asset, works offline)
 *   results.json          ShowcaseResults without the raw traces
 *   strategy-cost.svg     modelled hypervisor µs per frame against frame size, per strategy
 *   strategy-wall.svg     measured wall µs per frame against frame size, per strategy
 *   timeline-<s>.svg      the lifecycle timeline of clone-storm under strategy s (map, zerocopy)
 *   timeline-<s>.jsonl    the raw trace behind it, one JSON event per line (as `pvnet run --trace` writes)
 *   capture.pcap          every frame of the capture run (Ethernet, nanosecond virtual timestamps)
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ShowcaseResults } from './showcase.ts';
import { showcaseCharts } from './showcase-charts.ts';
import { specToSvg } from './vega.ts';

export const REPORT_FILES = ['index.html', 'results.json', 'strategy-cost.svg', 'strategy-wall.svg', 'capture.pcap'] as const;

/** results.json: everything but the raw traces (they go to the .jsonl files). */
export function resultsJson(r: ShowcaseResults): string {
  const { timelines, ...rest } = r;
  return JSON.stringify({ ...rest, timelines: timelines.map((t) => ({ strategy: t.strategy, events: t.events.length, file: `timeline-${t.strategy}.jsonl` })) }, null, 2);
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

function table(head: string[], rows: (string | number)[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((c) => `<td>${typeof c === 'number' ? num(c) : c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

const mark = (ok: boolean) => (ok ? '<span class="pass">pass</span>' : '<span class="fail">FAIL</span>');
/** Drop the XML prolog so the SVG can sit inline in HTML. */
const inline = (svg: string) => svg.replace(/^<\?xml[^>]*>\s*/, '');

function html(r: ShowcaseResults, svgs: Record<string, string>): string {
  const w = r.walkthrough;
  const strat = table(
    ['strategy', 'packets', 'bytes', 'grant maps', 'grant copies', 'bytes grant-copied', 'max grants mapped', 'mean µs mapped',
      'modelled hv µs (total)', 'modelled ns / packet', 'wall ms (measured)', 'checks'],
    r.workload.strategies.map((s) => [`<b>${s.strategy}</b>`, s.packets, s.bytes, s.grantMaps, s.grantCopies, s.copyBytes, s.maxGrantsMapped,
      num(s.meanMappedNs / 1000, 1), num(s.modelledNs / 1000, 1), Math.round(s.modelledNs / s.packets), num(s.wallMs, 1),
      s.failed.length === 0 ? mark(true) : `${mark(false)} ${esc(s.failed.join('; '))}`]),
  );
  const life = table(['invariant (clone-storm)', ...r.lifecycle.strategies], r.lifecycle.checks.map((c) => [
    esc(c.name), ...r.lifecycle.strategies.map((s) => {
      const x = c.results[s];
      return x === null || x === undefined ? '–' : `${mark(x.ok)}${x.ok ? '' : ` ${esc(x.detail)}`}`;
    }),
  ]));
  const nfs = table(['mode', 'corrupt bytes on the wire', 'data slot answered (µs)', 'retransmission left (µs)', 'guard faults', 'as expected'],
    r.nfs.map((n) => [`<b>${n.mode}</b>`, n.corruptBytesOnWire, num(n.answeredNs / 1000, 1), num(n.retransmitDepartNs / 1000, 1), n.guardFaults, mark(n.ok)]));
  const swap = table(['mode', 'reference', 'outcome', 'steps', 'min free pages', 'min_free_kbytes', 'as expected', 'detail'],
    r.swap.map((s) => [`<b>${s.mode}</b>`, esc(s.reference), s.outcome, s.steps, s.minFree, s.minFreeKbytes, mark(s.ok), esc(s.detail)]));
  const fig = (name: string) => (svgs[name] !== undefined ? `<figure>${inline(svgs[name]!)}</figure>` : '');
  const verdict = r.ok ? '<p class="pass">Every check passed.</p>'
    : `<p class="fail">${r.failures.length} check(s) failed:</p><ul>${r.failures.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pvnet report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.pass{color:#1a7f37;font-weight:600}.fail{color:#c00;font-weight:700}
figure{margin:1em 0}code{background:#f3f3f3;padding:0 3px}
</style></head><body>
<h1>pvnet: Xen paravirtual networking, emulated byte for byte</h1>
<p>Seed ${r.seed}${r.quick ? ' (quick run)' : ''}. Simulation numbers are deterministic (virtual time, seeded PRNG); wall times are measured on
the machine that wrote this report. Files: <code>results.json</code>, <code>capture.pcap</code> (${r.capture.frames} frames of the ${r.capture.strategy}
capture run, open with Wireshark), <code>timeline-*.jsonl</code> (raw lifecycle traces), the SVG charts.</p>
${verdict}
<h2>1. Ring and grant walkthrough</h2>
<p>${w.packets} packets, ${w.slots} TX slots, ${num(w.bytes)} bytes through the netif TX ring with grant copy; bytes checked in dom0:
${w.badBytes === 0 ? 'all equal' : `${w.badBytes} slot(s) differ`}; modelled hypervisor cost ${num(w.modelledNs)} ns; teardown audit
${w.auditFindings.length === 0 ? 'clean' : esc(w.auditFindings.join('; '))}.</p>
<h2>2. Four TX strategies, one mixed workload</h2>
<p>${esc(r.workload.description)}; ${r.workload.perSize} frames per size, sizes ${r.workload.sizes.join(', ')} bytes.</p>
${strat}
${fig('strategy-cost.svg')}
${fig('strategy-wall.svg')}
<h2>3. Lifecycle invariants</h2>
<p>Grants unmapped only at the final release, responses only after the unmap, no leak: clone-storm under each strategy.</p>
${life}
${Object.keys(svgs).filter((n) => n.startsWith('timeline-')).map(fig).join('\n')}
<h2>4. NFS retransmit, with and without destructors</h2>
<p>plain-ref answers on the first free (page references only): the guest rewrites its buffer and the retransmission carries the new bytes.</p>
${nfs}
<h2>5. Swap over the network, per reserve mode</h2>
${swap}
</body></html>
`;
}

/** Render the charts and write every report file into `dir` (created if missing). Returns the files written. */
export async function writeReport(dir: string, r: ShowcaseResults, pcap: Uint8Array): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const svgs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(showcaseCharts(r))) svgs[name] = await specToSvg(spec);
  const files: [string, string | Uint8Array][] = [
    ['index.html', html(r, svgs)],
    ['results.json', resultsJson(r) + '\n'],
    ...Object.entries(svgs),
    ...r.timelines.map((t): [string, string] => [`timeline-${t.strategy}.jsonl`, t.events.map((e) => JSON.stringify(e)).join('\n') + '\n']),
    ['capture.pcap', pcap],
  ];
  for (const [name, data] of files) writeFileSync(join(dir, name), data);
  return files.map(([n]) => n);
}
