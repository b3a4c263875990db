/** Linux errno values the net layer returns (as negative numbers), beside the skb layer's. */
export { EINVAL, ENOMEM } from '../skb/errno.ts';

export const EAGAIN = 11;
export const ENOBUFS = 105;
