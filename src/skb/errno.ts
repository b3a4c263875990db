/**
 * The errno values the skb layer returns, as Linux returns them: negated (`-ENOMEM`), never thrown.
 * Values from include/uapi/asm-generic/errno-base.h and errno.h.
 */

export { EIO, E2BIG, ENOMEM, EFAULT, EEXIST, EINVAL, EMSGSIZE, EPROTONOSUPPORT } from '../errno.ts';
