/**
 * The conformance suite: pvnet against C built on the real Xen public headers (Debian libxen-dev).
 *
 *   npm run test:conformance          (tsx test/conformance/run.ts)
 *
 * (a) layout: every constant, struct size, member offset/size/signedness, codec and ring type that a
 *     src/abi module exports, compared with gcc's values (layout.ts); and every netif.h macro and struct and
 *     every ring.h macro has a pvnet counterpart.
 * (d) differential: the same operation scripts (fixed scenarios and seeded random ones, indices near 2^32,
 *     hostile index writes) run through the ring.h macros in C (c/ring_ops.c) and through pvnet's ring
 *     library; every result, private index, shared index and the page hash must agree after every step.
 * (b) C writes a page, pvnet reads it (ring decode and the library); (c) pvnet writes a page (library and
 *     ring encode), C reads it (exchange.ts).
 * (e) the pcap captures pvnet writes, read by tshark: Ethernet/IPv4/UDP or TCP, nothing malformed, frame
 *     counts and lengths equal to pvnet's own counters (pcap.ts; needs the Debian package tshark).
 *
 * Needs gcc and the Xen headers; without them it says which Debian package to install and fails. Prints one
 * line per group, every failure in full, and ends with `N passed, M failed`; exits non-zero on any failure.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Reporter, gcc, runC } from './support.ts';
import { layoutProgram, netifHeaderNames, planLayout, ringHeaderNames, syntheticRings, type CCheck } from './layout.ts';
import { fixedScripts, randomScript, runPvnet, type RingName } from './ring_ops.ts';
import { cWritesPvnetReads, pvnetWritesCReads } from './exchange.ts';
import { pcapConformance, tsharkVersion } from './pcap.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const cDir = join(here, 'c');
const abiDir = fileURLToPath(new URL('../../src/abi/', import.meta.url));
const RANDOM_SCRIPTS = 40;
const RANDOM_LENGTH = 120;

function die(message: string): never {
  console.log(message);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

/** gcc is there, and the Xen headers are; returns the paths of io/netif.h and io/ring.h. */
function preflight(): { netifH: string; ringH: string } {
  const v = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) {
    die('conformance: gcc was not found. Install the Debian package gcc (apt-get install -y gcc).');
  }
  const deps = spawnSync('gcc', ['-M', '-I', cDir, '-x', 'c', '-'], { input: '#include "prelude.h"\n', encoding: 'utf8' });
  if (deps.status !== 0) {
    const why = /fatal error: (.*)/.exec(deps.stderr)?.[1] ?? deps.stderr.trim();
    die(`conformance: the Xen public headers are missing (${why}). `
      + 'Install the Debian package libxen-dev (apt-get install -y libxen-dev).');
  }
  const files = deps.stdout.replace(/\\\n/g, ' ').split(/\s+/);
  const find = (suffix: string) => files.find((f) => f.endsWith(suffix)) ?? die(`conformance: gcc did not report ${suffix}`);
  return { netifH: find('/xen/io/netif.h'), ringH: find('/xen/io/ring.h') };
}

async function abiModules(): Promise<Record<string, Record<string, unknown>>> {
  const mods: Record<string, Record<string, unknown>> = {};
  for (const f of readdirSync(abiDir).filter((x) => x.endsWith('.ts') && x !== 'index.ts').sort()) {
    mods[f.replace(/\.ts$/, '')] = { ...(await import(pathToFileURL(join(abiDir, f)).href)) as Record<string, unknown> };
  }
  return mods;
}

/**
 * Compile the generated layout program. A check whose C expression does not compile (a pvnet name the
 * headers lack) fails on its own, with gcc's message, and the rest are compiled again without it.
 */
function buildLayout(rep: Reporter, checks: CCheck[], decls: string, stringArrays: string[], tmp: string): { bin: string; checks: CCheck[] } | undefined {
  let live = checks;
  for (let attempt = 0; attempt < 50; attempt++) {
    const { source, firstLine } = layoutProgram(live, decls, stringArrays);
    const src = join(tmp, 'layout.c');
    const bin = join(tmp, 'layout');
    writeFileSync(src, source);
    const err = gcc(src, bin, cDir);
    if (err === '') return { bin, checks: live };
    const bad = new Map<number, string>();
    for (const m of err.matchAll(/layout\.c:(\d+):\d+: error: (.*)/g)) {
      const i = Number(m[1]) - firstLine;
      if (i >= 0 && i < live.length && !bad.has(i)) bad.set(i, m[2]!);
    }
    if (bad.size === 0) {
      rep.check('the generated layout program compiles', false, () => err.split('\n').slice(0, 20).join('\n'));
      return undefined;
    }
    for (const [i, why] of bad) rep.check(live[i]!.key, false, () => `C expression ${live[i]!.expr} does not compile: ${why}`);
    live = live.filter((_c, i) => !bad.has(i));
  }
  return undefined;
}

async function layout(rep: Reporter, tmp: string, headers: { netifH: string; ringH: string }): Promise<void> {
  rep.begin('layout (a)');
  const mods = await abiModules();
  const plan = planLayout(mods);
  const decls = syntheticRings(plan);
  for (const p of plan.problems) rep.check(p, false);
  for (const s of plan.skips) rep.notCompared(s.name, s.why);
  const stringArrays = Object.values(mods).flatMap((m) => Object.entries(m))
    .filter(([n, v]) => Array.isArray(v) && /^[A-Z]/.test(n) && v.every((s) => typeof s === 'string')).map(([n]) => n);
  const built = buildLayout(rep, plan.checks, decls, stringArrays, tmp);
  if (built !== undefined) {
    const r = spawnSync(built.bin, [], { encoding: 'utf8' });
    const values = JSON.parse(r.stdout) as Record<string, number | string>;
    for (const c of built.checks) {
      rep.check(c.key, values[c.key] === c.expected, () => `pvnet ${JSON.stringify(c.expected)}, C (${c.expr}) ${JSON.stringify(values[c.key])}`);
    }
  }
  rep.end();

  rep.begin('header names (a, reverse)');
  const all = Object.assign({}, ...Object.values(mods)) as Record<string, unknown>;
  for (const n of netifHeaderNames(headers.netifH, mods['netif'] ?? {})) rep.check(n.name, n.ok, () => n.detail);
  const ring = ringHeaderNames(headers.ringH, all);
  for (const s of ring.skips) rep.notCompared(s.name, s.why);
  for (const n of ring.checks) rep.check(n.name, n.ok, () => n.detail);
  rep.end();
}

function differential(rep: Reporter, bins: Record<RingName, string>): void {
  for (const ring of ['tx', 'rx'] as const) {
    rep.begin(`${ring} ring differential (C macros vs pvnet, every step)`);
    const scripts = [
      ...fixedScripts(ring),
      ...Array.from({ length: RANDOM_SCRIPTS }, (_x, i) => ({ name: `random seed ${i + 1}`, script: randomScript(ring, i + 1, RANDOM_LENGTH) })),
    ];
    for (const { name, script } of scripts) {
      const c = runC(bins[ring], script);
      const ts = runPvnet(ring, script);
      rep.check(`${name}: one result per step`, c.length === script.length && ts.length === script.length,
        () => `${script.length} steps, C ${c.length} lines, pvnet ${ts.length}`);
      let reported = 0;
      script.forEach((line, i) => {
        const ok = rep.same(`${name}: step ${i} '${line}'`, ts[i], c[i]);
        if (!ok && ++reported >= 3) throw new Error(`${ring} ${name}: stopping after 3 differences`);
      });
    }
    rep.end();
  }
}

async function mainRun(): Promise<number> {
  const headers = preflight();
  const tmp = mkdtempSync(join(tmpdir(), 'pvnet-conformance-'));
  const rep = new Reporter();
  try {
    await layout(rep, tmp, headers);

    rep.begin('build ring_ops.c');
    const bins = { tx: join(tmp, 'ring_ops_tx'), rx: join(tmp, 'ring_ops_rx') };
    let built = true;
    for (const ring of ['tx', 'rx'] as const) {
      const err = gcc(join(cDir, 'ring_ops.c'), bins[ring], cDir, [`RING_${ring.toUpperCase()}`]);
      built = rep.check(`ring_ops.c compiles for ${ring}`, err === '', () => err) && built;
    }
    rep.end();
    if (built) {
      try {
        differential(rep, bins);
      } catch (e) {
        rep.check('differential', false, () => (e as Error).message);
        rep.end();
      }
      rep.begin('C writes, pvnet reads (b)');
      await cWritesPvnetReads(rep, bins, tmp);
      rep.end();
      rep.begin('pvnet writes, C reads (c)');
      await pvnetWritesCReads(rep, bins, tmp);
      rep.end();
    }
    rep.begin('pcap read by tshark (e)');
    if (rep.check('tshark is installed', tsharkVersion() !== null,
      () => 'tshark was not found. Install the Debian package tshark (apt-get install -y tshark).')) {
      pcapConformance(rep, tmp);
    }
    rep.end();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`${rep.passed} passed, ${rep.failed} failed`);
  return rep.failed === 0 ? 0 : 1;
}

process.exitCode = await mainRun().catch((e: Error) => {
  console.log(`conformance: ${e.stack ?? e.message}`);
  console.log('0 passed, 1 failed');
  return 1;
});
