/** Linux errno values the net layer returns (as negative numbers), beside the skb layer's. */
export { EINVAL, ENOMEM, EAGAIN, ENOBUFS } from '../errno.ts';
