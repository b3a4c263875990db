/**
 * sk_buff constants (REFERENCE.md §8.2, include/linux/skbuff.h), with the geometry pvnet's model derives
 * from them.
 *
 * Sizes that Linux takes from `sizeof` are fixed here to their x86-64 values so that `end`, tailroom and
 * truesize come out as a 6.x kernel computes them: `struct sk_buff` is 232 bytes (256 once cache aligned) and
 * `struct skb_shared_info` is 48 bytes of fields plus 16 bytes per frag slot (320 with 17 frags).
 */

/** CONFIG_MAX_SKB_FRAGS default. An `SkbEnv` may choose another value (REFERENCE §8.2: Kconfig allows 17..45). */
export const MAX_SKB_FRAGS = 17;

/** shinfo.dataref: the low 16 bits count every holder, the high 16 bits the payload-only (nohdr) holders. */
export const SKB_DATAREF_SHIFT = 16;
export const SKB_DATAREF_MASK = (1 << SKB_DATAREF_SHIFT) - 1;

/** L1_CACHE_BYTES / SMP_CACHE_BYTES on x86-64. */
export const SMP_CACHE_BYTES = 64;
/** NET_SKB_PAD = max(32, L1_CACHE_BYTES). */
export const NET_SKB_PAD = Math.max(32, SMP_CACHE_BYTES);
/** NET_IP_ALIGN as REFERENCE §8.2 gives it (the generic default). */
export const NET_IP_ALIGN = 2;
/** skb_shinfo(skb)->gso_size value meaning "one segment per frag_list member" (SCTP). */
export const GSO_BY_FRAGS = 0xffff;
/** GRO_LEGACY_MAX_SIZE: aggregates stop below 64 KiB (BIG TCP is not modelled). */
export const GRO_LEGACY_MAX_SIZE = 65536;
/** GRO_MAX_HEAD = MAX_HEADER + 128 with MAX_HEADER = 128 + 48 (LL_MAX_HEADER with tunnels). */
export const GRO_MAX_HEAD = 304;

/** SKB_DATA_ALIGN: round up to the cache-line size. */
export function skbDataAlign(x: number): number {
  return (x + SMP_CACHE_BYTES - 1) & ~(SMP_CACHE_BYTES - 1);
}

/** sizeof(struct sk_buff) on x86-64, cache aligned. */
export const SKB_STRUCT_SIZE = skbDataAlign(232);

/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) for `maxFrags` frag slots. */
export function skbShinfoSize(maxFrags: number): number {
  return skbDataAlign(48 + 16 * maxFrags);
}

/** SKB_TRUESIZE(x) = x + aligned sizeof(sk_buff) + aligned sizeof(skb_shared_info). */
export function skbTruesize(x: number, shinfoSize: number): number {
  return x + SKB_STRUCT_SIZE + shinfoSize;
}

/** Largest linear head pvnet backs (64 frames = 256 KiB); a bigger request fails like an oversized kmalloc. */
export const MAX_HEAD_FRAMES = 64;

/** A u16 header offset that was never set (Linux stores `~0U` in the u16 field). */
export const SKB_HEADER_UNSET = 0xffff;

/** skb->ip_summed values. */
export const CHECKSUM_NONE = 0;
export const CHECKSUM_UNNECESSARY = 1;
export const CHECKSUM_COMPLETE = 2;
export const CHECKSUM_PARTIAL = 3;

/** __alloc_skb flags. SKB_ALLOC_RX adds __GFP_MEMALLOC while a memalloc socket exists (REFERENCE §11.5). */
export const SKB_ALLOC_FCLONE = 0x01;
export const SKB_ALLOC_RX = 0x02;

/** shinfo.flags (REFERENCE §9.2). */
export const SKBFL_ZEROCOPY_ENABLE = 1 << 0;
export const SKBFL_SHARED_FRAG = 1 << 1;
export const SKBFL_PURE_ZEROCOPY = 1 << 2;
export const SKBFL_DONT_ORPHAN = 1 << 3;
export const SKBFL_MANAGED_FRAG_REFS = 1 << 4;
export const SKBFL_ZEROCOPY_FRAG = SKBFL_ZEROCOPY_ENABLE | SKBFL_SHARED_FRAG;
export const SKBFL_ALL_ZEROCOPY = SKBFL_ZEROCOPY_FRAG | SKBFL_PURE_ZEROCOPY | SKBFL_DONT_ORPHAN | SKBFL_MANAGED_FRAG_REFS;

/** NAPI_GRO_CB(skb)->free after a merge: how the caller frees the merged skb's shell. */
export const NAPI_GRO_FREE = 1;
export const NAPI_GRO_FREE_STOLEN_HEAD = 2;

/** A few ethertypes skb_segment's protocol checks need (host order). */
export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
