/**
 * The hypervisor facade: one emulated Xen host.
 *
 * Owns machine memory, the domains, the event-channel switch, xenstore, the cost model and the virtual
 * clock it was given; nothing here is a singleton, so a test may build several hosts side by side. Domains
 * are created and destroyed here; every grant-table hypercall enters here, checks that the calling code
 * passed a live Domain of this host and a sane op count (misuse: InvalidArgument / UseAfterDestroy), and
 * hands the ops to grant-map.ts / grant-copy.ts, which answer each op with a GNTST_* status. Event-channel
 * hypercalls are on `evtchn`, xenstore on `xs`.
 *
 * Domain ids: the first domain created without an explicit id gets 0, the backend/control domain (dom0,
 * privileged by default); later ones the lowest free id.
 */

import {
  GNTST_bad_domain, GNTST_bad_virt_addr, GNTST_general_error, GNTST_okay, GNTST_permission_denied,
  GNTTABOP_copy, GNTTABOP_map_grant_ref, GNTTABOP_query_size, GNTTABOP_setup_table, GNTTABOP_unmap_grant_ref,
  DEFAULT_MAX_GRANT_FRAMES, DEFAULT_MAX_MAPTRACK_FRAMES, GNTMAP_readonly,
} from '../abi/grant_table.ts';
import { DOMID_SELF, isOrdinaryDomid } from '../abi/xen.ts';
import { InvalidArgument, OutOfResources, UseAfterDestroy } from '../errors.ts';
import { ManualClock, type Clock } from './clock.ts';
import { CostModel, type CostParams } from './cost.ts';
import { Domain } from './domain.ts';
import { EINVAL, ENOSYS } from './errno.ts';
import { EventChannelSwitch, PortTable, type EventNotifier } from './event-channel.ts';
import { GnttabGuest } from './gnttab.ts';
import { GrantCopier } from './grant-copy.ts';
import { GrantMapper, pinIncrement } from './grant-map.ts';
import type {
  GnttabCopy, GnttabMapGrantRef, GnttabOp, GnttabQuerySize, GnttabSetupTable, GnttabUnmapGrantRef,
} from './grant-ops.ts';
import { clearFlagsAfterUnpin, type GrantTestHooks } from './grant-pin.ts';
import { GrantTable, INITIAL_NR_GRANT_FRAMES } from './grant-table.ts';
import { FRAME_GRANT_TABLE, MachineMemory } from './memory.ts';
import { XBT_NIL, XenStore, type XenStoreOptions } from './xenstore.ts';

export interface HypervisorOptions {
  /** Machine memory size in 4 KiB frames. */
  readonly frames: number;
  /** Cost-model overrides (cost.ts). */
  readonly cost?: Partial<CostParams>;
  /** Grant-table size limit per domain, in frames (Xen's max_grant_frames, default 64). */
  readonly maxGrantFrames?: number;
  /** Maptrack limit per domain, in frames of 256 handles (Xen's max_maptrack_frames, default 1024). */
  readonly maxMaptrackFrames?: number;
  /** Virtual time; default a ManualClock. */
  readonly clock?: Clock;
  /** Event delivery hook (event-channel.ts); replaceable later on `evtchn.onEvent`. */
  readonly onEvent?: EventNotifier;
  /** XenStore options; privilege follows the domains' `privileged` flag. */
  readonly xenstore?: Omit<XenStoreOptions, 'isPrivileged'>;
}

export interface DomainConfig {
  /** Default: 0 for the first domain, then the lowest free id. */
  readonly domid?: number;
  /** Frames populated for the domain (its grant table takes one more from the pool). */
  readonly frames: number;
  readonly name?: string;
  /** Default: domid 0. */
  readonly privileged?: boolean;
}

export class Hypervisor {
  readonly mem: MachineMemory;
  readonly clock: Clock;
  readonly cost: CostModel;
  readonly evtchn: EventChannelSwitch;
  readonly xs: XenStore;
  readonly maxGrantFrames: number;
  readonly maxMaptrackFrames: number;
  /** Fault-injection and observation hooks for tests (grant-pin.ts); empty by default. */
  readonly testHooks: GrantTestHooks = {};

  private readonly doms = new Map<number, Domain>();
  private readonly mapper: GrantMapper;
  private readonly copier: GrantCopier;

  constructor(opts: HypervisorOptions) {
    this.mem = new MachineMemory(opts.frames);
    this.clock = opts.clock ?? new ManualClock();
    this.cost = new CostModel(opts.cost);
    this.maxGrantFrames = opts.maxGrantFrames ?? DEFAULT_MAX_GRANT_FRAMES;
    this.maxMaptrackFrames = opts.maxMaptrackFrames ?? DEFAULT_MAX_MAPTRACK_FRAMES;
    this.evtchn = new EventChannelSwitch(this.cost, (d) => this.domain(d), opts.onEvent);
    this.xs = new XenStore({ ...opts.xenstore, isPrivileged: (d) => d === 0 || this.doms.get(d)?.privileged === true });
    this.mapper = new GrantMapper(this);
    this.copier = new GrantCopier(this);
  }

  // ---- domains ------------------------------------------------------------------------------------------

  createDomain(cfg: DomainConfig): Domain {
    const domid = cfg.domid ?? this.lowestFreeDomid();
    if (!isOrdinaryDomid(domid)) throw new InvalidArgument(`createDomain: ${domid} is not an ordinary domain id`);
    if (this.doms.has(domid)) throw new InvalidArgument(`createDomain: dom${domid} exists`);
    if (!Number.isInteger(cfg.frames) || cfg.frames < 0) throw new InvalidArgument(`createDomain: bad frame count ${cfg.frames}`);
    if (cfg.frames + INITIAL_NR_GRANT_FRAMES > this.mem.freeFrames) {
      throw new OutOfResources(`createDomain dom${domid}: ${cfg.frames + INITIAL_NR_GRANT_FRAMES} frames asked, ${this.mem.freeFrames} free`);
    }
    this.mem.registerDomain(domid);
    const frames = this.mem.populate(domid, cfg.frames);
    const grantTable = new GrantTable(this.mem, domid, this.maxGrantFrames, this.maxMaptrackFrames);
    grantTable.grow(INITIAL_NR_GRANT_FRAMES);
    const dom = new Domain({
      domid,
      name: cfg.name ?? `dom${domid}`,
      privileged: cfg.privileged ?? domid === 0,
      frames,
      grantTable,
      ports: new PortTable(),
      makeGnttab: (d) => new GnttabGuest(this, d),
    });
    this.doms.set(domid, dom);
    // The toolstack's part: the domain's home directory, owned by the domain.
    const home = `/local/domain/${domid}`;
    this.xs.mkdir(0, XBT_NIL, home);
    this.xs.setPerms(0, XBT_NIL, home, [{ id: domid, perm: 'n' }]);
    this.xs.write(0, XBT_NIL, `${home}/name`, dom.name);
    this.xs.write(0, XBT_NIL, `${home}/domid`, String(domid));
    this.xs.introduceDomain();
    return dom;
  }

  /**
   * Destroy a domain: release the grants it maps from others, stop its deferred end-access timer, close its
   * ports, drop its xenstore connection and home directory, and free every frame no other domain still maps.
   * Frames still mapped keep the domain `dying` until their grantees unmap them.
   */
  destroyDomain(dom: Domain): void {
    this.checkCaller(dom);
    dom.state = 'dying';
    const touched = this.releaseMappings(dom);
    dom.gnttab.shutdown();
    this.evtchn.closeAll(dom);
    this.xs.releaseDomain(dom.domid);
    this.xs.rm(0, XBT_NIL, `/local/domain/${dom.domid}`);
    this.reap(dom);
    for (const rd of touched) this.reap(rd);
  }

  /** The live domain `domid`, or undefined (dying domains are not found). */
  domain(domid: number): Domain | undefined {
    const d = this.doms.get(domid);
    return d !== undefined && d.state === 'alive' ? d : undefined;
  }

  /** Same as `domain`: the name the grant code uses for "a domain a hypercall may target". */
  liveDomain(domid: number): Domain | undefined {
    return this.domain(domid);
  }

  /** A live or dying domain (unmap must still reach a dying granter). */
  anyDomain(domid: number): Domain | undefined {
    return this.doms.get(domid);
  }

  /** Live and dying domains, by id. */
  domains(): Domain[] {
    return [...this.doms.values()].sort((a, b) => a.domid - b.domid);
  }

  /** Sum of every domain's modelled cost, in ns. */
  totalModelledNs(): number {
    let ns = 0;
    for (const d of this.doms.values()) ns += d.cost.ns;
    return ns;
  }

  /** Finish a dying domain once nothing maps its frames. Called after unmaps that touch it. */
  reap(d: Domain): void {
    if (d.state !== 'dying') return;
    const mem = this.mem;
    let left = 0;
    for (let f = 0; f < mem.nrFrames; f++) {
      if (mem.owner[f] !== d.domid || (mem.flags[f]! & FRAME_GRANT_TABLE) !== 0) continue;
      if (mem.foreignMappingsOf(f) !== 0) {
        left++;
        continue;
      }
      mem.refcount[f] = 0;
      mem.releaseFrame(f);
    }
    if (left !== 0 || d.grantTable.pinnedRefs().length !== 0) return;
    d.grantTable.releaseFrames();
    mem.unregisterDomain(d.domid);
    this.doms.delete(d.domid);
    d.state = 'dead';
  }

  // ---- grant-table hypercalls ---------------------------------------------------------------------------

  /** GNTTABOP_map_grant_ref: per-op status in each op. Returns 0. */
  gnttabMapGrantRef(caller: Domain, ops: readonly GnttabMapGrantRef[], count: number): number {
    this.checkCall(caller, ops, count);
    return this.mapper.map(caller, ops, count);
  }

  /** GNTTABOP_unmap_grant_ref: batches of 32, one modelled TLB flush each, then the pins drop. Returns 0. */
  gnttabUnmapGrantRef(caller: Domain, ops: readonly GnttabUnmapGrantRef[], count: number): number {
    this.checkCall(caller, ops, count);
    return this.mapper.unmap(caller, ops, count);
  }

  /** GNTTABOP_copy: per-op status. Returns 0. */
  gnttabCopy(caller: Domain, ops: readonly GnttabCopy[], count: number): number {
    this.checkCall(caller, ops, count);
    return this.copier.copy(caller, ops, count);
  }

  /** GNTTABOP_setup_table (count 1): grow the table to `nr_frames` and report its frames. Returns 0. */
  gnttabSetupTable(caller: Domain, op: GnttabSetupTable): number {
    this.checkCaller(caller);
    this.cost.hypercall(caller.cost);
    const d = this.targetOf(caller, op);
    if (d === undefined) return 0;
    const gt = d.grantTable;
    const nr = op.nr_frames >>> 0;
    if (nr > gt.maxFrames || !gt.grow(nr)) {
      op.status = GNTST_general_error;
      return 0;
    }
    op.status = GNTST_okay;
    for (let i = 0; i < nr; i++) {
      if (i >= op.frame_list.length) {
        op.status = GNTST_bad_virt_addr;
        break;
      }
      op.frame_list[i] = gt.sharedFrames[i]!;
    }
    return 0;
  }

  /** GNTTABOP_query_size (count 1). Returns 0. */
  gnttabQuerySize(caller: Domain, op: GnttabQuerySize): number {
    this.checkCaller(caller);
    this.cost.hypercall(caller.cost);
    const d = this.targetOf(caller, op);
    if (d === undefined) return 0;
    op.nr_frames = d.grantTable.nrFrames;
    op.max_nr_frames = d.grantTable.maxFrames;
    op.status = GNTST_okay;
    return 0;
  }

  /**
   * HYPERVISOR_grant_table_op(cmd, ops, count). Returns the hypercall's value: 0, -EINVAL (setup_table and
   * query_size take count 1), -ENOSYS (a command pvnet does not implement).
   */
  grantTableOp(caller: Domain, cmd: number, ops: readonly GnttabOp[], count: number): number {
    switch (cmd) {
      case GNTTABOP_map_grant_ref:
        return this.gnttabMapGrantRef(caller, ops as readonly GnttabMapGrantRef[], count);
      case GNTTABOP_unmap_grant_ref:
        return this.gnttabUnmapGrantRef(caller, ops as readonly GnttabUnmapGrantRef[], count);
      case GNTTABOP_copy:
        return this.gnttabCopy(caller, ops as readonly GnttabCopy[], count);
      case GNTTABOP_setup_table:
      case GNTTABOP_query_size: {
        this.checkCall(caller, ops, count);
        if (count !== 1) {
          this.cost.hypercall(caller.cost);
          return -EINVAL;
        }
        return cmd === GNTTABOP_setup_table
          ? this.gnttabSetupTable(caller, ops[0] as GnttabSetupTable)
          : this.gnttabQuerySize(caller, ops[0] as GnttabQuerySize);
      }
      default:
        this.checkCaller(caller);
        this.cost.hypercall(caller.cost);
        return -ENOSYS;
    }
  }

  // ---- internals ----------------------------------------------------------------------------------------

  /** The domain a setup_table / query_size op names, writing the failure status if none may be used. */
  private targetOf(caller: Domain, op: { dom: number; status: number }): Domain | undefined {
    const dom = op.dom & 0xffff;
    const d = dom === DOMID_SELF ? caller : this.domain(dom);
    if (d === undefined) {
      op.status = GNTST_bad_domain;
      return undefined;
    }
    if (d !== caller && !caller.privileged) {
      op.status = GNTST_permission_denied;
      return undefined;
    }
    return d;
  }

  private checkCaller(caller: Domain): void {
    if (!(caller instanceof Domain) || this.doms.get(caller.domid) !== caller) {
      if (caller instanceof Domain && caller.state !== 'alive') throw new UseAfterDestroy(`${caller} is ${caller.state}`);
      throw new InvalidArgument('hypercall: caller is not a domain of this hypervisor');
    }
    if (caller.state !== 'alive') throw new UseAfterDestroy(`${caller} is ${caller.state}`);
  }

  private checkCall(caller: Domain, ops: readonly unknown[], count: number): void {
    this.checkCaller(caller);
    if (!Number.isInteger(count) || count < 0 || count > ops.length) {
      throw new InvalidArgument(`hypercall: count ${count} with ${ops.length} ops`);
    }
  }

  /** Xen's gnttab_release_mappings: drop every grant `d` maps. Returns the granting domains touched. */
  private releaseMappings(d: Domain): Set<Domain> {
    const lgt = d.grantTable;
    const touched = new Set<Domain>();
    for (let h = 0; h < lgt.maptrackLimit; h++) {
      const flags = lgt.mtFlags[h]!;
      if (flags === 0) continue;
      const rd = this.anyDomain(lgt.mtDomid[h]!)!;
      const ref = lgt.mtRef[h]!;
      const rgt = rd.grantTable;
      const writable = (flags & GNTMAP_readonly) === 0;
      this.mem.removeForeignMapping(d.domid, rgt.actFrame[ref]!, writable);
      rgt.actPin[ref] = rgt.actPin[ref]! - pinIncrement(flags);
      clearFlagsAfterUnpin(rgt, ref, writable);
      lgt.putMaptrackHandle(h);
      if (rd !== d) touched.add(rd);
    }
    return touched;
  }

  private lowestFreeDomid(): number {
    let id = 0;
    while (this.doms.has(id)) id++;
    return id;
  }
}
