/**
 * Error numbers the hypervisor and xenstore hand back as negative return values (xen/include/public/errno.h;
 * the values are the Linux/x86 ones, which Xen's public header fixes for every architecture).
 *
 * A guest can cause every one of these; none of them is thrown. Hypercalls return `-EINVAL` and friends,
 * grant operations report GNTST_* codes per op instead (src/abi/grant_table.ts).
 *
 * The values themselves are defined once, in src/errno.ts.
 */

export {
  EPERM, ENOENT, ESRCH, E2BIG, EAGAIN, ENOMEM, EACCES, EBUSY, EEXIST, EINVAL, ENOSPC, ENOSYS, ENOTEMPTY,
} from '../errno.ts';
