/**
 * The errno values the skb layer returns, as Linux returns them: negated (`-ENOMEM`), never thrown.
 * Values from include/uapi/asm-generic/errno-base.h and errno.h.
 */

export const EIO = 5;
export const E2BIG = 7;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EEXIST = 17;
export const EINVAL = 22;
export const EMSGSIZE = 90;
export const EPROTONOSUPPORT = 93;
