/**
 * BlockServer: the remote end of the swap device (REFERENCE §12.1 item 8). It reads each request off the wire,
 * and L steps later puts a reply of S_reply bytes on the wire to the client. Every request is answered,
 * retransmissions included (an NFS server's duplicate request cache replays the reply), so a reply lost at the
 * client is recovered by the client's own retransmission.
 *
 * The server's memory is not the subject: it is modelled as a host on the wire, not as a domain. Pending
 * replies live in typed-array rings (due step, xid, op, slot); nothing is allocated per request.
 *
 * Owns its reply queue and its frame scratch. Referenced by the client NIC (its `wire`) and the step loop
 * (`emitDue`). Dies with the run.
 */

import { ETH_P_IP, IPPROTO_UDP, readU32Be, writeU32Be } from '../../net/wire.ts';
import { SERVER_TO_CLIENT, UDP_HDRS, UdpHeaderWriter } from './frames.ts';
import { RPC_OP, RPC_OP_WRITE, RPC_SLOT, RPC_STATUS, RPC_XID, SERVER_PORT } from './hosts.ts';

/** Replies the server may have pending; beyond it a request is dropped (never reached by the scenario). */
export const SERVER_QUEUE_MAX = 4096;
const RPC_OFF = UDP_HDRS;

export class BlockServerStats {
  requests = 0;
  writes = 0;
  /** Requests whose xid the server had answered before (the client retransmitted). */
  retransmits = 0;
  replies = 0;
  /** Replies the client's NIC had no buffer for. */
  repliesLost = 0;
  overflows = 0;
  malformed = 0;
}

export class BlockServer {
  readonly latency: number;
  readonly replyBytes: number;
  readonly stats = new BlockServerStats();
  private readonly due = new Int32Array(SERVER_QUEUE_MAX);
  private readonly xid = new Uint32Array(SERVER_QUEUE_MAX);
  private readonly op = new Uint32Array(SERVER_QUEUE_MAX);
  private readonly slot = new Uint32Array(SERVER_QUEUE_MAX);
  private head = 0;
  private count = 0;
  /** Highest xid answered so far, to tell retransmissions (xids only grow). */
  private maxXid = -1;
  private readonly frame: Uint8Array;
  private readonly writer = new UdpHeaderWriter();

  constructor(latency: number, replyBytes: number) {
    this.latency = latency;
    this.replyBytes = replyBytes;
    this.frame = new Uint8Array(RPC_OFF + replyBytes);
  }

  /** Replies waiting to be sent. */
  get pending(): number {
    return this.count;
  }

  /** A frame from the client reached the server at step `t` (`len` header bytes of it are in `b`). */
  receive(b: Uint8Array, len: number, t: number): void {
    if (len < RPC_OFF + 16 || ((b[12]! << 8) | b[13]!) !== ETH_P_IP || b[23] !== IPPROTO_UDP || ((b[36]! << 8) | b[37]!) !== SERVER_PORT) {
      this.stats.malformed++;
      return;
    }
    const st = this.stats;
    st.requests++;
    const xid = readU32Be(b, RPC_OFF + RPC_XID);
    const op = readU32Be(b, RPC_OFF + RPC_OP);
    if (op === RPC_OP_WRITE) st.writes++;
    if (xid <= this.maxXid) st.retransmits++;
    else this.maxXid = xid;
    if (this.count === SERVER_QUEUE_MAX) {
      st.overflows++;
      return;
    }
    const i = (this.head + this.count) % SERVER_QUEUE_MAX;
    this.due[i] = t + this.latency;
    this.xid[i] = xid;
    this.op[i] = op;
    this.slot[i] = readU32Be(b, RPC_OFF + RPC_SLOT);
    this.count++;
  }

  /** Send every reply due by step `t` to `deliver` (the client NIC's receive). */
  emitDue(t: number, deliver: (frame: Uint8Array, len: number) => boolean): number {
    let n = 0;
    while (this.count > 0 && this.due[this.head]! <= t) {
      const i = this.head;
      this.head = (this.head + 1) % SERVER_QUEUE_MAX;
      this.count--;
      const len = this.buildReply(this.xid[i]!, this.op[i]!, this.slot[i]!);
      this.stats.replies++;
      if (!deliver(this.frame, len)) this.stats.repliesLost++;
      n++;
    }
    return n;
  }

  /** Forget pending replies (teardown). */
  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  private buildReply(xid: number, op: number, slot: number): number {
    const b = this.frame;
    const payload = this.replyBytes;
    b.fill(0, RPC_OFF, RPC_OFF + payload);
    writeU32Be(b, RPC_OFF + RPC_XID, xid);
    writeU32Be(b, RPC_OFF + RPC_OP, op);
    writeU32Be(b, RPC_OFF + RPC_SLOT, slot);
    writeU32Be(b, RPC_OFF + RPC_STATUS, 0);
    this.writer.write(b, SERVER_TO_CLIENT, payload, true);
    return RPC_OFF + payload;
  }
}
