/**
 * Error numbers, once for the whole tree. pvnet returns them negated (`-EINVAL`) as outcomes, the way Linux
 * and Xen do; none of them is thrown (thrown errors are the PvnetError family in errors.ts).
 *
 * Values are the Linux/x86 ones (include/uapi/asm-generic/errno-base.h and errno.h), which Xen's public
 * errno.h fixes for every architecture. Like errors.ts this module sits below every layer; each layer
 * re-exports the names it uses from its own errno module, so a reader finds them beside the code.
 */

export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EIO = 5;
export const E2BIG = 7;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ENOSYS = 38;
export const ENOTEMPTY = 39;
export const EPROTO = 71;
export const EMSGSIZE = 90;
export const EPROTONOSUPPORT = 93;
export const ENOBUFS = 105;
