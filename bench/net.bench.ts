/**
 * net hot paths: a UDP frame through netifReceiveSkb to a socket and back out of the reader; a tagged frame
 * refused by sk_filter; a bridge flood to four ports. Per packet only sk_buff objects (pooled) are made; run
 * with `node --expose-gc` to see mitata's heap column.
 *
 *   npx tsx bench/run.ts net
 */
import { bench, do_not_optimize, group } from 'mitata';
import { MachineMemory } from '../src/hv/memory.ts';
import { FlatPageAllocator } from '../src/mm/page-allocator.ts';
import { ExecContext } from '../src/mm/task.ts';
import { Scheduler } from '../src/sim/scheduler.ts';
import { allocSkb, consumeSkb, skbPutData, skbReserve } from '../src/skb/index.ts';
import {
  brAddIf,
  brCreate,
  emitEth,
  emitIpv4,
  emitUdp,
  ETH_BROADCAST,
  ETH_HLEN,
  ETH_P_IP,
  ethTypeTrans,
  IPPROTO_UDP,
  IPV4_HLEN,
  netifReceiveSkb,
  netStackCreate,
  newIpv4Hdr,
  newL4Hdr,
  NullDevice,
  SOCK_DGRAM,
  skSetMemalloc,
  sockCreate,
  sockRecv,
  UDP_HLEN,
  type NetStack,
} from '../src/net/index.ts';

function frame(dst: number, payload: number): Uint8Array {
  const b = new Uint8Array(ETH_HLEN + IPV4_HLEN + UDP_HLEN + payload);
  const ip = { ...newIpv4Hdr(), totLen: IPV4_HLEN + UDP_HLEN + payload, protocol: IPPROTO_UDP, saddr: 0x0a000001, daddr: 0x0a000002 };
  emitUdp(b, ETH_HLEN + IPV4_HLEN, ip, { ...newL4Hdr(), sport: 4000, dport: 2049 }, payload);
  emitIpv4(b, ETH_HLEN, ip);
  emitEth(b, 0, { dst, src: 0x00163e000001, proto: ETH_P_IP });
  return b;
}

function stackOn(domid: number): NetStack {
  const mem = new MachineMemory(4096);
  mem.registerDomain(domid);
  return netStackCreate({ pages: new FlatPageAllocator(mem, domid, mem.populate(domid, 4000)), ctx: new ExecContext(), clock: new Scheduler() });
}

function rx(stack: NetStack, bytes: Uint8Array, tagged = false) {
  const skb = allocSkb(stack.env, bytes.length + 64)!;
  skbReserve(skb, 64);
  skbPutData(skb, bytes);
  skb.pfmemalloc = tagged;
  ethTypeTrans(skb);
  return skb;
}

const s1 = stackOn(1);
const dev1 = new NullDevice('eth0', 2, 0x00163e000002);
const sk1 = sockCreate(s1, SOCK_DGRAM, 2049);
const ms = sockCreate(s1, SOCK_DGRAM, 999);
skSetMemalloc(ms);
const udp = frame(0x00163e000002, 1400);

const s2 = stackOn(2);
const br = brCreate(s2, 'br0', 10, 0x00163e0000fe);
const ports = [0, 1, 2, 3, 4].map((i) => new NullDevice(`vif${i}.0`, 20 + i, 0xfeffffffffff));
for (const p of ports) brAddIf(br, p);
const bcast = frame(ETH_BROADCAST, 1400);
const sk2 = sockCreate(s2, SOCK_DGRAM, 2049);

group('net: receive', () => {
  bench('UDP 1400 B: netifReceiveSkb to a socket, read and consumed', () => {
    netifReceiveSkb(s1, dev1, rx(s1, udp));
    const got = sockRecv(sk1)!;
    do_not_optimize(got.len);
    consumeSkb(got);
  });
  bench('tagged UDP 1400 B refused by sk_filter at an ordinary socket', () => {
    do_not_optimize(netifReceiveSkb(s1, dev1, rx(s1, udp, true)));
  });
  bench('bridge: broadcast flooded to 4 ports (4 clones) and delivered up', () => {
    netifReceiveSkb(s2, ports[0]!, rx(s2, bcast));
    const got = sockRecv(sk2)!;
    do_not_optimize(got.len);
    consumeSkb(got);
  });
});
