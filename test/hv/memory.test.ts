import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MachineMemory } from '../../src/hv/memory.ts';
import { PageFault, InvalidArgument, RefUnderflow } from '../../src/errors.ts';
import { DOMID_INVALID, DOMID_XEN } from '../../src/abi/xen.ts';
import { throwsType } from '../support/assert.ts';

function machine() {
  const mem = new MachineMemory(64);
  mem.registerDomain(0);
  mem.registerDomain(1);
  const f0 = mem.populate(0, 8);
  const f1 = mem.populate(1, 8);
  return { mem, f0, f1 };
}

test('memory: a domain reads and writes the frames it owns', () => {
  const { mem, f1 } = machine();
  const src = Uint8Array.of(1, 2, 3, 4);
  mem.write(1, f1[0]!, 100, src, 0, 4);
  const dst = new Uint8Array(4);
  mem.read(1, f1[0]!, 100, dst, 0, 4);
  assert.equal([...dst], [1, 2, 3, 4]);
  assert.is(mem.ownedBy(1), 8);
});

test('memory: touching a foreign frame without a mapping is a PageFault', () => {
  const { mem, f1 } = machine();
  const dst = new Uint8Array(1);
  throwsType(() => mem.read(0, f1[0]!, 0, dst, 0, 1), PageFault, 'ERR_PAGE_FAULT');
  throwsType(() => mem.checkWrite(0, f1[0]!), PageFault);
});

test('memory: a read-only foreign mapping allows reads and faults writes; unmapping faults reads again', () => {
  const { mem, f1 } = machine();
  const f = f1[2]!;
  mem.addForeignMapping(0, f, false);
  assert.ok(mem.canRead(0, f));
  assert.not.ok(mem.canWrite(0, f));
  assert.throws(() => mem.checkWrite(0, f), /mapped read-only/);
  mem.removeForeignMapping(0, f, false);
  throwsType(() => mem.checkRead(0, f), PageFault);
  throwsType(() => mem.removeForeignMapping(0, f, false), RefUnderflow);
});

test('memory: the hypervisor may touch every frame, including free ones', () => {
  const { mem, f1 } = machine();
  assert.ok(mem.canWrite(DOMID_XEN, f1[0]!));
  assert.ok(mem.canRead(DOMID_XEN, 63));
});

test('memory: a released frame is scrubbed, free, and no longer readable by its old owner', () => {
  const { mem, f1 } = machine();
  const f = f1[0]!;
  mem.fill(1, f, 0, 4096, 0xa5);
  mem.releaseFrame(f);
  assert.is(mem.owner[f], DOMID_INVALID);
  assert.is(mem.bytes[f * 4096 + 17], 0);
  assert.throws(() => mem.checkRead(1, f), /frame is free/);
  throwsType(() => mem.releaseFrame(f), InvalidArgument);
});

test('memory: a frame still mapped by another domain cannot be released or transferred', () => {
  const { mem, f1 } = machine();
  mem.addForeignMapping(0, f1[1]!, true);
  assert.throws(() => mem.releaseFrame(f1[1]!), /still mapped/);
  assert.throws(() => mem.transferFrame(f1[1]!, 0), /still mapped/);
  mem.removeForeignMapping(0, f1[1]!, true);
  mem.transferFrame(f1[1]!, 0);
  assert.is(mem.owner[f1[1]!], 0);
  assert.is(mem.ownedBy(0), 9);
});

test('memory: a span that crosses the end of the frame is refused', () => {
  const { mem, f0 } = machine();
  throwsType(() => mem.fill(0, f0[0]!, 4000, 97, 0), InvalidArgument);
});

test('memory: populate beyond the pool throws OutOfResources; allocFrame returns -1', () => {
  const { mem } = machine();
  assert.throws(() => mem.populate(0, 1000), /out of resources/);
  while (mem.allocFrame(0) !== -1);
  assert.is(mem.freeFrames, 0);
  assert.is(mem.allocFrame(0), -1);
});

test.run();
