/**
 * Machine memory: every byte any emulated domain can see.
 *
 * ```
 *   SharedArrayBuffer  | frame 0 | frame 1 | frame 2 | ... | frame nrFrames-1 |   (4096 bytes each)
 *   owner[f]           | domid owning frame f, or DOMID_INVALID while it sits in the free pool
 *   refcount[f]        | the domain kernel's page reference count (Linux's page->_refcount); hv keeps it
 *                      |   only as storage and refuses to release a frame whose count is not zero
 *   flags[f]           | bits 0-7 belong to hv (FRAME_*), bits 8-31 to the domain kernel (mm/, skb/)
 *   access[d].ro/rw[f] | how many read-only / writable foreign mappings domain d holds on frame f
 * ```
 *
 * Ownership: a frame has exactly one owner at a time. The owner may read and write it. Another domain may
 * touch it only while it holds a foreign mapping (made by the grant table's map operation): read through any
 * mapping, write only through a writable one. Anything else raises a `PageFault`, which is how pvnet catches
 * a backend that keeps using a guest page after unmapping it, or a guest that reuses a page it gave away.
 * The hypervisor (DOMID_XEN) may touch every frame.
 *
 * Who writes what: `owner` changes only through populate / releaseFrame / transferFrame; the foreign mapping
 * counts only through the grant table (add/removeForeignMapping). Frame contents are scrubbed (zeroed) when a
 * frame returns to the free pool, as Xen scrubs freed pages.
 *
 * Hot-path callers use `checkRead` / `checkWrite`, which return the byte offset of the frame in `bytes`, and
 * then work on `bytes` / `view` directly: no allocation per access. Bulk moves go through `memmove` (inside
 * machine memory) and `copyOut` / `copyIn` (to and from a private array).
 *
 * The SharedArrayBuffer is the buffer of a shared WebAssembly.Memory, and `memmove` is WebAssembly's
 * `memory.copy` on it. The reason is speed only: V8 copies a SharedArrayBuffer (copyWithin, set) with
 * relaxed atomic accesses, word by word only when source and destination have the same alignment modulo 8
 * and byte by byte otherwise, which makes the misaligned copies a packet path is full of (a 54-byte header
 * slot followed by payload) about seven times slower than memcpy; `memory.copy` runs at memcpy speed at any
 * alignment and allocates nothing.
 */

import { DOMID_INVALID, DOMID_XEN } from '../abi/xen.ts';
import { XEN_PAGE_SHIFT, XEN_PAGE_SIZE, type PageRef } from '../abi/page.ts';
import { InvalidArgument, OutOfResources, PageFault, RefUnderflow } from '../errors.ts';

/** hv-owned frame flag: the frame holds a grant table of its owner (shared with the hypervisor). */
export const FRAME_GRANT_TABLE = 1 << 0;
/** hv-owned frame flag: the frame holds a shared ring page. Informational (traces, audits). */
export const FRAME_RING = 1 << 1;
/** Mask of the flag bits that belong to hv; the domain kernel must not touch them. */
export const FRAME_HV_MASK = 0xff;

/** Per-domain foreign-mapping counts, one entry per machine frame. */
interface DomainAccess {
  readonly ro: Uint16Array;
  readonly rw: Uint16Array;
  owned: number;
  mappings: number;
}

/**
 * The shareable parts of a MachineMemory: what another thread needs to see the same memory
 * (`MachineMemory.attach`). A shared WebAssembly.Memory posts to a worker as itself (same bytes).
 */
export interface MachineMemoryShared {
  readonly nrFrames: number;
  readonly memory: WasmMemory;
  readonly owner: SharedArrayBuffer;
  readonly refcount: SharedArrayBuffer;
  readonly flags: SharedArrayBuffer;
}

/**
 * The one function of the copy module, as WebAssembly text:
 *
 *   (module
 *     (import "pvnet" "memory" (memory 1 65536 shared))
 *     (func (export "copy") (param $dst i32) (param $src i32) (param $n i32)
 *       (memory.copy (local.get $dst) (local.get $src) (local.get $n))))
 */
const COPY_WASM = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x07, 0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00,
  0x02, 0x14, 0x01, 0x05, 0x70, 0x76, 0x6e, 0x65, 0x74, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x03, 0x01,
  0x80, 0x80, 0x04,
  0x03, 0x02, 0x01, 0x00,
  0x07, 0x08, 0x01, 0x04, 0x63, 0x6f, 0x70, 0x79, 0x00, 0x00,
  0x0a, 0x0e, 0x01, 0x0c, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfc, 0x0a, 0x00, 0x00, 0x0b,
]);
let copyModule: object | null = null;

/** The part of the WebAssembly API used here (the project's TypeScript lib has no WebAssembly types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const WASM_PAGE = 65536;
/** Up to this many bytes, copyOut / copyIn move words through cached DataViews (no view to allocate). */
const SMALL_COPY = 64;
/** Private arrays whose DataView copyOut / copyIn keep. */
const VIEW_CACHE = 8;

export class MachineMemory implements Pick<PageRef, 'bytes' | 'view' | 'words'> {
  readonly nrFrames: number;
  readonly buffer: SharedArrayBuffer;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly words: Int32Array;
  readonly owner: Uint16Array;
  readonly refcount: Int32Array;
  readonly flags: Uint32Array;
  /**
   * A view attached from another thread (`attach`): it reads and writes the same frames, owner, refcount and
   * flags, but ownership and foreign mappings change only in the hypervisor's own instance, so here frames
   * cannot be allocated, released or transferred, and no foreign mapping is known (a domain reaches only the
   * frames it owns).
   */
  readonly attached: boolean;
  /** The WebAssembly memory whose buffer `buffer` is. */
  readonly memory: WasmMemory;
  /** memory.copy over `memory`: memmove(dst, src, n) at native speed. */
  private readonly wasmCopy: (dst: number, src: number, n: number) => void;

  private readonly freeStack: Int32Array;
  private nrFree: number;
  private readonly cacheArrs: (Uint8Array | null)[] = new Array<Uint8Array | null>(VIEW_CACHE).fill(null);
  private readonly cacheViews: (DataView | null)[] = new Array<DataView | null>(VIEW_CACHE).fill(null);
  private cacheNext = 0;
  private readonly access = new Map<number, DomainAccess>();

  constructor(nrFrames: number, shared?: MachineMemoryShared) {
    if (!Number.isInteger(nrFrames) || nrFrames < 1 || nrFrames > 1 << 20) {
      throw new InvalidArgument(`MachineMemory: nrFrames must be an integer in 1..${1 << 20}, got ${nrFrames}`);
    }
    const size = nrFrames * XEN_PAGE_SIZE;
    if (shared !== undefined && (shared.nrFrames !== nrFrames || shared.memory.buffer.byteLength < size)) {
      throw new InvalidArgument(`MachineMemory: the shared parts describe ${shared.nrFrames} frames, not ${nrFrames}`);
    }
    this.nrFrames = nrFrames;
    this.attached = shared !== undefined;
    const pages = Math.ceil(size / WASM_PAGE);
    this.memory = shared?.memory ?? new wasm.Memory({ initial: pages, maximum: pages, shared: true });
    copyModule ??= new wasm.Module(COPY_WASM);
    const inst = new wasm.Instance(copyModule, { pvnet: { memory: this.memory } });
    this.wasmCopy = inst.exports['copy'] as (dst: number, src: number, n: number) => void;
    this.buffer = this.memory.buffer as SharedArrayBuffer;
    this.bytes = new Uint8Array(this.buffer, 0, size);
    this.view = new DataView(this.buffer, 0, size);
    this.words = new Int32Array(this.buffer, 0, size >> 2);
    this.owner = new Uint16Array(shared?.owner ?? new SharedArrayBuffer(nrFrames * 2));
    this.refcount = new Int32Array(shared?.refcount ?? new SharedArrayBuffer(nrFrames * 4));
    this.flags = new Uint32Array(shared?.flags ?? new SharedArrayBuffer(nrFrames * 4));
    if (shared === undefined) {
      this.owner.fill(DOMID_INVALID);
      this.freeStack = new Int32Array(nrFrames);
      // Hand out low frame numbers first: frame numbers in traces stay small and readable.
      for (let i = 0; i < nrFrames; i++) this.freeStack[i] = nrFrames - 1 - i;
      this.nrFree = nrFrames;
    } else {
      this.freeStack = new Int32Array(0);
      this.nrFree = 0;
    }
  }

  /** A view of the same memory for another thread (see `attached`). */
  static attach(shared: MachineMemoryShared): MachineMemory {
    return new MachineMemory(shared.nrFrames, shared);
  }

  /** The parts to post to another thread, for `attach`. */
  get shared(): MachineMemoryShared {
    return {
      nrFrames: this.nrFrames,
      memory: this.memory,
      owner: this.owner.buffer as SharedArrayBuffer,
      refcount: this.refcount.buffer as SharedArrayBuffer,
      flags: this.flags.buffer as SharedArrayBuffer,
    };
  }

  // ---- domains ------------------------------------------------------------------------------------------

  /** Make `domid` known to memory. Called once by the hypervisor when it creates the domain. */
  registerDomain(domid: number): void {
    if (this.access.has(domid)) throw new InvalidArgument(`MachineMemory: dom${domid} is already registered`);
    this.access.set(domid, {
      ro: new Uint16Array(this.nrFrames),
      rw: new Uint16Array(this.nrFrames),
      owned: 0,
      mappings: 0,
    });
  }

  /** Forget `domid`. It must own no frame and hold no foreign mapping. */
  unregisterDomain(domid: number): void {
    const a = this.domainAccess(domid);
    if (a.owned !== 0 || a.mappings !== 0) {
      throw new InvalidArgument(`MachineMemory: dom${domid} still owns ${a.owned} frames and holds ${a.mappings} mappings`);
    }
    this.access.delete(domid);
  }

  isRegistered(domid: number): boolean {
    return this.access.has(domid);
  }

  /** Frames currently owned by `domid`. */
  ownedBy(domid: number): number {
    return this.domainAccess(domid).owned;
  }

  /** Foreign mappings currently held by `domid` (read-only and writable together). */
  mappingsHeldBy(domid: number): number {
    return this.domainAccess(domid).mappings;
  }

  /** Frames in the free pool. */
  get freeFrames(): number {
    return this.nrFree;
  }

  // ---- ownership ----------------------------------------------------------------------------------------

  /** Take one frame from the free pool for `domid`; -1 when the pool is empty. The frame is zeroed. */
  allocFrame(domid: number): number {
    this.checkOwnerView('allocFrame');
    const a = this.domainAccess(domid);
    if (this.nrFree === 0) return -1;
    const frame = this.freeStack[--this.nrFree]!;
    this.owner[frame] = domid;
    this.flags[frame] = 0;
    this.refcount[frame] = 0;
    a.owned++;
    return frame;
  }

  /** Give `domid` `n` frames from the pool (domain creation). Throws OutOfResources if the pool is short. */
  populate(domid: number, n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgument(`populate: bad frame count ${n}`);
    if (n > this.nrFree) throw new OutOfResources(`populate dom${domid}: ${n} frames asked, ${this.nrFree} free`);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.allocFrame(domid);
    return out;
  }

  /**
   * Return a frame to the free pool, scrubbed. Its owner must hold no page reference on it and no other
   * domain may still map it: releasing a mapped frame would let the mapper see the next owner's data.
   */
  releaseFrame(frame: number): void {
    this.checkOwnerView('releaseFrame');
    this.checkFrame(frame);
    const owner = this.owner[frame]!;
    if (owner === DOMID_INVALID) throw new InvalidArgument(`releaseFrame: frame ${frame} is already free`);
    if (this.refcount[frame] !== 0) {
      throw new InvalidArgument(`releaseFrame: frame ${frame} still has refcount ${this.refcount[frame]}`);
    }
    if (this.foreignMappingsOf(frame) !== 0) {
      throw new InvalidArgument(`releaseFrame: frame ${frame} is still mapped by another domain`);
    }
    this.domainAccess(owner).owned--;
    this.owner[frame] = DOMID_INVALID;
    this.flags[frame] = 0;
    const base = frame << XEN_PAGE_SHIFT;
    this.bytes.fill(0, base, base + XEN_PAGE_SIZE);
    this.freeStack[this.nrFree++] = frame;
  }

  /** Move a frame to another owner (GNTTABOP_transfer-like). It must not be mapped by anyone. */
  transferFrame(frame: number, to: number): void {
    this.checkOwnerView('transferFrame');
    this.checkFrame(frame);
    const from = this.owner[frame]!;
    if (from === DOMID_INVALID) throw new InvalidArgument(`transferFrame: frame ${frame} is free`);
    if (this.foreignMappingsOf(frame) !== 0) {
      throw new InvalidArgument(`transferFrame: frame ${frame} is still mapped by another domain`);
    }
    const dst = this.domainAccess(to);
    this.domainAccess(from).owned--;
    dst.owned++;
    this.owner[frame] = to;
  }

  // ---- foreign mappings (the grant table is the only caller) ---------------------------------------------

  addForeignMapping(domid: number, frame: number, writable: boolean): void {
    this.checkFrame(frame);
    const a = this.domainAccess(domid);
    const counts = writable ? a.rw : a.ro;
    if (counts[frame] === 0xffff) throw new OutOfResources(`dom${domid}: too many mappings of frame ${frame}`);
    counts[frame]!++;
    a.mappings++;
  }

  removeForeignMapping(domid: number, frame: number, writable: boolean): void {
    this.checkFrame(frame);
    const a = this.domainAccess(domid);
    const counts = writable ? a.rw : a.ro;
    if (counts[frame] === 0) {
      throw new RefUnderflow(`dom${domid} holds no ${writable ? 'writable' : 'read-only'} mapping of frame ${frame}`);
    }
    counts[frame]!--;
    a.mappings--;
  }

  /** Number of foreign mappings of `frame`, over all domains. */
  foreignMappingsOf(frame: number): number {
    let n = 0;
    for (const a of this.access.values()) n += a.ro[frame]! + a.rw[frame]!;
    return n;
  }

  // ---- access checks ------------------------------------------------------------------------------------

  canRead(domid: number, frame: number): boolean {
    if (!(frame >= 0 && frame < this.nrFrames)) return false;
    if (domid === DOMID_XEN || this.owner[frame] === domid) return true;
    const a = this.access.get(domid);
    return a !== undefined && (a.ro[frame]! > 0 || a.rw[frame]! > 0);
  }

  canWrite(domid: number, frame: number): boolean {
    if (!(frame >= 0 && frame < this.nrFrames)) return false;
    if (domid === DOMID_XEN || this.owner[frame] === domid) return true;
    const a = this.access.get(domid);
    return a !== undefined && a.rw[frame]! > 0;
  }

  /** Byte offset of `frame` in `bytes` if `domid` may read it; otherwise PageFault. */
  checkRead(domid: number, frame: number): number {
    if (!this.canRead(domid, frame)) throw this.fault(domid, frame, false);
    return frame << XEN_PAGE_SHIFT;
  }

  /** Byte offset of `frame` in `bytes` if `domid` may write it; otherwise PageFault. */
  checkWrite(domid: number, frame: number): number {
    if (!this.canWrite(domid, frame)) throw this.fault(domid, frame, true);
    return frame << XEN_PAGE_SHIFT;
  }

  /** A PageRef over `frame` for `domid`, after an access check. One object: make it once, not per packet. */
  page(domid: number, frame: number, write: boolean): PageRef {
    const base = write ? this.checkWrite(domid, frame) : this.checkRead(domid, frame);
    return { bytes: this.bytes, view: this.view, words: this.words, base };
  }

  // ---- checked byte movement ----------------------------------------------------------------------------

  /** Copy `len` bytes of `frame` at `off`, as seen by `domid`, into `dst` at `dstOff`. */
  read(domid: number, frame: number, off: number, dst: Uint8Array, dstOff: number, len: number): void {
    checkSpan(off, len);
    this.copyOut(this.checkRead(domid, frame) + off, dst, dstOff, len);
  }

  /** Copy `len` bytes of `src` at `srcOff` into `frame` at `off`, as `domid`. */
  write(domid: number, frame: number, off: number, src: Uint8Array, srcOff: number, len: number): void {
    checkSpan(off, len);
    this.copyIn(this.checkWrite(domid, frame) + off, src, srcOff, len);
  }

  // ---- unchecked byte movement (the caller did the access check: checkRead / checkWrite) -----------------

  /** memmove within machine memory: `n` bytes from index `src` to index `dst` (the ranges may overlap). */
  memmove(dst: number, src: number, n: number): void {
    if (n <= 0) return;
    if (!(dst >= 0 && src >= 0 && dst + n <= this.bytes.length && src + n <= this.bytes.length)) {
      throw new InvalidArgument(`memmove: [${src}, ${src + n}) → [${dst}, ${dst + n}) is outside machine memory`);
    }
    this.wasmCopy(dst, src, n);
  }

  /**
   * Copy `n` bytes at index `index` of machine memory into `dst[dstOff..]`. A small span moves four bytes at a
   * time through DataViews (no view is made per call: see `viewOf`); a large one through one subarray.
   */
  copyOut(index: number, dst: Uint8Array, dstOff: number, n: number): void {
    if (n <= SMALL_COPY) {
      const from = this.view;
      const to = this.viewOf(dst);
      let i = 0;
      for (; i + 4 <= n; i += 4) to.setUint32(dstOff + i, from.getUint32(index + i, true), true);
      for (; i < n; i++) dst[dstOff + i] = this.bytes[index + i]!;
    } else {
      dst.set(this.bytes.subarray(index, index + n), dstOff);
    }
  }

  /** Copy `src[srcOff..srcOff+n)` into machine memory at index `index` (as copyOut, the other way). */
  copyIn(index: number, src: Uint8Array, srcOff: number, n: number): void {
    const b = this.bytes;
    if (n <= SMALL_COPY) {
      const from = this.viewOf(src);
      const to = this.view;
      let i = 0;
      for (; i + 4 <= n; i += 4) to.setUint32(index + i, from.getUint32(srcOff + i, true), true);
      for (; i < n; i++) b[index + i] = src[srcOff + i]!;
    } else if (srcOff === 0 && n === src.length) {
      b.set(src, index);
    } else {
      b.set(src.subarray(srcOff, srcOff + n), index);
    }
  }

  /**
   * A DataView over private array `a`, from a cache of the last VIEW_CACHE arrays seen: the header scratch
   * buffers a stack copies into are few and long-lived, so steady-state copies make no view.
   */
  private viewOf(a: Uint8Array): DataView {
    const arrs = this.cacheArrs;
    for (let i = 0; i < VIEW_CACHE; i++) if (arrs[i] === a) return this.cacheViews[i]!;
    const v = new DataView(a.buffer, a.byteOffset, a.byteLength);
    const k = this.cacheNext;
    this.cacheNext = (k + 1) % VIEW_CACHE;
    arrs[k] = a;
    this.cacheViews[k] = v;
    return v;
  }

  /** Fill `len` bytes of `frame` at `off` with `value`, as `domid`. */
  fill(domid: number, frame: number, off: number, len: number, value: number): void {
    checkSpan(off, len);
    const base = this.checkWrite(domid, frame) + off;
    this.bytes.fill(value, base, base + len);
  }

  /** Copy between two frames, as `domid`: it must be able to read the source and write the destination. */
  copy(domid: number, srcFrame: number, srcOff: number, dstFrame: number, dstOff: number, len: number): void {
    checkSpan(srcOff, len);
    checkSpan(dstOff, len);
    const s = this.checkRead(domid, srcFrame) + srcOff;
    const d = this.checkWrite(domid, dstFrame) + dstOff;
    this.memmove(d, s, len);
  }

  // ---- internals ----------------------------------------------------------------------------------------

  private checkOwnerView(op: string): void {
    if (this.attached) throw new InvalidArgument(`MachineMemory.${op}: an attached view cannot change frame ownership`);
  }

  private domainAccess(domid: number): DomainAccess {
    const a = this.access.get(domid);
    if (a === undefined) throw new InvalidArgument(`MachineMemory: dom${domid} is not registered`);
    return a;
  }

  private checkFrame(frame: number): void {
    if (!Number.isInteger(frame) || frame < 0 || frame >= this.nrFrames) {
      throw new InvalidArgument(`frame ${frame} is outside machine memory (0..${this.nrFrames - 1})`);
    }
  }

  private fault(domid: number, frame: number, write: boolean): PageFault {
    if (!(frame >= 0 && frame < this.nrFrames)) return new PageFault(domid, frame, write, 'no such frame');
    const owner = this.owner[frame]!;
    if (owner === DOMID_INVALID) return new PageFault(domid, frame, write, 'frame is free');
    const a = this.access.get(domid);
    const why = write && a !== undefined && a.ro[frame]! > 0
      ? `frame of dom${owner} is mapped read-only`
      : `frame belongs to dom${owner} and is not mapped`;
    return new PageFault(domid, frame, write, why);
  }
}

function checkSpan(off: number, len: number): void {
  if (!(off >= 0 && len >= 0 && off + len <= XEN_PAGE_SIZE)) {
    throw new InvalidArgument(`byte span [${off}, ${off + len}) does not fit a ${XEN_PAGE_SIZE}-byte frame`);
  }
}
