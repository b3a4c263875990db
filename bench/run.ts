/**
 * Runs the mitata benchmarks: every bench/*.bench.ts registers its benches on import; this file imports them
 * (all, or those whose file name contains one of the arguments) and runs mitata once.
 *
 *   npm run bench                 # everything
 *   npx tsx bench/run.ts skb ring # only bench/skb.bench.ts and bench/ring.bench.ts
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { run } from 'mitata';

const dir = fileURLToPath(new URL('.', import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
for (const f of files) await import(pathToFileURL(dir + f).href);
await run();
