/**
 * The showcase as text for a terminal (about 100 columns): what `pvnet demo` / `npm start` prints.
 */

import type { ShowcaseResults } from './showcase.ts';

const n0 = (n: number) => Math.round(n).toLocaleString('en-US');
const n1 = (n: number) => n.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

function columns(head: string[], rows: string[][], indent = '   '): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => indent + r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), ...rows.map(line)];
}

export function terminalReport(r: ShowcaseResults, outDir: string | null): string[] {
  const out: string[] = [];
  const w = r.walkthrough;
  out.push('pvnet: Xen paravirtual networking, emulated byte for byte (netfront, netback, grant tables, rings)', '');
  out.push(`1. Ring walkthrough: ${w.packets} packets, ${w.slots} slots through the TX ring with grant copy; bytes in dom0 ` +
    `${w.badBytes === 0 ? 'all equal' : `differ in ${w.badBytes} slot(s)`}; audit ${w.auditFindings.length === 0 ? 'clean' : 'NOT clean'}`, '');

  out.push(`2. Four TX strategies, one mixed workload (seed ${r.seed}): ${r.workload.sizes[0]} B .. 64 KiB, ${r.workload.perSize} frames per size;`,
    '   every frame cloned to a dom0 tap, 2/3 forwarded guest to guest, 1/3 delivered to a dom0 socket');
  out.push(...columns(
    ['strategy', 'packets', 'grant maps', 'grant copies', 'max mapped', 'mean µs mapped', 'modelled hv µs', 'ns/packet', 'wall ms*', 'checks'],
    r.workload.strategies.map((s) => [s.strategy, n0(s.packets), n0(s.grantMaps), n0(s.grantCopies), n0(s.maxGrantsMapped),
      n1(s.meanMappedNs / 1000), n1(s.modelledNs / 1000), n0(s.modelledNs / s.packets), n1(s.wallMs), s.failed.length === 0 ? 'pass' : 'FAIL']),
  ));
  out.push('   * wall ms: measured on this machine (one thread); the rest is deterministic', '');

  out.push(`3. Lifecycle invariants (clone-storm: a slow tap holds a clone of every packet)`);
  const strategies = r.lifecycle.strategies;
  out.push(...columns(['', ...strategies], r.lifecycle.checks.map((c) => [c.name, ...strategies.map((s) => {
    const x = c.results[s];
    return x === null || x === undefined ? '-' : x.ok ? 'pass' : 'FAIL';
  })])));
  out.push('');

  out.push('4. NFS retransmit: the guest rewrites its buffer when answered; a retransmission is still queued');
  out.push(...columns(['mode', 'corrupt bytes on wire', 'answered at µs', 'retransmit left at µs', 'expected'],
    r.nfs.map((x) => [x.mode, n0(x.corruptBytesOnWire), n1(x.answeredNs / 1000), n1(x.retransmitDepartNs / 1000), x.ok ? 'pass' : 'FAIL'])));
  out.push('   plain-ref = completion on the first free, no destructor: the corruption reproduces', '');

  out.push(`5. Swap over the network under a flood, per reserve mode${r.quick ? ' (quick: target 1× RAM)' : ''}`);
  out.push(...columns(['mode', 'ref', 'outcome', 'steps', 'min free pages', 'expected'],
    r.swap.map((x) => [x.mode, x.reference, x.outcome, n0(x.steps), n0(x.minFree), x.ok ? 'pass' : 'FAIL'])));
  out.push('');

  if (outDir !== null) {
    out.push(`Report: ${outDir}/index.html (charts inline), results.json, strategy-cost.svg, strategy-wall.svg,`,
      `        timeline-map.svg, timeline-zerocopy.svg (+ .jsonl traces), capture.pcap (${r.capture.frames} frames)`);
  }
  out.push(r.ok ? 'All checks passed.' : `${r.failures.length} check(s) FAILED:`);
  for (const f of r.failures.slice(0, 10)) out.push(`  ${f}`);
  return out;
}
