/**
 * The fuzz loop: fast-check generates cases (case.ts), runCase judges each (run-case.ts); a failing case is
 * shrunk by fast-check and saved as a regression input under test/hostile/support/corpus/ (replayed by `npm test`,
 * see fuzz.test.ts). After a failure the loop carries on with the next seed until the case or time budget
 * is spent, so one run can report several distinct failures.
 *
 * A corpus file is JSON: { kind, message, found, case }; `runCase(case)` replays it (the injectors' seed
 * comes from the case itself). Files are named after the failure's kind and a hash of its message with the numbers
 * taken out, so one bug found twice is saved once.
 */
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { caseArb, type FuzzCase } from './case.ts';
import { runCase, type CaseResult, type FailureKind } from './run-case.ts';

export interface FuzzOptions {
  readonly seed: number;
  /** Cases to run (shrinking runs not counted). */
  readonly cases: number;
  /** Wall-clock budget in seconds. */
  readonly seconds: number;
  /** Where failing cases are saved; null: not saved. */
  readonly corpusDir: string | null;
  /** Called before each case is run (heartbeat for a watchdog), with the case; `shrinking` for shrink runs. */
  readonly onCase?: (index: number, c: FuzzCase, shrinking: boolean) => void;
}

export interface FailureRecord {
  readonly kind: FailureKind;
  readonly message: string;
  /** The fast-check seed of the run that found it. */
  readonly seed: number;
  readonly case: FuzzCase;
  readonly file: string | null;
}

export interface FuzzReport {
  readonly seed: number;
  casesRun: number;
  /** Cases that failed (one per distinct failure found, after shrinking). */
  readonly failures: FailureRecord[];
  readonly byKind: Record<FailureKind, number>;
  /** Cases whose run returned (a hung case's worker is killed, its numbers lost). */
  judged: number;
  /** Among judged cases: the vif ended disabled; the exact answer check applied. */
  disabled: number;
  exact: number;
  txSlots: number;
  txResponses: number;
  delivered: number;
  rxResponses: number;
  corruptions: number;
  stormEvents: number;
  ms: number;
}

export function newReport(seed: number): FuzzReport {
  return {
    seed, casesRun: 0, failures: [], byKind: { exception: 0, hang: 0, invariant: 0, leak: 0 },
    judged: 0, disabled: 0, exact: 0, txSlots: 0, txResponses: 0, delivered: 0, rxResponses: 0, corruptions: 0, stormEvents: 0, ms: 0,
  };
}

/** A failure's identity: its kind and message without numbers. */
export function failureSignature(kind: string, message: string): string {
  const firstLine = message.split('\n')[0] ?? '';
  return createHash('sha256').update(`${kind}:${firstLine.replace(/[0-9]+/g, 'N')}`).digest('hex').slice(0, 12);
}

/** Save a failing case; returns the file path (an existing file for the same failure is kept). */
export function saveCase(dir: string, rec: Omit<FailureRecord, 'file'>): string {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  // Hangs all read alike; the shrunk case tells them apart.
  const sig = rec.kind === 'hang' ? failureSignature(rec.kind, JSON.stringify(rec.case)) : failureSignature(rec.kind, rec.message);
  const file = join(dir, `${rec.kind}-${sig}.json`);
  if (!existsSync(file)) {
    const body = { kind: rec.kind, message: rec.message, fcSeed: rec.seed, found: new Date().toISOString().slice(0, 10), case: rec.case };
    writeFileSync(file, `${JSON.stringify(body, null, 1)}\n`);
  }
  return file;
}

function account(report: FuzzReport, r: CaseResult): void {
  const s = r.stats;
  report.judged++;
  if (s.disabled) report.disabled++;
  if (s.exact) report.exact++;
  report.txSlots += s.slotsWritten ?? 0;
  report.txResponses += s.txResponses ?? 0;
  report.delivered += s.delivered ?? 0;
  report.rxResponses += s.rxResponses ?? 0;
  report.corruptions += s.corruptions ?? 0;
  report.stormEvents += s.storms ?? 0;
}

/** Run the fuzz loop; never throws for a failing case (it is recorded). */
export function fuzz(opts: FuzzOptions, report: FuzzReport = newReport(opts.seed)): FuzzReport {
  const t0 = Date.now();
  const deadline = t0 + opts.seconds * 1000;
  const seen = new Set(report.failures.map((f) => failureSignature(f.kind, f.message)));
  let seed = opts.seed >>> 0;
  while (report.casesRun < opts.cases && Date.now() < deadline) {
    let shrinking = false;
    let last: CaseResult | null = null;
    const runSeed = seed;
    const prop = fc.property(caseArb, (c) => {
      opts.onCase?.(report.casesRun, c, shrinking);
      if (!shrinking) report.casesRun++;
      const r = runCase(c);
      if (!shrinking) account(report, r);
      if (!r.ok) {
        shrinking = true;
        last = r;
        throw new Error(`${r.kind}: ${r.message}`);
      }
      return true;
    });
    const budget = Math.max(1, opts.cases - report.casesRun);
    const details = fc.check(prop, {
      seed, numRuns: budget, interruptAfterTimeLimit: Math.max(1, deadline - Date.now()), markInterruptAsFailure: false,
      endOnFailure: false,
    });
    seed = (seed + 0x9e3779b9) >>> 0;
    if (!details.failed || details.counterexample === null) break;
    const shrunk = details.counterexample[0] as FuzzCase;
    // Re-run the shrunk case to record its own failure (shrinking keeps any failure, not the same one).
    const again = runCase(shrunk);
    const res: CaseResult = again.ok ? last! : again;
    const kind = res.kind!;
    const message = res.message ?? '';
    const sig = failureSignature(kind, message);
    if (seen.has(sig)) continue;
    seen.add(sig);
    report.byKind[kind]++;
    const rec = { kind, message, seed: runSeed, case: shrunk };
    const file = opts.corpusDir === null ? null : saveCase(opts.corpusDir, rec);
    report.failures.push({ ...rec, file });
  }
  report.ms += Date.now() - t0;
  return report;
}
