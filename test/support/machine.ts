/**
 * The smallest useful machine for a test: a hypervisor on a ManualClock with dom0 (the backend, privileged)
 * and one guest (domid 1), and the audit baseline taken right after. Usage:
 *
 *   const t = testMachine();
 *   const ref = t.guest.gnttab.gnttabGrantForeignAccess(0, t.guest.frames[0]!, true);
 *   ...
 *   t.audit();                       // throws AuditFailure listing every leak
 */
import { ManualClock } from '../../src/hv/clock.ts';
import type { CostParams } from '../../src/hv/cost.ts';
import type { Domain } from '../../src/hv/domain.ts';
import type { EventNotifier } from '../../src/hv/event-channel.ts';
import { Hypervisor } from '../../src/hv/hypervisor.ts';
import { assertClean, snapshot, type AuditBaseline, type AuditOptions } from './audit.ts';

export interface TestMachineOptions {
  /** Machine frames (default 256). */
  frames?: number;
  /** Frames for dom0 and for the guest (default 32 each). */
  dom0Frames?: number;
  guestFrames?: number;
  maxGrantFrames?: number;
  maxMaptrackFrames?: number;
  cost?: Partial<CostParams>;
  onEvent?: EventNotifier;
}

export interface TestMachine {
  readonly hv: Hypervisor;
  readonly clock: ManualClock;
  /** Backend / control domain, domid 0. */
  readonly dom0: Domain;
  /** Guest, domid 1. */
  readonly guest: Domain;
  readonly baseline: AuditBaseline;
  /** Teardown audit against the baseline; throws AuditFailure. */
  audit(opts?: AuditOptions): void;
}

export function testMachine(opts: TestMachineOptions = {}): TestMachine {
  const clock = new ManualClock();
  const hv = new Hypervisor({
    frames: opts.frames ?? 256,
    clock,
    ...(opts.maxGrantFrames !== undefined ? { maxGrantFrames: opts.maxGrantFrames } : {}),
    ...(opts.maxMaptrackFrames !== undefined ? { maxMaptrackFrames: opts.maxMaptrackFrames } : {}),
    ...(opts.cost !== undefined ? { cost: opts.cost } : {}),
    ...(opts.onEvent !== undefined ? { onEvent: opts.onEvent } : {}),
  });
  const dom0 = hv.createDomain({ domid: 0, frames: opts.dom0Frames ?? 32, name: 'dom0' });
  const guest = hv.createDomain({ domid: 1, frames: opts.guestFrames ?? 32, name: 'guest' });
  hv.xs.processWatches();
  const baseline = snapshot(hv);
  return { hv, clock, dom0, guest, baseline, audit: (o) => assertClean(hv, baseline, o) };
}
