/**
 * get_page / put_page on `mem.refcount`, shared by the allocators that implement PageAllocator. The allocator
 * says whether it manages the frame; these helpers move the count, catch misuse, and tell the allocator when
 * the last reference to one of its pages is gone so that it can put the page back on its free list.
 */
import type { MachineMemory } from '../hv/memory.ts';
import { RefUnderflow } from '../errors.ts';
import { BadPageState } from './errors.ts';

/** get_page(): +1. A page the allocator manages must be allocated (refcount > 0). */
export function getPageRef(mem: MachineMemory, frame: number, managed: boolean): void {
  const rc = mem.refcount;
  if (managed && rc[frame] === 0) throw new BadPageState(frame, 'get_page on a free page');
  rc[frame]!++;
}

/**
 * put_page(): −1. Returns true when that was the last reference to a page the allocator manages (the caller
 * frees it). A foreign frame (another domain's) only has its count moved; a frame of the allocator's own
 * domain that it does not manage may not reach zero through it (it would leak, or land in the wrong pool).
 */
export function putPageRef(mem: MachineMemory, domid: number, frame: number, managed: boolean): boolean {
  const rc = mem.refcount;
  const count = rc[frame]!;
  if (!(count > 0)) throw new RefUnderflow(`put_page on frame ${frame} with refcount ${count}`);
  if (count === 1 && !managed && mem.owner[frame] === domid) {
    throw new BadPageState(frame, `last reference dropped through an allocator of dom${domid} that does not manage it`);
  }
  rc[frame] = count - 1;
  return count === 1 && managed;
}
