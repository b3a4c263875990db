#!/usr/bin/env node
// Runs every uvu suite under test/ (except the conformance suite, which needs gcc and the Xen headers) in
// one process through tsx, streams uvu's report, and ends with the line CI reads: `N passed, M failed`.
// Usage: node test/run.mjs [pattern]   (pattern: a regex over file paths, default every *.test.ts)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const uvuBin = fileURLToPath(new URL('../node_modules/uvu/bin.js', import.meta.url));
const pattern = process.argv[2] ?? '\\.test\\.ts$';
const child = spawn(process.execPath, ['--import', 'tsx', uvuBin, 'test', pattern, '-i', 'conformance', '-i', 'support', '-c', 'false'], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, FORCE_COLOR: '0' },
});
let tail = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4096);
});
child.on('close', (code) => {
  const total = Number(/Total:\s+(\d+)/.exec(tail)?.[1] ?? NaN);
  const passed = Number(/Passed:\s+(\d+)/.exec(tail)?.[1] ?? NaN);
  const skipped = Number(/Skipped:\s+(\d+)/.exec(tail)?.[1] ?? 0);
  if (Number.isNaN(total) || Number.isNaN(passed)) {
    console.log('0 passed, 1 failed');
    process.exit(code || 1);
  }
  const failed = total - passed - skipped + (code !== 0 && total === passed + skipped ? 1 : 0);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code ?? 1);
});
