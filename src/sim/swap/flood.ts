/**
 * FloodSource: the unrelated traffic (REFERENCE §12.1 item 11). From step t0 on, F × multiplier frames of
 * S_flood bytes a step arrive at the client's NIC: UDP to the flooded socket, and one in `nonIpEvery` with an
 * ethertype no handler takes (for the protocol rule, invariant 4). With a tap open, the tap sees each of them
 * that is received untagged. The NIC takes as many as it has posted buffers for; the rest are lost in hardware,
 * counted here without touching memory (no per-frame work for frames the ring cannot take, so `flood=100` costs
 * what the ring can absorb, not 100 times more).
 *
 * Owns two frame templates (headers only: the payload is whatever the receive buffer held). Referenced by the
 * scenario's step loop. Dies with the run.
 */

import type { Prng } from '../prng.ts';
import { FLOODER_TO_CLIENT, UDP_HDRS, UdpHeaderWriter } from './frames.ts';
import { ETH_P_EXPERIMENTAL } from './hosts.ts';
import type { SwapNic } from './nic.ts';

/** Header bytes of a flood frame the NIC copies (Ethernet + IPv4 + UDP). */
export const FLOOD_HDR = UDP_HDRS;

export class FloodStats {
  /** Frames that reached the NIC. */
  offered = 0;
  /** Frames the NIC took into a buffer. */
  accepted = 0;
  /** Frames lost in hardware (no posted buffer). */
  hwDropped = 0;
  /** Non-IP frames the NIC took. */
  nonIp = 0;
}

export class FloodSource {
  readonly perStep: number;
  readonly frameBytes: number;
  readonly start: number;
  readonly nonIpEvery: number;
  readonly ipFrame = new Uint8Array(FLOOD_HDR);
  readonly otherFrame = new Uint8Array(FLOOD_HDR);
  readonly stats = new FloodStats();

  constructor(perStep: number, frameBytes: number, start: number, nonIpEvery: number) {
    this.perStep = perStep;
    this.frameBytes = frameBytes;
    this.start = start;
    this.nonIpEvery = nonIpEvery;
    new UdpHeaderWriter().write(this.ipFrame, FLOODER_TO_CLIENT, frameBytes - FLOOD_HDR);
    this.otherFrame.set(this.ipFrame);
    this.otherFrame[12] = ETH_P_EXPERIMENTAL >> 8;
    this.otherFrame[13] = ETH_P_EXPERIMENTAL & 0xff;
  }

  /** Step `t`: the frames of this step arrive at `nic`. Returns how many the NIC took. */
  arrive(t: number, nic: SwapNic, prng: Prng): number {
    if (t < this.start || this.perStep === 0) return 0;
    const q = nic.queues[nic.steer(this.ipFrame)]!;
    const n = this.perStep;
    const take = Math.min(n, q.room);
    const st = this.stats;
    st.offered += n;
    // One frame in nonIpEvery is not IP, at a position drawn from the seed each step.
    const every = this.nonIpEvery;
    let next = every > 0 ? prng.nextU32() % every : -1;
    for (let i = 0; i < take; i++) {
      const other = i === next;
      if (other) {
        next += every;
        st.nonIp++;
      }
      nic.rxDma(q, other ? this.otherFrame : this.ipFrame, FLOOD_HDR, this.frameBytes);
    }
    st.accepted += take;
    st.hwDropped += n - take;
    nic.stats.rxDropped += n - take;
    q.missed += n - take;
    return take;
  }
}
