/**
 * Error numbers the hypervisor and xenstore hand back as negative return values (xen/include/public/errno.h;
 * the values are the Linux/x86 ones, which Xen's public header fixes for every architecture).
 *
 * A guest can cause every one of these; none of them is thrown. Hypercalls return `-EINVAL` and friends,
 * grant operations report GNTST_* codes per op instead (src/abi/grant_table.ts).
 *
 * These belong in src/abi/ (one file per header); they live here until abi/ grows an errno.ts.
 */

export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const E2BIG = 7;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EBUSY = 16;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ENOSYS = 38;
export const ENOTEMPTY = 39;
