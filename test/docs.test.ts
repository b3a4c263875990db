/**
 * The docs cannot rot: every `pvnet` command shown in a fenced shell block of README.md or docs/*.md is run
 * here through the CLI entry point, in document order, in a scratch directory per document (so a command may
 * use a file an earlier command of the same document wrote). A command must exit 0 unless its line ends with a
 * comment `# exits N`. Lines may start with `$ ` and with `npx `.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.ts';
import type { CliIO } from '../src/cli/common.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

interface DocCommand { file: string; line: number; argv: string[]; expect: number }

/** Split a shell line into words (plain words and single- or double-quoted strings; no expansions). */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

export function commandsOf(file: string, text: string): DocCommand[] {
  const cmds: DocCommand[] = [];
  let inFence = false;
  let inShell = false;
  text.split('\n').forEach((raw, i) => {
    const fence = /^\s*```(\w*)/.exec(raw);
    if (fence) {
      inFence = !inFence;
      inShell = inFence && ['sh', 'bash', 'console', 'shell', ''].includes(fence[1]!);
      return;
    }
    if (!inShell) return;
    let line = raw.trim().replace(/^\$\s+/, '');
    let expect = 0;
    const ex = /#\s*exits\s+(\d+)\s*$/.exec(line);
    if (ex) expect = Number(ex[1]);
    line = line.replace(/\s+#.*$/, '');
    if (line.startsWith('npx ')) line = line.slice(4);
    if (!line.startsWith('pvnet ')) return;
    cmds.push({ file, line: i + 1, argv: words(line).slice(1), expect });
  });
  return cmds;
}

test('docs: the command extractor finds fenced pvnet commands, with $ and npx prefixes and # exits N', () => {
  const sample = ['```sh', '$ npx pvnet run tx-basic --mode map   # exits 1', 'npm test', '```', 'pvnet not-in-a-fence',
    '```json', 'pvnet inside-json', '```', '```', "pvnet ring decode 'a b'", '```'].join('\n');
  const c = commandsOf('x.md', sample);
  assert.equal(c.map((x) => x.argv), [['run', 'tx-basic', '--mode', 'map'], ['ring', 'decode', 'a b']]);
  assert.equal(c.map((x) => x.expect), [1, 0]);
});

test('docs: every pvnet command in README.md and docs/ runs and exits as shown', async () => {
  const failures: string[] = [];
  let ran = 0;
  const cwd = process.cwd();
  try {
    for (const file of docs) {
      const cmds = commandsOf(file, readFileSync(join(root, file), 'utf8'));
      if (cmds.length === 0) continue;
      process.chdir(mkdtempSync(join(tmpdir(), 'pvnet-docs-')));
      for (const c of cmds) {
        const err: string[] = [];
        const io: CliIO = { out: () => {}, err: (s) => err.push(s), isTTY: false };
        const rc = await main(c.argv, io);
        ran++;
        if (rc !== c.expect) failures.push(`${c.file}:${c.line} pvnet ${c.argv.join(' ')} → exit ${rc} (want ${c.expect}) ${err.join(' ')}`);
      }
    }
  } finally {
    process.chdir(cwd);
  }
  assert.equal(failures, []);
  assert.ok(ran > 0, 'the docs show no pvnet command at all');
});

test.run();
