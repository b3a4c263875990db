/**
 * Plumbing shared by the conformance checks: counting and printing results, building and running the C
 * programs.
 */

import { spawnSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';

export class Reporter {
  passed = 0;
  failed = 0;
  private groupPassed = 0;
  private groupFailed = 0;
  private group = '';

  begin(group: string): void {
    this.group = group;
    this.groupPassed = 0;
    this.groupFailed = 0;
  }

  /** One check. Failures are printed at once, with their detail; passes are counted for the group line. */
  check(name: string, ok: boolean, detail?: () => string): boolean {
    if (ok) {
      this.passed++;
      this.groupPassed++;
    } else {
      this.failed++;
      this.groupFailed++;
      console.log(`not ok  ${this.group}: ${name}${detail ? `\n        ${detail().split('\n').join('\n        ')}` : ''}`);
    }
    return ok;
  }

  /** `actual` deep-equals `expected`. */
  same(name: string, actual: unknown, expected: unknown): boolean {
    return this.check(name, isDeepStrictEqual(actual, expected),
      () => `expected ${JSON.stringify(expected)}\nactual   ${JSON.stringify(actual)}`);
  }

  notCompared(name: string, why: string): void {
    console.log(`# not compared  ${this.group}: ${name}: ${why}`);
  }

  end(): void {
    const mark = this.groupFailed === 0 ? 'ok    ' : 'FAILED';
    console.log(`${mark}  ${this.group}: ${this.groupPassed} passed, ${this.groupFailed} failed`);
  }
}

/** Compile `source` (a file) into `output` with gcc; returns gcc's stderr on failure, '' on success. */
export function gcc(source: string, output: string, includeDir: string, defines: readonly string[] = []): string {
  const r = spawnSync('gcc', ['-std=gnu11', '-O1', '-Wall', '-Wextra', '-Wno-unused-parameter', ...defines.map((d) => `-D${d}`),
    '-I', includeDir, '-o', output, source], { encoding: 'utf8' });
  if (r.error) return String(r.error);
  return r.status === 0 ? '' : r.stderr || `gcc exited ${r.status}`;
}

/** Run a compiled ring_ops program on `script`; one parsed JSON object per output line. */
export function runC(binary: string, script: readonly string[]): Array<Record<string, unknown>> {
  const r = spawnSync(binary, [], { input: script.join('\n') + '\n', encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`${binary} failed (${r.status}): ${r.error ?? r.stderr}`);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}
