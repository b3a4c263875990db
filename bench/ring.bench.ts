/**
 * Ring hot path: the TX ring (12-byte slots) driven by a frontend and a backend on one page, the backend
 * reading every request through ringCopyRequest (the copy-once path). One iteration is one batch: the
 * front writes `batch` requests and pushes, the back final-checks, copies each request, answers it and
 * pushes, the front copies each response. Nothing allocates per request: records are created once.
 *
 *   npx tsx bench/run.ts ring
 */
import { bench, do_not_optimize, group } from 'mitata';
import { allocStandalonePage } from '../src/abi/page.ts';
import {
  backRingInit, ringCopyRequest, ringCopyResponse, ringFinalCheckForRequests, ringFinalCheckForResponses,
  ringGetRequest, ringGetResponse, ringNrUnconsumedRequests, ringNrUnconsumedResponses, ringPushRequestsAndCheckNotify, ringPushResponsesAndCheckNotify, xenFrontRingInit,
} from '../src/abi/ring.ts';
import { NETIF_RSP_OKAY, netifTxRequestCodec, netifTxResponseCodec, netifTxRingType } from '../src/abi/netif.ts';
import { emitTxResponse, parseTxRequest, NetifWireError } from '../src/abi/netif_parse.ts';

function txRing() {
  const page = allocStandalonePage();
  const front = xenFrontRingInit(netifTxRingType, page);
  const back = backRingInit(netifTxRingType, page);
  // Start just below 2^32 so every run crosses the wrap.
  const start = 0xffffff00;
  front.sring.reqProd = start;
  front.sring.rspProd = start;
  front.sring.reqEvent = start + 1;
  front.sring.rspEvent = start + 1;
  front.reqProdPvt = start;
  front.rspCons = start;
  back.rspProdPvt = start;
  back.reqCons = start;
  return { page, front, back };
}

group('ring: TX push/consume (12-byte slots, copy-request path)', () => {
  bench('batch of $batch requests, answered and collected', function* (state: { get(name: 'batch'): number }) {
    const batch = state.get('batch');
    const { page, front, back } = txRing();
    const req = netifTxRequestCodec.create();
    const rsp = netifTxResponseCodec.create();
    const out = { id: 0, status: NETIF_RSP_OKAY };
    let gref = 0;
    yield () => {
      // Frontend: fill and publish.
      for (let i = 0; i < batch; i++) {
        req.gref = gref++ >>> 0;
        req.offset = 0;
        req.flags = 0;
        req.id = front.reqProdPvt & 0xff;
        req.size = 1514;
        netifTxRequestCodec.write(req, page.view, ringGetRequest(front, front.reqProdPvt));
        front.reqProdPvt++;
      }
      let notify = ringPushRequestsAndCheckNotify(front);
      // Backend: copy each request once, validate the snapshot, answer in place.
      let bad = 0;
      while (ringFinalCheckForRequests(back)) {
        for (let n = ringNrUnconsumedRequests(back); n > 0; n--) {
          const r = parseTxRequest(ringCopyRequest(back, back.reqCons, req), 'first');
          back.reqCons++;
          if (r instanceof NetifWireError) bad++;
          out.id = req.id;
          emitTxResponse(out, page.view, ringGetResponse(back, back.rspProdPvt));
          back.rspProdPvt++;
        }
      }
      notify = ringPushResponsesAndCheckNotify(back) || notify;
      // Frontend: collect the responses.
      let ids = 0;
      while (ringFinalCheckForResponses(front)) {
        for (let n = ringNrUnconsumedResponses(front); n > 0; n--) {
          ids += ringCopyResponse(front, front.rspCons, rsp).id;
          front.rspCons++;
        }
      }
      do_not_optimize(ids + bad + (notify ? 1 : 0));
    };
  }).args('batch', [1, 16, 64, 255]);
});
