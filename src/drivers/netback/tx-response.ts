/**
 * TX responses (netback.c make_tx_response, xenvif_idx_release, push_tx_responses; REFERENCE.md §2.3 rule 6,
 * §5.3 step 9, §5.5).
 *
 * A response is written at the backend's private `rsp_prod_pvt` (TX responses may complete in any order; the
 * frontend matches them by id), followed by one slot per extra in which only the `status` field is set to
 * NETIF_RSP_NULL (the id bytes stay as the request left them, as Linux does). Every push goes through the
 * ring's push-and-check-notify and signals the TX channel when the frontend's rsp_event says so.
 *
 * xenvifIdxRelease answers the request a pending slot holds and returns the slot to the free list *before*
 * the push, so the slot is free before the frontend can reuse the ring entry. In map modes it is called only
 * from the dealloc step, after the unmap hypercall returned: a mapped slot is never answered before its
 * grant is unmapped (plain-ref mode breaks this on purpose; see tx-strategies.ts).
 */

import { NETIF_RSP_ERROR, NETIF_RSP_NULL, NETIF_TX_RESPONSE } from '../../abi/netif.ts';
import { ringGetResponse, ringPushResponsesAndCheckNotify } from '../../abi/ring.ts';
import { putPendingIdx, type XenvifQueue } from './queue.ts';

/** _make_tx_response: write one response (and NULL slots for its extras) without pushing. */
export function makeTxResponseNoPush(q: XenvifQueue, id: number, extraCount: number, status: number, pi = -1): void {
  const tx = q.tx;
  if (tx === null) return;
  const view = tx.page.view;
  let i = tx.rspProdPvt;
  const at = ringGetResponse(tx, i);
  view.setUint16(at + NETIF_TX_RESPONSE.id.offset, id, true);
  view.setInt16(at + NETIF_TX_RESPONSE.status.offset, status, true);
  for (let e = 0; e < extraCount; e++) {
    i = (i + 1) >>> 0;
    view.setInt16(ringGetResponse(tx, i) + NETIF_TX_RESPONSE.status.offset, NETIF_RSP_NULL, true);
  }
  tx.rspProdPvt = (i + 1) >>> 0;
  const s = q.stats;
  s.txResponses += 1 + extraCount;
  if (status === NETIF_RSP_ERROR) s.txErrors++;
  q.vif.nb.trace(q, 'answered', pi, id, -1, status, 0);
}

/** push_tx_responses: publish rsp_prod_pvt and notify the frontend if its rsp_event asks for it. */
export function pushTxResponses(q: XenvifQueue): void {
  const tx = q.tx;
  if (tx === null) return;
  if (ringPushResponsesAndCheckNotify(tx) && q.txIrq !== 0) {
    const nb = q.vif.nb;
    nb.hv.evtchn.evtchnSend(nb.dom, q.txIrq);
  }
}

/** make_tx_response: one response, pushed at once (drop paths, control requests, zero-size slots). */
export function makeTxResponse(q: XenvifQueue, id: number, extraCount: number, status: number): void {
  makeTxResponseNoPush(q, id, extraCount, status);
  pushTxResponses(q);
}

/** xenvif_idx_release: answer pending slot `pi`'s request with `status`, free the slot, then push. */
export function xenvifIdxRelease(q: XenvifQueue, pi: number, status: number): void {
  makeTxResponseNoPush(q, q.reqId[pi]!, q.extraCount[pi]!, status, pi);
  q.answered[pi] = 0;
  putPendingIdx(q, pi);
  pushTxResponses(q);
}
