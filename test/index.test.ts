import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import * as pvnet from '../src/index.ts';

const LAYERS = ['abi', 'hv', 'mm', 'skb', 'net', 'drivers/netfront', 'drivers/netback', 'sim', 'report'];

test('index: every runtime export of every layer index is reachable from src/index.ts, with the same value', async () => {
  const api = pvnet as Record<string, unknown>;
  const missing: string[] = [];
  const differs: string[] = [];
  for (const layer of LAYERS) {
    const file = new URL(`../src/${layer}/index.ts`, import.meta.url);
    if (!existsSync(file)) continue;
    const mod = (await import(file.href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (!(name in api)) missing.push(`${layer}:${name}`);
      else if (api[name] !== value) differs.push(`${layer}:${name}`);
    }
  }
  assert.equal(missing, [], `not re-exported: ${missing.join(', ')}`);
  assert.equal(differs, [], `exported under the same name with another value: ${differs.join(', ')}`);
});

test('index: the typed errors are exported and carry stable codes', () => {
  const e = new pvnet.PageFault(1, 2, true, 'test');
  assert.ok(e instanceof pvnet.PvnetError);
  assert.is(e.code, 'ERR_PAGE_FAULT');
});

test.run();
