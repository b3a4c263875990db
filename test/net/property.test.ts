/**
 * Random mixes of everything the stack does with an skb: taps with random hold times and buffers, a bridge
 * flooding and forwarding to ports that free at once, hold, or queue on a slow NIC linked to a second stack,
 * sockets whose readers block and unblock, a memalloc socket that comes and goes, tagged and untagged frames,
 * linear frames and frames whose payload is a page frag with a destructor (netback's map mode), reads and
 * releases at random times. After every step: taps and ordinary sockets hold no tagged skb taken while the
 * rules were active (REFERENCE §12.4 invariants 2-3). At the end, with everything closed: every destructor
 * fired exactly once, and the skb audit and both allocators are back at their baseline. A double free
 * anywhere would have thrown UseAfterDestroy.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { consumeSkb } from '../../src/skb/index.ts';
import {
  DevQueue,
  ETH_BROADCAST,
  IPPROTO_TCP,
  IPPROTO_UDP,
  SOCK_DGRAM,
  SOCK_STREAM,
  brAddIf,
  brCreate,
  devQueuePurge,
  netifReceiveSkb,
  packetSocketClose,
  packetSocketOpen,
  skSetMemalloc,
  sockClose,
  sockCreate,
  sockRecv,
  tapRecv,
  wireLink,
  type PacketSocket,
  type Sock,
} from '../../src/net/index.ts';
import { end, frameBytes, MAC_A, MAC_B, MAC_BR, MAC_C, netWorld, rxPaged, rxSkb, SinkDevice } from './fixtures.ts';

const RUNS = Math.max(1, Math.round(Number(process.env.PVNET_PROPERTY_RUNS ?? 8000) / 40));
const US = 1000;

type Op =
  | { k: 'rx'; port: number; dst: number; tagged: boolean; paged: boolean; proto: number; dport: number; size: number }
  | { k: 'time'; us: number }
  | { k: 'read'; sock: number }
  | { k: 'tapRead'; tap: number }
  | { k: 'release'; port: number }
  | { k: 'memalloc' }
  | { k: 'block'; sock: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('rx' as const), port: fc.nat(2), dst: fc.nat(4), tagged: fc.boolean(), paged: fc.boolean(), proto: fc.nat(2), dport: fc.constantFrom(2049, 2050, 7), size: fc.integer({ min: 0, max: 3000 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('time' as const), us: fc.integer({ min: 1, max: 5000 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('read' as const), sock: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('tapRead' as const), tap: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('release' as const), port: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('memalloc' as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('block' as const), sock: fc.nat(2) }) },
);

const tapArb = fc.record({ holdUs: fc.option(fc.integer({ min: 0, max: 4000 }), { nil: undefined }), rcvbuf: fc.integer({ min: 1, max: 60_000 }) });

const DSTS = [MAC_BR, MAC_C, ETH_BROADCAST, MAC_A, MAC_B];

test('property: any mix of taps, floods, sockets and device queues frees every skb exactly once and leaves the audit clean', () => {
  fc.assert(
    fc.property(fc.array(tapArb, { maxLength: 2 }), fc.integer({ min: 0, max: 3000 }), fc.array(opArb, { maxLength: 60 }), (taps, nicDelayUs, ops) => {
      const w = netWorld();
      const stack = w.a.stack;
      const br = brCreate(stack, 'br0', 10, MAC_BR);
      const vifs = [new SinkDevice('vif1.0', 21, 1), new SinkDevice('vif2.0', 22, 2)];
      vifs[1]!.hold = true;
      const nic = new DevQueue({ name: 'eth0', ifindex: 23, mac: 3, clock: w.clock, delayNs: nicDelayUs * US, rateBps: 100_000_000 });
      const peer = new DevQueue({ name: 'eth0', ifindex: 2, mac: MAC_C, clock: w.clock });
      wireLink(nic, stack, peer, w.b.stack);
      const portDevs = [vifs[0]!, vifs[1]!, nic];
      for (const d of portDevs) brAddIf(br, d);
      const tapObjs: PacketSocket[] = taps.map((t) => packetSocketOpen(stack, { rcvbuf: t.rcvbuf, ...(t.holdUs !== undefined ? { holdNs: t.holdUs * US } : {}) }));
      const socks: Sock[] = [
        sockCreate(stack, SOCK_DGRAM, 2049, { rcvbuf: 50_000 }),
        sockCreate(stack, SOCK_STREAM, 2050, { rcvbuf: 50_000 }),
        sockCreate(w.b.stack, SOCK_DGRAM, 2049, { rcvbuf: 50_000 }),
      ];
      let memSock: Sock | null = null;
      const logs: { destroyed: number }[] = [];

      const checkInvariants = () => {
        for (const sk of socks.slice(0, 2)) {
          for (let s = sk.receiveQueue.first; s !== null; s = s.next) assert.not.ok(s.pfmemalloc, 'an ordinary socket holds a tagged skb');
        }
      };

      for (const op of ops) {
        switch (op.k) {
          case 'rx': {
            const proto = op.proto === 2 ? 0x88b5 : undefined;
            const bytes = frameBytes({ src: MAC_A + 16 + op.port, dst: DSTS[op.dst]!, dport: op.dport, ipProto: op.proto === 1 ? IPPROTO_TCP : IPPROTO_UDP, payload: new Uint8Array(op.size).fill(op.size & 0xff), ...(proto !== undefined ? { proto } : {}) });
            let skb;
            if (op.paged && op.size > 64) {
              const pr = rxPaged(stack, bytes);
              logs.push(pr.log);
              skb = pr.skb;
            } else skb = rxSkb(stack, bytes);
            skb.pfmemalloc = op.tagged;
            const rules = stack.pfmemallocRulesActive();
            const seen = tapObjs.map((t) => t.stats.seen);
            netifReceiveSkb(stack, portDevs[op.port]!, skb);
            if (rules && op.tagged) {
              tapObjs.forEach((t, i) => assert.is(t.stats.seen, seen[i], 'a tap saw a tagged skb while the rules were active'));
            }
            break;
          }
          case 'time':
            w.clock.runUntil(w.clock.now() + op.us * US);
            break;
          case 'read': {
            const s = sockRecv(socks[op.sock]!);
            if (s !== null) consumeSkb(s);
            break;
          }
          case 'tapRead': {
            const t = tapObjs[op.tap];
            const s = t === undefined ? null : tapRecv(t);
            if (s !== null) consumeSkb(s);
            break;
          }
          case 'release':
            vifs[op.port]!.release();
            break;
          case 'memalloc':
            if (memSock === null) {
              memSock = sockCreate(stack, SOCK_DGRAM, 999);
              skSetMemalloc(memSock);
            } else {
              sockClose(memSock);
              memSock = null;
            }
            break;
          case 'block':
            socks[op.sock]!.readerBlocked = !socks[op.sock]!.readerBlocked;
            break;
        }
        checkInvariants();
      }

      for (const t of tapObjs) packetSocketClose(t);
      for (const sk of socks) sockClose(sk);
      if (memSock !== null) sockClose(memSock);
      for (const v of vifs) v.release();
      w.clock.runUntilIdle(1_000_000);
      devQueuePurge(nic);
      devQueuePurge(peer);
      for (const l of logs) assert.is(l.destroyed, 1, 'every destructor fired exactly once');
      assert.is(stack.memallocSocks, 0);
      end(w);
    }),
    { numRuns: RUNS },
  );
});

test.run();
