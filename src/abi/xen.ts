/**
 * Basic Xen types and reserved domain ids (xen/include/public/xen.h).
 *
 * `domid_t` is a u16. Ids from DOMID_FIRST_RESERVED up name special domains, never a guest.
 */

export const DOMID_FIRST_RESERVED = 0x7ff0;
/** Names the calling domain itself in hypercall arguments. */
export const DOMID_SELF = 0x7ff0;
export const DOMID_IO = 0x7ff1;
/** The hypervisor itself; pvnet also uses it as the owner of hypervisor-private frames. */
export const DOMID_XEN = 0x7ff2;
export const DOMID_COW = 0x7ff3;
/** No domain; pvnet uses it as the owner of frames in the hypervisor's free pool. */
export const DOMID_INVALID = 0x7ff4;
export const DOMID_IDLE = 0x7fff;

/** True for a domid that can name an ordinary domain (not a reserved id). */
export function isOrdinaryDomid(domid: number): boolean {
  return Number.isInteger(domid) && domid >= 0 && domid < DOMID_FIRST_RESERVED;
}
