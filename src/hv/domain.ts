/**
 * A domain, as the hypervisor sees it (Xen's `struct domain`, reduced to what pvnet needs).
 *
 * Owns: its id; the frames populated for it at creation (`frames`; more may come and go through transfer);
 * its grant table (`grantTable`: shared entries in its own frames, active entries, maptrack); the guest
 * side of its grant driver (`gnttab`); its event-channel ports (`ports`); and its modelled-cost counters
 * (`cost`), charged for every hypercall it makes.
 *
 * Written by the Hypervisor only (creation, teardown, `state`); the parts are written as their own files
 * describe. A Domain is created by `Hypervisor.createDomain` and dies in two steps: `destroyDomain` makes it
 * `dying` (its own mappings of others are released, its ports closed, its xenstore connection dropped, every
 * frame no other domain still maps freed); it becomes `dead`, and its id free again, once the last foreign
 * mapping of its frames is unmapped, as in Xen where a dying domain's pages live until every grantee lets go.
 */

import type { DomainCost } from './cost.ts';
import { newDomainCost } from './cost.ts';
import type { PortTable } from './event-channel.ts';
import type { GnttabGuest } from './gnttab.ts';
import type { GrantTable } from './grant-table.ts';

export type DomainState = 'alive' | 'dying' | 'dead';

export interface DomainInit {
  readonly domid: number;
  readonly name: string;
  readonly privileged: boolean;
  readonly frames: Int32Array;
  readonly grantTable: GrantTable;
  readonly ports: PortTable;
  readonly makeGnttab: (d: Domain) => GnttabGuest;
}

export class Domain {
  readonly domid: number;
  readonly name: string;
  /** Control domain: may act on other domains (setup_table, alloc_unbound for others, xenstore anywhere). */
  readonly privileged: boolean;
  /** Frames given to the domain at creation (grant-table frames are extra and live in `grantTable`). */
  readonly frames: Int32Array;
  readonly grantTable: GrantTable;
  readonly gnttab: GnttabGuest;
  readonly ports: PortTable;
  readonly cost: DomainCost = newDomainCost();
  state: DomainState = 'alive';

  constructor(init: DomainInit) {
    this.domid = init.domid;
    this.name = init.name;
    this.privileged = init.privileged;
    this.frames = init.frames;
    this.grantTable = init.grantTable;
    this.ports = init.ports;
    this.gnttab = init.makeGnttab(this);
  }

  toString(): string {
    return `dom${this.domid}(${this.name})`;
  }
}
