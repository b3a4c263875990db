/**
 * The ring-and-grant walkthrough: the foundation end to end, with nothing above it (no sk_buff, no driver).
 *
 * A guest (domid 1) initialises a netif TX ring page, grants it to dom0 and offers an unbound event channel;
 * dom0 maps the ring and binds the channel. The guest then writes packets into its own frames, grants each
 * frame read-only, posts TX requests (first slot size = total, NETTXF_more_data chaining), pushes and notifies
 * only if the ring says so. dom0's handler snapshots each request once (ringCopyRequest), grant-copies the
 * bytes out into its own frame with one batched GNTTABOP_copy, checks them, answers OKAY and notifies. The
 * guest consumes the responses, ends foreign access (which succeeds: nothing is pinned) and frees its frames.
 * Finally dom0 unmaps the ring, both close their ports, and the teardown audit must find nothing.
 *
 * Everything runs on the deterministic scheduler, so the printed trace is the same on every run.
 */

import { DOMID_SELF } from '../abi/xen.ts';
import { XEN_PAGE_SIZE } from '../abi/page.ts';
import { GNTCOPY_source_gref, GNTMAP_host_map, GNTST_okay, gntstName } from '../abi/grant_table.ts';
import {
  backRingAttach, ringCopyRequest, ringFinalCheckForRequests, ringFinalCheckForResponses, ringCopyResponse,
  ringPushRequestsAndCheckNotify, ringPushResponsesAndCheckNotify, ringPutRequest, ringPutResponse,
  xenFrontRingInit,
} from '../abi/ring.ts';
import {
  NETTXF_more_data, XEN_NETIF_RSP_OKAY, netifTxRingType, type NetifTxRequest, type NetifTxResponse,
} from '../abi/netif.ts';
import { Hypervisor } from '../hv/hypervisor.ts';
import { newGnttabCopy, newMapGrantRef, newUnmapGrantRef, gnttabSetMapOp, gnttabSetUnmapOp } from '../hv/grant-ops.ts';
import { auditHypervisor, snapshot } from '../hv/audit.ts';
import { IrqDispatcher } from '../drivers/evtchn-irq.ts';
import { Scheduler } from './scheduler.ts';
import { InvalidArgument } from '../errors.ts';

export interface WalkthroughResult {
  packets: number;
  slots: number;
  bytes: number;
  notifiesToBackend: number;
  notifiesToGuest: number;
  grantsEnded: number;
  copyOps: number;
  /** Slots whose copied bytes differed from what the guest wrote (must stay 0). */
  badBytes: number;
  auditFindings: string[];
  virtualNs: number;
  modelledNs: number;
  log: string[];
}

/** Run the walkthrough with packets of the given sizes (each ≤ 3 pages here). */
export function runRingWalkthrough(sizes: readonly number[] = [60, 1514, 9000]): WalkthroughResult {
  const log: string[] = [];
  const sched = new Scheduler();
  // One guest frame for the ring and one per slot; the walkthrough does not reuse frames.
  const totalSlots = sizes.reduce((n, size) => n + Math.max(1, Math.ceil(size / XEN_PAGE_SIZE)), 0);
  if (totalSlots > 200) throw new InvalidArgument(`ring walkthrough: ${totalSlots} slots asked, at most 200`);
  const hv = new Hypervisor({ frames: 64 + totalSlots, clock: sched });
  const irq = new IrqDispatcher(hv, 2_000);
  const dom0 = hv.createDomain({ domid: 0, frames: 16, name: 'dom0' });
  const guest = hv.createDomain({ domid: 1, frames: 1 + totalSlots, name: 'guest' });
  const baseline = snapshot(hv);
  const say = (who: string, what: string) => log.push(`${String(sched.now()).padStart(7)} ns  ${who.padEnd(6)} ${what}`);
  const res: WalkthroughResult = {
    packets: 0, slots: 0, bytes: 0, notifiesToBackend: 0, notifiesToGuest: 0, grantsEnded: 0, copyOps: 0, badBytes: 0,
    auditFindings: [], virtualNs: 0, modelledNs: 0, log,
  };

  // ---- guest: ring page, grant, event channel ------------------------------------------------------------
  let nextGuestFrame = 0;
  const guestFrame = () => guest.frames[nextGuestFrame++]!;
  const ringFrame = guestFrame();
  const front = xenFrontRingInit(netifTxRingType, hv.mem.page(guest.domid, ringFrame, true));
  const ringRef = guest.gnttab.gnttabGrantForeignAccess(dom0.domid, ringFrame, false);
  const gport = hv.evtchn.evtchnAllocUnbound(guest, DOMID_SELF, dom0.domid);
  say('guest', `tx ring in frame ${ringFrame}, granted as ref ${ringRef}; unbound port ${gport} (RING_SIZE ${front.nrEnts})`);

  // ---- dom0: map the ring, attach at rsp_prod, bind ---------------------------------------------------------
  const map = newMapGrantRef();
  gnttabSetMapOp(map, 0x10000, GNTMAP_host_map, ringRef, guest.domid);
  hv.gnttabMapGrantRef(dom0, [map], 1);
  if (map.status !== GNTST_okay) throw new Error(`ring map failed: ${gntstName(map.status)}`);
  const ringMfn = map.dev_bus_addr / XEN_PAGE_SIZE;
  const backPage = hv.mem.page(dom0.domid, ringMfn, true);
  const back = backRingAttach(netifTxRingType, backPage, front.sring.rspProd);
  const bport = hv.evtchn.evtchnBindInterdomain(dom0, guest.domid, gport);
  say('dom0', `mapped ring ref ${ringRef} (handle ${map.handle}), bound port ${bport} to dom1:${gport}`);

  // ---- dom0's handler: copy each request once, grant-copy the data out, answer ---------------------------
  // One dom0 frame per slot of a packet as the copy destination (the walkthrough's packets are ≤ 16 slots).
  const copies = Array.from({ length: 16 }, newGnttabCopy);
  const req: NetifTxRequest = { gref: 0, offset: 0, flags: 0, id: 0, size: 0 };
  const rsp: NetifTxResponse = { id: 0, status: 0 };
  const ids: number[] = [];
  irq.bindEvtchnToIrqhandler(dom0, bport, () => {
    do {
      while (back.reqCons !== back.sring.reqProd) {
        let n = 0;
        let total = -1;
        let copied = 0;
        let more: boolean;
        ids.length = 0;
        do {
          ringCopyRequest(back, back.reqCons, req);
          back.reqCons = back.reqCons + 1;
          if (total < 0) total = req.size;
          const op = copies[n++]!;
          op.source.u.ref = req.gref;
          op.source.domid = guest.domid;
          op.source.offset = req.offset;
          op.dest.u.gmfn = dom0.frames[n - 1]!;
          op.dest.domid = DOMID_SELF;
          op.dest.offset = 0;
          op.len = Math.min(req.size, XEN_PAGE_SIZE - req.offset);
          op.flags = GNTCOPY_source_gref;
          ids.push(req.id);
          more = (req.flags & NETTXF_more_data) !== 0;
        } while (more && n < copies.length);
        // The first slot's size is the packet total; its own share is the total minus the follow-on slots.
        let followOn = 0;
        for (let i = 1; i < n; i++) followOn += copies[i]!.len;
        copies[0]!.len = total - followOn;
        hv.gnttabCopy(dom0, copies, n);
        res.copyOps += n;
        for (let i = 0; i < n; i++) {
          const op = copies[i]!;
          copied += op.len;
          // The guest filled slot i of a packet with the byte (total + i) & 0xff: check first and last byte.
          const at = hv.mem.checkRead(dom0.domid, op.dest.u.gmfn);
          const want = (total + i) & 0xff;
          if (hv.mem.bytes[at] !== want || hv.mem.bytes[at + op.len - 1] !== want) res.badBytes++;
          rsp.id = ids[i]!;
          rsp.status = op.status === GNTST_okay ? XEN_NETIF_RSP_OKAY : -1;
          ringPutResponse(back, back.rspProdPvt, rsp);
          back.rspProdPvt = back.rspProdPvt + 1;
        }
        say('dom0', `packet of ${total} B in ${n} slot(s): grant-copied ${copied} B, answered ${n} response(s)`);
      }
      if (ringPushResponsesAndCheckNotify(back)) {
        res.notifiesToGuest++;
        hv.evtchn.evtchnSend(dom0, bport);
      }
    } while (ringFinalCheckForRequests(back));
  });

  // ---- guest: post the packets ---------------------------------------------------------------------------
  interface Slot { ref: number; frame: number }
  const inflight = new Map<number, Slot>();
  let nextId = 0;
  for (const size of sizes) {
    const nslots = Math.max(1, Math.ceil(size / XEN_PAGE_SIZE));
    for (let s = 0; s < nslots; s++) {
      const frame = guestFrame();
      const len = Math.min(XEN_PAGE_SIZE, size - s * XEN_PAGE_SIZE);
      hv.mem.fill(guest.domid, frame, 0, len, (size + s) & 0xff);
      const ref = guest.gnttab.gnttabGrantForeignAccess(dom0.domid, frame, true);
      const id = nextId++;
      inflight.set(id, { ref, frame });
      ringPutRequest(front, front.reqProdPvt, {
        gref: ref, offset: 0, id,
        flags: s + 1 < nslots ? NETTXF_more_data : 0,
        size: s === 0 ? size : len,
      });
      front.reqProdPvt = front.reqProdPvt + 1;
      res.slots++;
    }
    res.packets++;
    res.bytes += size;
    say('guest', `posted a ${size} B packet in ${nslots} slot(s)`);
  }
  if (ringPushRequestsAndCheckNotify(front)) {
    res.notifiesToBackend++;
    hv.evtchn.evtchnSend(guest, gport);
    say('guest', `pushed req_prod=${front.sring.reqProd}; req_event said notify: sent an event on port ${gport}`);
  }

  // ---- guest's handler: consume responses, end access, reuse -----------------------------------------------
  const got: NetifTxResponse = { id: 0, status: 0 };
  irq.bindEvtchnToIrqhandler(guest, gport, () => {
    do {
      while (front.rspCons !== front.sring.rspProd) {
        ringCopyResponse(front, front.rspCons, got);
        front.rspCons = front.rspCons + 1;
        const slot = inflight.get(got.id);
        if (slot === undefined) continue;
        inflight.delete(got.id);
        if (guest.gnttab.gnttabEndForeignAccessRef(slot.ref)) {
          guest.gnttab.gnttabFreeGrantReference(slot.ref);
          res.grantsEnded++;
        }
      }
    } while (ringFinalCheckForResponses(front));
    say('guest', `consumed responses up to ${front.rspCons}; ended ${res.grantsEnded} grant(s), frames free to reuse`);
  });

  sched.runUntilIdle();

  // ---- teardown ------------------------------------------------------------------------------------------
  irq.unbindFromIrqhandler(dom0, bport);
  irq.unbindFromIrqhandler(guest, gport);
  hv.evtchn.evtchnClose(dom0, bport);
  hv.evtchn.evtchnClose(guest, gport);
  const unmap = newUnmapGrantRef();
  gnttabSetUnmapOp(unmap, 0x10000, GNTMAP_host_map, map.handle);
  hv.gnttabUnmapGrantRef(dom0, [unmap], 1);
  if (guest.gnttab.gnttabEndForeignAccessRef(ringRef)) guest.gnttab.gnttabFreeGrantReference(ringRef);
  say('dom0', `unmapped the ring (${gntstName(unmap.status)}); both ports closed`);
  sched.runUntilIdle();
  res.auditFindings = auditHypervisor(hv, baseline);
  res.virtualNs = sched.now();
  res.modelledNs = hv.totalModelledNs();
  say('audit', res.auditFindings.length === 0 ? 'clean: no mapping, no pinned grant, every frame with its owner'
    : `${res.auditFindings.length} finding(s): ${res.auditFindings.join('; ')}`);
  return res;
}
