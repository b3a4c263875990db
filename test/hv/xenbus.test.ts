import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  XenbusStateConnected, XenbusStateInitialising, XenbusStateInitWait, XenbusStateUnknown,
} from '../../src/abi/xenbus.ts';
import { EACCES } from '../../src/hv/errno.ts';
import {
  backendPath, frontendPath, xenbusCreateDevice, xenbusExists, xenbusGather, xenbusPrintf, xenbusRead,
  xenbusReadState, xenbusReadUnsigned, xenbusScanfInt, xenbusScanfUint, xenbusSwitchState,
} from '../../src/hv/xenbus.ts';
import { XBT_NIL } from '../../src/hv/xenstore.ts';
import { testMachine } from '../support/machine.ts';

test('xenbus: frontend and backend paths follow REFERENCE §3.1', () => {
  assert.is(frontendPath(5, 'vif', 0), '/local/domain/5/device/vif/0');
  assert.is(backendPath(0, 'vif', 5, 0), '/local/domain/0/backend/vif/5/0');
});

test('xenbus: the toolstack creates both directories with crossed read permissions and Initialising states', () => {
  const t = testMachine();
  const xs = t.hv.xs;
  assert.is(xenbusCreateDevice(xs, 0, { type: 'vif', frontendId: 1, backendId: 0, devid: 0, frontendKeys: { mac: '00:16:3e:00:00:01' } }), 0);
  const fe = frontendPath(1, 'vif', 0);
  const be = backendPath(0, 'vif', 1, 0);
  assert.is(xenbusRead(xs, 1, XBT_NIL, fe, 'backend'), be);
  assert.is(xenbusRead(xs, 1, XBT_NIL, be, 'frontend'), fe, 'the guest may read its backend directory');
  assert.is(xenbusReadState(xs, 1, be), XenbusStateInitialising);
  assert.is(xenbusReadState(xs, 0, fe), XenbusStateInitialising);
  assert.is(xenbusRead(xs, 0, XBT_NIL, fe, 'mac'), '00:16:3e:00:00:01');
  assert.is(xenbusPrintf(xs, 1, XBT_NIL, be, 'state', 4), -EACCES, 'but may not write it');
  assert.is(xenbusPrintf(xs, 1, XBT_NIL, fe, 'tx-ring-ref', 8), 0);
  assert.is(xenbusScanfUint(xs, 0, XBT_NIL, fe, 'tx-ring-ref'), 8);
  t.audit();
});

test('xenbus: typed readers return undefined for missing and garbage keys, never throw', () => {
  const t = testMachine();
  const xs = t.hv.xs;
  const d = '/local/domain/1/k';
  for (const [k, v] of [['u', '42'], ['neg', '-1'], ['junk', '12abc'], ['big', '4294967296'], ['sp', ' 7'], ['i', '-5']]) {
    xs.write(1, XBT_NIL, `${d}/${k}`, v!);
  }
  assert.is(xenbusScanfUint(xs, 1, XBT_NIL, d, 'u'), 42);
  assert.is(xenbusScanfUint(xs, 1, XBT_NIL, d, 'neg'), undefined);
  assert.is(xenbusScanfUint(xs, 1, XBT_NIL, d, 'junk'), undefined);
  assert.is(xenbusScanfUint(xs, 1, XBT_NIL, d, 'big'), undefined);
  assert.is(xenbusScanfUint(xs, 1, XBT_NIL, d, 'sp'), undefined);
  assert.is(xenbusScanfUint(xs, 1, XBT_NIL, d, 'missing'), undefined);
  assert.is(xenbusScanfInt(xs, 1, XBT_NIL, d, 'i'), -5);
  assert.is(xenbusReadUnsigned(xs, 1, d, 'junk', 9), 9);
  assert.is(xenbusReadUnsigned(xs, 1, d, 'u', 9), 42);
  assert.ok(xenbusExists(xs, 1, XBT_NIL, d, 'u'));
  assert.not.ok(xenbusExists(xs, 1, XBT_NIL, d, 'nope'));
  const g = xenbusGather(xs, 1, XBT_NIL, d, { u: 'uint', i: 'int', junk: 'uint', sp: 'string', none: 'string' });
  assert.equal(g, { u: 42, i: -5, junk: undefined, sp: ' 7', none: undefined });
  t.audit();
});

test('xenbus: a missing or garbage state reads as XenbusStateUnknown', () => {
  const t = testMachine();
  const xs = t.hv.xs;
  assert.is(xenbusReadState(xs, 1, '/local/domain/1/none'), XenbusStateUnknown);
  xs.write(1, XBT_NIL, '/local/domain/1/dev/state', '9');
  assert.is(xenbusReadState(xs, 1, '/local/domain/1/dev'), XenbusStateUnknown);
  xs.write(1, XBT_NIL, '/local/domain/1/dev/state', 'Connected');
  assert.is(xenbusReadState(xs, 1, '/local/domain/1/dev'), XenbusStateUnknown);
  t.audit();
});

test('xenbus: switching state writes once and does not rewrite (or fire) an unchanged state', () => {
  const t = testMachine();
  const xs = t.hv.xs;
  const dir = '/local/domain/1/device/vif/0';
  const log: string[] = [];
  xs.watch(0, `${dir}/state`, 'st', (p) => log.push(xenbusRead(xs, 0, XBT_NIL, p, '') ?? 'gone'));
  assert.is(xenbusSwitchState(xs, 1, dir, XenbusStateInitWait), 0);
  assert.is(xenbusSwitchState(xs, 1, dir, XenbusStateInitWait), 0);
  assert.is(xenbusSwitchState(xs, 1, dir, XenbusStateConnected), 0);
  xs.processWatches();
  assert.equal(log, ['4', '4', '4'], 'registration fire plus two changes, read at delivery time');
  assert.is(xenbusReadState(xs, 0, dir), XenbusStateConnected);
  assert.is(xs.openTransactions, 0);
  t.audit();
});

test.run();
