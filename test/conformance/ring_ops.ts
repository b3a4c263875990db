/**
 * pvnet's side of the ring differential: the same operation language as c/ring_ops.c, executed with the
 * pvnet ring library on a pvnet page, producing the same JSON objects line for line. Also the script
 * generators (fixed scenarios and seeded random ones, including hostile index writes).
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { allocStandalonePage, type PageRef } from '../../src/abi/page.ts';
import {
  backRingAttach, backRingInit, frontRingAttach, frontRingInit, ringCopyRequest, ringCopyResponse,
  ringFinalCheckForRequests, ringFinalCheckForResponses, ringFreeRequests, ringNrUnconsumedRequests,
  ringNrUnconsumedResponses, ringPushRequestsAndCheckNotify, ringPushResponsesAndCheckNotify, ringPutRequest,
  ringPutResponse, ringRequestConsOverflow, ringRequestProdOverflow, ringResponseProdOverflow, sharedRingInit,
  type BackRing, type FrontRing, type RingType, type SlotCodec,
} from '../../src/abi/ring.ts';
import { netifExtraInfoCodec, netifRxRingType, netifTxRingType, type NetifExtraInfo } from '../../src/abi/netif.ts';

export type RingName = 'tx' | 'rx';
type Rec = Record<string, number>;

/** Field order of each struct in the op language (the C program's sscanf order). */
export const FIELDS: Readonly<Record<RingName, { req: readonly string[]; rsp: readonly string[] }>> = {
  tx: { req: ['gref', 'offset', 'flags', 'id', 'size'], rsp: ['id', 'status'] },
  rx: { req: ['id', 'pad', 'gref'], rsp: ['id', 'offset', 'flags', 'status'] },
};

function fnv1a(bytes: Uint8Array): number {
  let h = 2166136261;
  for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h;
}

/** Fill an extra_info record from its 8 raw bytes (every union member), so writing it reproduces them. */
function extraFromBytes(type: number, flags: number, u: readonly number[], out: NetifExtraInfo): NetifExtraInfo {
  const raw = new DataView(new ArrayBuffer(8));
  raw.setUint8(0, type);
  raw.setUint8(1, flags);
  u.forEach((b, i) => raw.setUint8(2 + i, b));
  return netifExtraInfoCodec.read(raw, 0, out);
}

/** Run `script` through pvnet's ring library; one result object per line, as the C program prints them. */
export function runPvnet(ring: RingName, script: readonly string[]): Array<Record<string, unknown>> {
  const type = (ring === 'tx' ? netifTxRingType : netifRxRingType) as unknown as RingType<Rec, Rec>;
  const page: PageRef = allocStandalonePage();
  let front: FrontRing<Rec, Rec> = frontRingInit(type, page);
  let back: BackRing<Rec, Rec> = backRingInit(type, page);
  const s = front.sring;
  const req = type.request.create();
  const rsp = type.response.create();
  const extra = netifExtraInfoCodec.create();
  const xc = netifExtraInfoCodec as SlotCodec<NetifExtraInfo>;
  const pick = (r: Rec, names: readonly string[]) => Object.fromEntries(names.map((n) => [n, r[n]]));
  const showExtra = (x: NetifExtraInfo) => ({ type: x.type, flags: x.flags, u: [...x.u.mcast.addr] });
  const out: Array<Record<string, unknown>> = [];

  for (const line of script) {
    const [op = '', ...args] = line.trim().split(/\s+/);
    const n = args.map(Number);
    const r: Record<string, unknown> = { op };
    switch (op) {
      case 'init':
        sharedRingInit(page);
        front = frontRingInit(type, page);
        back = backRingInit(type, page);
        break;
      case 'start': {
        const i = n[0]!;
        sharedRingInit(page);
        s.reqProd = i;
        s.rspProd = i;
        s.reqEvent = (i + 1) >>> 0;
        s.rspEvent = (i + 1) >>> 0;
        front = frontRingAttach(type, page, i);
        back = backRingAttach(type, page, i);
        break;
      }
      case 'attach_front': front = frontRingAttach(type, page, n[0]!); break;
      case 'attach_back': back = backRingAttach(type, page, n[0]!); break;
      case 'attach_back_rsp_prod': back = backRingAttach(type, page, s.rspProd); break;
      case 'set': {
        const v = Number(args[1]);
        if (args[0] === 'req_prod') s.reqProd = v;
        else if (args[0] === 'req_event') s.reqEvent = v;
        else if (args[0] === 'rsp_prod') s.rspProd = v;
        else if (args[0] === 'rsp_event') s.rspEvent = v;
        else throw new Error(`bad line ${line}`);
        break;
      }
      case 'req':
        FIELDS[ring].req.forEach((f, i) => { req[f] = n[i]!; });
        ringPutRequest(front, front.reqProdPvt, req);
        front.reqProdPvt++;
        break;
      case 'rsp':
        FIELDS[ring].rsp.forEach((f, i) => { rsp[f] = n[i]!; });
        ringPutResponse(back, back.rspProdPvt, rsp);
        back.rspProdPvt++;
        break;
      case 'xreq':
        ringPutRequest(front, front.reqProdPvt, extraFromBytes(n[0]!, n[1]!, n.slice(2), extra), xc);
        front.reqProdPvt++;
        break;
      case 'xrsp':
        ringPutResponse(back, back.rspProdPvt, extraFromBytes(n[0]!, n[1]!, n.slice(2), extra), xc);
        back.rspProdPvt++;
        break;
      case 'push_req': r['notify'] = ringPushRequestsAndCheckNotify(front) ? 1 : 0; break;
      case 'push_rsp': r['notify'] = ringPushResponsesAndCheckNotify(back) ? 1 : 0; break;
      case 'final_req': r['work'] = ringFinalCheckForRequests(back) ? 1 : 0; break;
      case 'final_rsp': r['work'] = ringFinalCheckForResponses(front) ? 1 : 0; break;
      case 'copy_req':
        r['req'] = pick(ringCopyRequest(back, back.reqCons, req), FIELDS[ring].req);
        back.reqCons++;
        break;
      case 'copy_rsp':
        r['rsp'] = pick(ringCopyResponse(front, front.rspCons, rsp), FIELDS[ring].rsp);
        front.rspCons++;
        break;
      case 'copy_xreq':
        r['extra'] = showExtra(ringCopyRequest(back, back.reqCons, extra, xc));
        back.reqCons++;
        break;
      case 'copy_xrsp':
        r['extra'] = showExtra(ringCopyResponse(front, front.rspCons, extra, xc));
        front.rspCons++;
        break;
      case 'counts':
        r['free'] = ringFreeRequests(front);
        r['unc_req'] = ringNrUnconsumedRequests(back);
        r['unc_rsp'] = ringNrUnconsumedResponses(front);
        r['req_prod_overflow'] = ringRequestProdOverflow(back, s.reqProd) ? 1 : 0;
        r['rsp_prod_overflow'] = ringResponseProdOverflow(front, s.rspProd) ? 1 : 0;
        r['cons_overflow'] = ringRequestConsOverflow(back, back.reqCons) ? 1 : 0;
        break;
      case 'load': page.bytes.set(readFileSync(args.join(' '))); break;
      case 'save': writeFileSync(args.join(' '), page.bytes); break;
      default: throw new Error(`bad line ${line}`);
    }
    r['pvt'] = [front.reqProdPvt, front.rspCons, back.rspProdPvt, back.reqCons];
    r['s'] = [s.reqProd, s.reqEvent, s.rspProd, s.rspEvent];
    r['h'] = fnv1a(page.bytes);
    out.push(r);
  }
  return out;
}

// ---- scripts ------------------------------------------------------------------------------------------

/** mulberry32: a tiny seeded PRNG, so a failing script is reproducible from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const U16 = 0x10000;
const U32 = 2 ** 32;

function randomRecordArgs(ring: RingName, kind: 'req' | 'rsp', rnd: () => number): string {
  return FIELDS[ring][kind].map((f) => {
    if (f === 'status') return String(Math.floor(rnd() * U16) - 0x8000);
    if (f === 'gref') return String(Math.floor(rnd() * U32));
    return String(Math.floor(rnd() * U16));
  }).join(' ');
}

function randomExtraArgs(rnd: () => number): string {
  const b = () => Math.floor(rnd() * 256);
  return [1 + Math.floor(rnd() * 5), Math.floor(rnd() * 2), b(), b(), b(), b(), b(), b()].join(' ');
}

/**
 * A random script: start near 2^32 (or anywhere), then a weighted mix of every operation, hostile shared
 * index writes included. Any sequence is fair game: both sides run the same macros on the same bytes.
 */
export function randomScript(ring: RingName, seed: number, length: number): string[] {
  const rnd = prng(seed);
  const starts = [U32 - 1 - Math.floor(rnd() * 600), Math.floor(rnd() * U32), 0, U32 - 256];
  const start = starts[Math.floor(rnd() * starts.length)]!;
  const script = [`start ${start}`];
  const weighted: Array<[number, () => string]> = [
    [28, () => `req ${randomRecordArgs(ring, 'req', rnd)}`],
    [10, () => 'push_req'],
    [14, () => 'copy_req'],
    [14, () => `rsp ${randomRecordArgs(ring, 'rsp', rnd)}`],
    [8, () => 'push_rsp'],
    [8, () => 'copy_rsp'],
    [4, () => 'final_req'],
    [4, () => 'final_rsp'],
    [4, () => 'counts'],
    [2, () => `xreq ${randomExtraArgs(rnd)}`],
    [2, () => `xrsp ${randomExtraArgs(rnd)}`],
    [1, () => 'copy_xreq'],
    [1, () => 'copy_xrsp'],
    [2, () => `set req_event ${(start + Math.floor(rnd() * 600)) >>> 0}`],
    [2, () => `set rsp_event ${(start + Math.floor(rnd() * 600)) >>> 0}`],
    [1, () => `set req_prod ${(start + Math.floor(rnd() * 1200)) >>> 0}`],
  ];
  const total = weighted.reduce((a, [w]) => a + w, 0);
  for (let i = 0; i < length; i++) {
    let x = rnd() * total;
    for (const [w, make] of weighted) {
      x -= w;
      if (x < 0) {
        script.push(make());
        break;
      }
    }
  }
  script.push('counts');
  return script;
}

/** Fixed scenarios, each stating the rule it exercises. */
export function fixedScripts(ring: RingName): Array<{ name: string; script: string[] }> {
  const req = ring === 'tx' ? 'req 7 0 0 1 60' : 'req 1 0 7';
  const rsp = ring === 'tx' ? 'rsp 1 0' : 'rsp 1 0 0 60';
  const reqs = (k: number) => Array.from({ length: k }, () => req);
  const rsps = (k: number) => Array.from({ length: k }, () => rsp);
  return [
    {
      name: 'a fresh ring: requests, responses, notify and final checks',
      script: ['init', 'counts', 'final_req', ...reqs(3), 'push_req', 'counts', 'final_req', 'copy_req', 'copy_req',
        'copy_req', 'final_req', ...rsps(3), 'push_rsp', 'final_rsp', 'copy_rsp', 'copy_rsp', 'copy_rsp', 'final_rsp',
        'counts', 'push_req', 'push_rsp'],
    },
    {
      name: 'indices started just below 2^32 wrap in every counter',
      script: ['start 4294967280', ...reqs(20), 'push_req', 'counts', ...Array(20).fill('copy_req'), 'final_req',
        ...rsps(10), 'push_rsp', ...rsps(10), 'push_rsp', 'counts', ...Array(20).fill('copy_rsp'), 'final_rsp', 'counts'],
    },
    {
      name: 'notify only when the event lies in (old, new]',
      script: ['start 4294967294', 'set req_event 4294967295', req, 'push_req', 'set req_event 4294967295', req, 'push_req',
        'set req_event 2', req, req, 'push_req', 'set req_event 2', req, 'push_req', 'push_req',
        'set rsp_event 0', rsp, rsp, 'push_rsp', 'set rsp_event 0', rsp, 'push_rsp'],
    },
    {
      name: 'a hostile producer is flagged and capped',
      script: ['init', ...reqs(4), 'push_req', 'set req_prod 300', 'counts', 'copy_req', 'counts', 'set req_prod 4294967295',
        'counts', 'set rsp_prod 257', 'counts', 'set rsp_prod 256', 'counts'],
    },
    {
      name: 'a full ring: RING_SIZE requests outstanding',
      script: ['start 4294967200', ...reqs(256), 'counts', 'push_req', 'counts', ...Array(256).fill('copy_req'), 'counts'],
    },
    {
      name: 'extras overlay request and response slots',
      script: ['start 4294967295', req, 'xreq 1 1 168 5 1 0 0 0', 'xreq 2 0 1 0 94 0 0 1', req, 'push_req', 'copy_req',
        'copy_xreq', 'copy_xreq', 'copy_req', rsp, 'xrsp 4 0 1 1 120 86 52 18', rsp, 'push_rsp', 'copy_rsp', 'copy_xrsp',
        'copy_rsp'],
    },
  ];
}
