/**
 * Deliberately wrong netback variants, for the tests that must prove they catch them. Off unless a test
 * passes `faults` in NetbackOptions; nothing else in pvnet sets them.
 *
 * `doubleFetchFirstSlot` turns netback into a double-fetching backend (the XSA-155 bug): after the first
 * slot of a packet has been validated on its snapshot (size ≥ ETH_HLEN, offset + size within the page),
 * the slot is read from the shared ring a second time and its gref, offset and size are taken from that
 * second read to build the ops. A guest rewriting the slot between the two reads gets ops and frags the
 * validation never saw, for instance a frag running past the end of its page. The concurrent double-fetch
 * test (test/hostile/double-fetch.test.ts) must catch this variant and pass with the real one.
 */

import { netifTxRequestCodec, type NetifTxRequest } from '../../abi/netif.ts';
import { ringCopyRequest } from '../../abi/ring.ts';
import type { XenvifQueue } from './queue.ts';

export interface NetbackFaults {
  /** TEST ONLY: re-read each packet's first slot after validating it, and use the second read. */
  readonly doubleFetchFirstSlot?: boolean;
}

export const NO_FAULTS: NetbackFaults = Object.freeze({});

const refetch: NetifTxRequest = netifTxRequestCodec.create();

/**
 * The double fetch: re-read slot `idx` (the first request of the packet being built, whose follow-on slots
 * are in q.txfrags[0..nFollow)) and overwrite the validated snapshot's gref, offset and first-slot length.
 */
export function xenvifDoubleFetchForTest(q: XenvifQueue, idx: number, txreq: NetifTxRequest, nFollow: number): void {
  ringCopyRequest(q.tx!, idx, refetch);
  let follow = 0;
  for (let j = 0; j < nFollow; j++) follow += q.txfrags[j]!.size;
  txreq.gref = refetch.gref;
  txreq.offset = refetch.offset;
  txreq.size = (refetch.size - follow) & 0xffff;
}
