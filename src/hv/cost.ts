/**
 * The cost model: what the same work would cost on a real hypervisor, in modelled nanoseconds.
 *
 * pvnet measures its own wall-clock time, but that says little about Xen. Beside it, every hypercall adds a
 * modelled cost to the *calling* domain's counter (`DomainCost`), from the named parameters below. The shape
 * follows REFERENCE.md §6:
 *
 *   map path:  hypercall + n_maps × mapNs + n_unmaps × unmapNs + ceil(n_unmaps / 32) × tlbFlushNs
 *   copy path: hypercall + n_ops × copyOpNs + bytes × copyByteNs + buffer switches × copyPinNs
 *   event:     hypercall + evtchnSendNs
 *
 * **Every default is an estimate.** REFERENCE.md §6 records that no published per-operation cycle costs
 * exist for map, unmap, TLB flush or per-byte grant copy; only structural facts do (one flush per 32 unmaps,
 * a pin/unpin CAS per copy buffer switch, map_domain_page + memcpy per copy op) and whole-system results
 * (Qubes: 75% of netback samples in map/unmap hypercalls; Martins: premapped grants doubling 64-byte pktgen
 * rates). The defaults are order-of-magnitude figures for a current x86-64 host, chosen so that the model's
 * copy/map crossover is an output worth looking at, not a claim. Override any of them per hypervisor.
 */

/** Named parameters, in ns. */
export interface CostParams {
  /** Entry into and exit from one hypercall, whatever it does. Estimate: a privilege transition with
   *  speculation mitigations on, 100-500 ns on current x86-64. */
  readonly hypercallNs: number;
  /** One GNTTABOP_map_grant_ref op: pin CAS on the grant entry, maptrack entry, page-table/p2m update.
   *  Estimate. */
  readonly mapNs: number;
  /** One GNTTABOP_unmap_grant_ref op, before the batch flush: page-table/p2m update, maptrack release.
   *  Estimate. */
  readonly unmapNs: number;
  /** The TLB flush closing each batch of GNTTAB_UNMAP_BATCH_SIZE (32) unmaps, IPIs to dirty CPUs included.
   *  The only structural fact is its frequency (REFERENCE.md §4.5, §6); the value is an estimate. */
  readonly tlbFlushNs: number;
  /** One GNTTABOP_copy op: argument checks, map_domain_page of both sides. Estimate. */
  readonly copyOpNs: number;
  /** A copy buffer switch: pin/unpin of a grant (a CAS on the guest's flags each way). Estimate. */
  readonly copyPinNs: number;
  /** Per byte copied by GNTTABOP_copy. Estimate: memcpy at ≈10 GB/s. */
  readonly copyByteNs: number;
  /** One EVTCHNOP_send beyond the hypercall entry: set the pending bit, kick the remote vCPU. Estimate. */
  readonly evtchnSendNs: number;
}

export const DEFAULT_COST_PARAMS: CostParams = Object.freeze({
  hypercallNs: 200,
  mapNs: 500,
  unmapNs: 400,
  tlbFlushNs: 2000,
  copyOpNs: 150,
  copyPinNs: 100,
  copyByteNs: 0.1,
  evtchnSendNs: 150,
});

/**
 * Per-domain counters. Owned by the Domain; written only by the hypervisor while it runs a hypercall the
 * domain made; read by benchmarks and reports. `ns` is the modelled total; the others count the work it
 * came from, so a report can re-price a run under other parameters.
 */
export interface DomainCost {
  ns: number;
  hypercalls: number;
  mapOps: number;
  unmapOps: number;
  tlbFlushes: number;
  copyOps: number;
  copyBytes: number;
  copyPins: number;
  evtchnSends: number;
}

export function newDomainCost(): DomainCost {
  return { ns: 0, hypercalls: 0, mapOps: 0, unmapOps: 0, tlbFlushes: 0, copyOps: 0, copyBytes: 0, copyPins: 0, evtchnSends: 0 };
}

/** Zero every counter (between benchmark rounds). */
export function resetDomainCost(c: DomainCost): void {
  c.ns = 0;
  c.hypercalls = 0;
  c.mapOps = 0;
  c.unmapOps = 0;
  c.tlbFlushes = 0;
  c.copyOps = 0;
  c.copyBytes = 0;
  c.copyPins = 0;
  c.evtchnSends = 0;
}

/** The model's price for counters `c` under `p`: how a report re-prices a run under other parameters. */
export function priceOf(c: DomainCost, p: CostParams): number {
  return c.hypercalls * p.hypercallNs + c.mapOps * p.mapNs + c.unmapOps * p.unmapNs + c.tlbFlushes * p.tlbFlushNs +
    c.copyOps * p.copyOpNs + c.copyPins * p.copyPinNs + c.copyBytes * p.copyByteNs + c.evtchnSends * p.evtchnSendNs;
}

/** The parameters in force, and the charging steps the hypervisor calls. No allocation per charge. */
export class CostModel {
  readonly params: CostParams;

  constructor(overrides: Partial<CostParams> = {}) {
    this.params = Object.freeze({ ...DEFAULT_COST_PARAMS, ...overrides });
  }

  hypercall(c: DomainCost): void {
    c.hypercalls++;
    c.ns += this.params.hypercallNs;
  }

  map(c: DomainCost): void {
    c.mapOps++;
    c.ns += this.params.mapNs;
  }

  unmap(c: DomainCost): void {
    c.unmapOps++;
    c.ns += this.params.unmapNs;
  }

  tlbFlush(c: DomainCost): void {
    c.tlbFlushes++;
    c.ns += this.params.tlbFlushNs;
  }

  copyOp(c: DomainCost): void {
    c.copyOps++;
    c.ns += this.params.copyOpNs;
  }

  copyPin(c: DomainCost): void {
    c.copyPins++;
    c.ns += this.params.copyPinNs;
  }

  copyBytes(c: DomainCost, n: number): void {
    c.copyBytes += n;
    c.ns += n * this.params.copyByteNs;
  }

  evtchnSend(c: DomainCost): void {
    c.evtchnSends++;
    c.ns += this.params.evtchnSendNs;
  }
}
