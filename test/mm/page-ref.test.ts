import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RefUnderflow } from '../../src/errors.ts';
import { MachineMemory } from '../../src/hv/memory.ts';
import { BadPageState } from '../../src/mm/errors.ts';
import { getPageRef, putPageRef } from '../../src/mm/page-ref.ts';
import { throwsType } from '../support/assert.ts';

function machine() {
  const mem = new MachineMemory(4);
  mem.registerDomain(1);
  mem.registerDomain(2);
  const [own, stray] = mem.populate(1, 2);
  const [foreign] = mem.populate(2, 1);
  return { mem, own: own!, stray: stray!, foreign: foreign! };
}

test('page-ref: put_page reports the last reference only for a managed page', () => {
  const { mem, own } = machine();
  mem.refcount[own] = 1;
  getPageRef(mem, own, true);
  assert.not.ok(putPageRef(mem, 1, own, true));
  assert.ok(putPageRef(mem, 1, own, true));
  assert.is(mem.refcount[own], 0);
});

test('page-ref: a foreign frame only has its count moved, down to zero', () => {
  const { mem, foreign } = machine();
  getPageRef(mem, foreign, false);
  assert.not.ok(putPageRef(mem, 1, foreign, false));
  assert.is(mem.refcount[foreign], 0);
});

test('page-ref: underflow, get on a free managed page, and an own unmanaged page reaching zero are misuse', () => {
  const { mem, own, stray } = machine();
  throwsType(() => putPageRef(mem, 1, own, true), RefUnderflow);
  throwsType(() => getPageRef(mem, own, true), BadPageState);
  mem.refcount[stray] = 1;
  throwsType(() => putPageRef(mem, 1, stray, false), BadPageState);
  assert.is(mem.refcount[stray], 1, 'the count is left alone when it throws');
});

test.run();
