/**
 * GrantFlipper: a guest rewriting its own grant entries behind the backend's back (REFERENCE.md §4.2, §4.5),
 * as a wrapper around one domain's grant table. The entries live in the guest's own frames, so a hostile
 * guest can store anything there at any time; the hypervisor must decide on what it finds at the pin CAS.
 *
 * Mutations touch only the guest's bits, with a CAS that keeps GTF_reading / GTF_writing as the hypervisor
 * left them (a guest clearing those would only fool itself; the audit reads them):
 *
 * | mutation        | the entry becomes                                  | a map / copy then gives            |
 * |-----------------|----------------------------------------------------|------------------------------------|
 * | `end`           | GTF_invalid                                        | general_error                      |
 * | `readonly`      | GTF_readonly added                                 | general_error for a writable use   |
 * | `sub-page`      | GTF_sub_page added                                 | general_error for a map            |
 * | `other-domain`  | made out to DOMID_INVALID                          | general_error                      |
 * | `foreign-frame` | pointing at a frame the guest does not own         | bad_page                           |
 * | `transitive`    | type GTF_transitive (not modelled by the hv)       | general_error                      |
 *
 * `restore(ref)` puts back what the entry held before the first mutation, so the guest can end its grants
 * normally at teardown. `flipDuringPin()` installs the hypervisor's pin-CAS test hook and flips the entry's
 * word on every attempt: the guest livelocking the CAS (XSA-295), which must give up after five tries.
 */

import { GTF_invalid, GTF_readonly, GTF_reading, GTF_sub_page, GTF_transitive, GTF_type_mask, GTF_writing } from '../../abi/grant_table.ts';
import { DOMID_INVALID } from '../../abi/xen.ts';
import type { Domain } from '../../hv/domain.ts';
import type { Hypervisor } from '../../hv/hypervisor.ts';
import type { Prng } from '../prng.ts';

export type GrantMutation = 'end' | 'readonly' | 'sub-page' | 'other-domain' | 'foreign-frame' | 'transitive';
export const GRANT_MUTATIONS: readonly GrantMutation[] = ['end', 'readonly', 'sub-page', 'other-domain', 'foreign-frame', 'transitive'];

const HV_BITS = GTF_reading | GTF_writing;

export class GrantFlipper {
  readonly dom: Domain;
  private readonly saved = new Map<number, { word: number; frame: number }>();
  /** Mutations applied. */
  applied = 0;

  constructor(dom: Domain) {
    this.dom = dom;
  }

  /** Apply `m` to entry `ref` (a ref inside the table). False if the ref is out of the table. */
  apply(ref: number, m: GrantMutation): boolean {
    const gt = this.dom.grantTable;
    if (!(ref >= 0 && ref < gt.nrEntries)) return false;
    const idx = gt.comboIndex(ref);
    if (!this.saved.has(ref)) this.saved.set(ref, { word: Atomics.load(gt.words, idx) & ~HV_BITS, frame: gt.frameOf(ref) });
    if (m === 'foreign-frame') {
      Atomics.store(gt.words, idx + 1, 0);
    } else {
      this.casGuestBits(idx, (w) => {
        const flags = w & 0xffff;
        const domid = w >>> 16;
        switch (m) {
          case 'end':
            return ((domid << 16) | (flags & HV_BITS) | GTF_invalid) | 0;
          case 'readonly':
            return w | GTF_readonly;
          case 'sub-page':
            return w | GTF_sub_page;
          case 'other-domain':
            return ((DOMID_INVALID << 16) | flags) | 0;
          default:
            return ((domid << 16) | (flags & ~GTF_type_mask) | GTF_transitive) | 0;
        }
      });
    }
    this.applied++;
    return true;
  }

  /** A random mutation of `ref`. */
  random(ref: number, prng: Prng): GrantMutation {
    const m = prng.pick(GRANT_MUTATIONS);
    this.apply(ref, m);
    return m;
  }

  /** Put back the guest bits, domid and frame `ref` had before its first mutation. */
  restore(ref: number): void {
    const s = this.saved.get(ref);
    if (s === undefined) return;
    const gt = this.dom.grantTable;
    const idx = gt.comboIndex(ref);
    Atomics.store(gt.words, idx + 1, s.frame | 0);
    this.casGuestBits(idx, (w) => (s.word & ~HV_BITS) | (w & HV_BITS));
    this.saved.delete(ref);
  }

  restoreAll(): void {
    for (const ref of [...this.saved.keys()]) this.restore(ref);
  }

  /**
   * Until the returned function is called, every pin CAS the hypervisor attempts on one of `refs` finds the
   * entry's word changed just before (GTF_PWT toggled: harmless to the entry, fatal to the CAS).
   */
  flipDuringPin(hv: Hypervisor, refs: readonly number[]): () => void {
    const set = new Set(refs);
    const gt = this.dom.grantTable;
    const prev = hv.testHooks.beforePinCas;
    hv.testHooks.beforePinCas = (domid, ref, attempt) => {
      prev?.(domid, ref, attempt);
      if (domid === this.dom.domid && set.has(ref)) Atomics.xor(gt.words, gt.comboIndex(ref), 1 << 5);
    };
    return () => {
      if (prev === undefined) delete hv.testHooks.beforePinCas;
      else hv.testHooks.beforePinCas = prev;
    };
  }

  private casGuestBits(idx: number, f: (w: number) => number): void {
    const words = this.dom.grantTable.words;
    for (;;) {
      const w = Atomics.load(words, idx);
      if (Atomics.compareExchange(words, idx, w, f(w) | 0) === w) return;
    }
  }
}
