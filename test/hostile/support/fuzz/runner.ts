/**
 * Fuzzing with a watchdog: the loop runs in a worker thread (worker.ts); this side counts its heartbeats
 * (one per case, and one per shrinking run) and, if a case makes no progress for `hangSeconds`, terminates
 * the worker, shrinks that case by hand (shrinkHang: each trial in a worker of its own, since a case that
 * never returns cannot be shrunk in-process), records it as a `hang` in the corpus, and starts a new worker
 * on the next seed with what is left of the budget. A synchronous infinite loop in
 * netback or the hypervisor is thus reported like any other failure instead of freezing the run.
 */
import { Worker } from 'node:worker_threads';
import { failureSignature, newReport, saveCase, type FuzzReport } from './engine.ts';
import type { FuzzCase } from './case.ts';
import type { CaseResult } from './run-case.ts';

export interface WatchdogOptions {
  readonly seed: number;
  readonly cases: number;
  readonly seconds: number;
  readonly corpusDir: string | null;
  /** A case running longer than this (wall clock) is a hang. */
  readonly hangSeconds: number;
  readonly log?: (line: string) => void;
}

type Msg = { t: 'case'; i: number; c: FuzzCase } | { t: 'beat' } | { t: 'done'; report: FuzzReport };

function merge(into: FuzzReport, from: FuzzReport): void {
  into.casesRun += from.casesRun;
  for (const f of from.failures) {
    if (into.failures.some((g) => failureSignature(g.kind, g.message) === failureSignature(f.kind, f.message))) continue;
    into.failures.push(f);
    into.byKind[f.kind]++;
  }
  for (const k of ['judged', 'disabled', 'exact', 'txSlots', 'txResponses', 'delivered', 'rxResponses', 'corruptions', 'stormEvents'] as const) {
    into[k] += from[k];
  }
}

/** One worker run: resolves with its report, or with the hung case. */
function once(opts: WatchdogOptions, seed: number, cases: number, seconds: number): Promise<{ report: FuzzReport | null; hung: FuzzCase | null; seen: number; error: string | null }> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('../workers/ts-boot.mjs', import.meta.url), {
      workerData: { entry: new URL('./worker.ts', import.meta.url).href, data: { seed, cases, seconds, corpusDir: opts.corpusDir } },
    });
    let last: FuzzCase | null = null;
    let lastAt = Date.now();
    let seen = 0;
    let settled = false;
    const finish = (v: { report: FuzzReport | null; hung: FuzzCase | null; error: string | null }) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      resolve({ ...v, seen });
    };
    const timer = setInterval(() => {
      if (Date.now() - lastAt > opts.hangSeconds * 1000) {
        void worker.terminate();
        finish({ report: null, hung: last, error: null });
      }
    }, 250);
    worker.on('message', (m: Msg) => {
      if (m.t === 'case') {
        last = m.c;
        lastAt = Date.now();
        seen++;
        if (seen % 500 === 0) opts.log?.(`  ${seen} cases`);
      } else if (m.t === 'beat') {
        lastAt = Date.now();
      } else {
        finish({ report: m.report, hung: null, error: null });
      }
    });
    worker.on('error', (e) => finish({ report: null, hung: last, error: `${e.name}: ${e.message}` }));
    worker.on('exit', (code) => finish({ report: null, hung: null, error: `worker exited with ${code}` }));
  });
}

/** Run one case in a worker: its result, or 'hang' if it does not return within `seconds`. */
export function runCaseInWorker(c: FuzzCase, seconds: number): Promise<CaseResult | 'hang'> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('../workers/ts-boot.mjs', import.meta.url), {
      workerData: { entry: new URL('./case-worker.ts', import.meta.url).href, data: { case: c } },
    });
    const timer = setTimeout(() => {
      void worker.terminate();
      resolve('hang');
    }, seconds * 1000);
    worker.on('message', (r: CaseResult) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(r);
    });
    worker.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, kind: 'exception', message: `${e.name}: ${e.message}`, stats: {} as CaseResult['stats'] });
    });
  });
}

/**
 * Shrink a hanging case by hand (fast-check cannot shrink a run that never returns): drop steps, then TX
 * slots, then switch off the case-level options, keeping each change under which the case still hangs.
 * At most `budget` trial runs, each in its own worker.
 */
export async function shrinkHang(c: FuzzCase, seconds: number, budget = 80): Promise<FuzzCase> {
  let best = c;
  let trials = 0;
  const hangs = async (x: FuzzCase) => trials++ < budget && (await runCaseInWorker(x, seconds)) === 'hang';
  for (let i = best.steps.length - 1; i >= 0; i--) {
    const x = { ...best, steps: best.steps.filter((_, j) => j !== i) };
    if (x.steps.length > 0 && (await hangs(x))) best = x;
  }
  for (let i = 0; i < best.steps.length; i++) {
    const st = best.steps[i]!;
    if (st.k !== 'tx') continue;
    for (let j = st.slots.length - 1; j >= 0 && st.slots.length > 1; j--) {
      const cur = best.steps[i] as typeof st;
      if (cur.slots.length <= 1) break;
      const steps = [...best.steps];
      steps[i] = { ...cur, slots: cur.slots.filter((_, k) => k !== j) };
      const x = { ...best, steps };
      if (await hangs(x)) best = x;
    }
  }
  for (const patch of [{ corrupt: 0 }, { hold: false }, { split: false }, { ringStart: 0 }, { rxNotify: true }] as Partial<FuzzCase>[]) {
    const x = { ...best, ...patch };
    if (JSON.stringify(x) !== JSON.stringify(best) && (await hangs(x))) best = x;
  }
  return best;
}

export async function fuzzWithWatchdog(opts: WatchdogOptions): Promise<FuzzReport> {
  const report = newReport(opts.seed);
  const t0 = Date.now();
  let seed = opts.seed >>> 0;
  for (let restarts = 0; restarts < 100; restarts++) {
    const left = opts.seconds - (Date.now() - t0) / 1000;
    const cases = opts.cases - report.casesRun;
    if (left <= 0 || cases <= 0) break;
    const r = await once(opts, seed, cases, left);
    if (r.report !== null) {
      merge(report, r.report);
      break;
    }
    report.casesRun += r.seen;
    if (r.hung === null && r.error !== null) opts.log?.(`  worker failed before any case: ${r.error}`);
    const kind = r.error === null ? 'hang' : 'exception';
    const message = r.error ?? `no progress for ${opts.hangSeconds} s (a loop that never returns to the clock)`;
    if (r.hung !== null) {
      const small = kind === 'hang' ? await shrinkHang(r.hung, Math.min(opts.hangSeconds, 3)) : r.hung;
      const known = report.failures.some((f) => JSON.stringify(f.case) === JSON.stringify(small));
      if (!known) {
        const file = opts.corpusDir === null ? null : saveCase(opts.corpusDir, { kind, message, seed, case: small });
        report.failures.push({ kind, message, seed, case: small, file });
        report.byKind[kind]++;
        opts.log?.(`  ${kind}: ${message}${file === null ? '' : ` → ${file}`}`);
      }
    }
    seed = (seed + 0x7f4a7c15) >>> 0;
  }
  report.ms = Date.now() - t0;
  return report;
}
