/**
 * The teardown audit as a test helper: every suite ends with `assertClean(hv, baseline)` (or `t.audit()`
 * with the machine from ./machine.ts). It throws AuditFailure listing each finding, so a leak fails the test
 * with a readable message. See src/hv/audit.ts for what is checked.
 */
import { AuditFailure } from '../../src/errors.ts';
import { auditHypervisor, snapshot, type AuditBaseline, type AuditOptions } from '../../src/hv/audit.ts';
import type { Hypervisor } from '../../src/hv/hypervisor.ts';

export { snapshot };
export type { AuditBaseline, AuditOptions };

/** Throw AuditFailure if anything is still live relative to `baseline`. */
export function assertClean(hv: Hypervisor, baseline?: AuditBaseline, opts?: AuditOptions): void {
  const findings = auditHypervisor(hv, baseline, opts);
  if (findings.length > 0) throw new AuditFailure(findings);
}
