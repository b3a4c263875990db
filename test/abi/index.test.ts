import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as abi from '../../src/abi/index.ts';
import * as page from '../../src/abi/page.ts';
import * as xen from '../../src/abi/xen.ts';
import * as grantTable from '../../src/abi/grant_table.ts';
import * as eventChannel from '../../src/abi/event_channel.ts';
import * as xenbus from '../../src/abi/xenbus.ts';
import * as layout from '../../src/abi/layout.ts';
import * as ring from '../../src/abi/ring.ts';
import * as netif from '../../src/abi/netif.ts';
import * as netifParse from '../../src/abi/netif_parse.ts';

const modules = { page, xen, grantTable, eventChannel, xenbus, layout, ring, netif, netifParse };

test('abi/index: every value each abi module exports is re-exported by name, unchanged', () => {
  const exported = abi as Record<string, unknown>;
  for (const [name, mod] of Object.entries(modules)) {
    for (const [key, value] of Object.entries(mod)) {
      assert.ok(key in exported, `${name}.${key} is missing from src/abi/index.ts`);
      assert.is(exported[key], value, `${name}.${key}`);
    }
  }
});

test('abi/index: no two modules export the same name', () => {
  const seen = new Map<string, string>();
  for (const [name, mod] of Object.entries(modules)) {
    for (const key of Object.keys(mod)) {
      assert.not.ok(seen.has(key), `${key} exported by both ${seen.get(key)} and ${name}`);
      seen.set(key, name);
    }
  }
});

test.run();
