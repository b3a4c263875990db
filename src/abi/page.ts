/**
 * Pages as the ABI sees them: a byte window of XEN_PAGE_SIZE bytes somewhere in a buffer.
 *
 * The ABI layer knows nothing of domains, ownership or access rights; it only lays bytes out. A `PageRef`
 * bundles the three views over one backing buffer (bytes, a little-endian-capable DataView, and 32-bit words
 * for Atomics) plus the byte offset of the page inside it. The hypervisor hands out PageRefs over machine
 * memory after checking access; the CLI makes one over a 4096-byte file it read. Creating a PageRef costs an
 * object, so callers create one per ring or per mapping, never per packet.
 */

import { InvalidArgument } from '../errors.ts';

/** XEN_PAGE_SHIFT (xen/include/public/xen.h and the Linux copy): Xen pages are always 4 KiB. */
export const XEN_PAGE_SHIFT = 12;
/** XEN_PAGE_SIZE: 4096 bytes. */
export const XEN_PAGE_SIZE = 1 << XEN_PAGE_SHIFT;

export interface PageRef {
  /** Bytes of the whole backing buffer (not only this page). */
  readonly bytes: Uint8Array;
  /** DataView of the whole backing buffer. Always pass `true` (little-endian) to its accessors. */
  readonly view: DataView;
  /** Int32 words of the whole backing buffer, for Atomics on 4-byte-aligned fields. */
  readonly words: Int32Array;
  /** Byte offset of this page inside the buffer; a multiple of 4. */
  readonly base: number;
}

/**
 * A PageRef over `buffer` at byte offset `base`. The buffer may be a SharedArrayBuffer (machine memory) or a
 * plain ArrayBuffer (a page read from a file); Atomics load/store work on both.
 */
export function pageRefOf(buffer: ArrayBufferLike, base = 0): PageRef {
  if (base % 4 !== 0 || base < 0 || base + XEN_PAGE_SIZE > buffer.byteLength) {
    throw new InvalidArgument(`pageRefOf: page at ${base} does not fit a ${buffer.byteLength}-byte buffer aligned to 4`);
  }
  return {
    bytes: new Uint8Array(buffer),
    view: new DataView(buffer),
    words: new Int32Array(buffer, 0, buffer.byteLength >>> 2),
    base,
  };
}

/** A fresh, zeroed, standalone page (not part of machine memory): for tools and tests. */
export function allocStandalonePage(): PageRef {
  return pageRefOf(new ArrayBuffer(XEN_PAGE_SIZE), 0);
}
