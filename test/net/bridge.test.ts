import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgument } from '../../src/errors.ts';
import { PcapWriter, readPcap } from '../../src/report/pcap.ts';
import {
  BR_STATE_DISABLED,
  ETH_BROADCAST,
  SOCK_DGRAM,
  brAddIf,
  brCreate,
  brDelIf,
  brFdbFind,
  bridgeCapturePcap,
  netifReceiveSkb,
  packetSocketClose,
  packetSocketOpen,
  skSetMemalloc,
  sockClose,
  sockCreate,
} from '../../src/net/index.ts';
import { throwsType } from '../support/assert.ts';
import { end, frameBytes, MAC_A, MAC_B, MAC_BR, MAC_C, netWorld, rxFrame, rxPaged, rxSkb, SinkDevice } from './fixtures.ts';

const MAC_D = 0x00163e000004;

function setup(nPorts = 3) {
  const w = netWorld();
  const stack = w.a.stack;
  const br = brCreate(stack, 'br0', 10, MAC_BR);
  const devs: SinkDevice[] = [];
  const ports = [];
  for (let i = 0; i < nPorts; i++) {
    const d = new SinkDevice(`vif${i + 1}.0`, 20 + i, 0xfeffffffffff);
    devs.push(d);
    ports.push(brAddIf(br, d));
  }
  return { w, stack, br, devs, ports };
}

/** Frame from `src` to `dst` received on port device `d`. */
function inject(s: ReturnType<typeof setup>, d: SinkDevice, src: number, dst: number, tagged = false) {
  netifReceiveSkb(s.stack, d, rxFrame(s.stack, { src, dst }, tagged));
}

test('bridge: an unknown destination is flooded to every other port: clones for all but the last, which gets the skb itself', () => {
  const s = setup(4);
  inject(s, s.devs[0]!, MAC_A, MAC_D);
  assert.equal(s.devs.map((d) => d.sent.length), [0, 1, 1, 1]);
  assert.is(s.br.stats.clones, 2);
  assert.is(s.br.stats.flooded, 1);
  assert.equal([...s.devs[3]!.sent[0]!], [...frameBytes({ src: MAC_A, dst: MAC_D })], 'the Ethernet header is pushed back on');
  end(s.w);
});

test('bridge: learns source MACs and forwards a known destination to its port only, without cloning', () => {
  const s = setup(3);
  inject(s, s.devs[0]!, MAC_A, MAC_D); // learn A on port 1 (flood)
  inject(s, s.devs[1]!, MAC_B, MAC_A); // to A: port 1 only
  assert.equal(s.devs.map((d) => d.sent.length), [1, 1, 1]);
  assert.is(brFdbFind(s.br, MAC_A)!.port, s.ports[0]);
  assert.is(brFdbFind(s.br, MAC_B)!.port, s.ports[1]);
  assert.is(s.br.stats.forwarded, 1);
  assert.is(s.br.stats.clones, 1, 'only the first flood cloned');
  // A moves to port 3.
  inject(s, s.devs[2]!, MAC_A, MAC_B);
  assert.is(brFdbFind(s.br, MAC_A)!.port, s.ports[2]);
  end(s.w);
});

test('bridge: a frame to a MAC learned on its own ingress port is dropped', () => {
  const s = setup(2);
  inject(s, s.devs[0]!, MAC_A, MAC_D);
  inject(s, s.devs[0]!, MAC_C, MAC_A);
  assert.is(s.devs[1]!.sent.length, 1);
  assert.is(s.br.stats.dropped, 1);
  end(s.w);
});

test('bridge: broadcast goes to the host (the original) and to every other port (clones)', () => {
  const s = setup(3);
  const sk = sockCreate(s.stack, SOCK_DGRAM, 2049);
  inject(s, s.devs[0]!, MAC_A, ETH_BROADCAST);
  assert.equal(s.devs.map((d) => d.sent.length), [0, 1, 1]);
  assert.is(s.br.stats.clones, 2);
  assert.is(s.br.stats.localDelivered, 1);
  assert.is(sk.receiveQueue.qlen, 1);
  assert.is(s.br.dev.stats.rxPackets, 1);
  sockClose(sk);
  end(s.w);
});

test("bridge: a frame for the bridge's own MAC goes up to the host only", () => {
  const s = setup(3);
  const sk = sockCreate(s.stack, SOCK_DGRAM, 2049);
  inject(s, s.devs[0]!, MAC_A, MAC_BR);
  assert.equal(s.devs.map((d) => d.sent.length), [0, 0, 0]);
  assert.is(sk.receiveQueue.qlen, 1);
  sockClose(sk);
  end(s.w);
});

test('bridge: a flooded clone keeps the guest page mapped until the last port device has released its copy', () => {
  const s = setup(3);
  for (const d of s.devs) d.hold = true;
  const pr = rxPaged(s.stack, frameBytes({ src: MAC_A, dst: MAC_D, payload: new Uint8Array(1400).fill(1) }));
  netifReceiveSkb(s.stack, s.devs[0]!, pr.skb);
  assert.is(pr.dtor.ref, 1, 'clones share one slot: one reference');
  s.devs[1]!.release();
  assert.is(pr.log.destroyed, 0);
  s.devs[2]!.release();
  assert.is(pr.log.destroyed, 1);
  end(s.w);
});

test('bridge: a tagged frame is not forwarded to any port while the rules are active, but still reaches the host if it is for the host', () => {
  const s = setup(3);
  const ms = sockCreate(s.stack, SOCK_DGRAM, 2049);
  skSetMemalloc(ms);
  inject(s, s.devs[0]!, MAC_A, MAC_D, true); // unknown unicast: would flood
  assert.equal(s.devs.map((d) => d.sent.length), [0, 0, 0]);
  assert.equal(s.ports.map((p) => p.stats.dropPfmemalloc), [0, 1, 1]);
  assert.is(s.stack.stats.dropPfmemallocForward, 1);
  assert.is(s.br.stats.clones, 0, 'nothing is cloned for ports that refuse it');
  inject(s, s.devs[0]!, MAC_A, ETH_BROADCAST, true); // broadcast: host yes, ports no
  assert.equal(s.devs.map((d) => d.sent.length), [0, 0, 0]);
  assert.is(ms.receiveQueue.qlen, 1);
  inject(s, s.devs[0]!, MAC_A, MAC_D, false);
  assert.equal(s.devs.map((d) => d.sent.length), [0, 1, 1], 'untagged frames flow as before');
  sockClose(ms);
  end(s.w);
});

test('bridge: frames the host sends through br0 are forwarded whatever their tag (the swap client must get out)', () => {
  const s = setup(2);
  const ms = sockCreate(s.stack, SOCK_DGRAM, 999);
  skSetMemalloc(ms);
  inject(s, s.devs[1]!, MAC_B, MAC_BR); // learn B on port 2
  const bytes = frameBytes({ src: MAC_BR, dst: MAC_B });
  const skb = rxSkb(s.stack, bytes, true);
  skb.data -= 14;
  skb.len += 14;
  s.br.dev.ndoStartXmit(skb);
  assert.equal(s.devs.map((d) => d.sent.length), [0, 1]);
  assert.equal([...s.devs[1]!.sent[0]!], [...bytes]);
  sockClose(ms);
  end(s.w);
});

test('bridge: ports whose device is down or disabled are skipped; frames over the MTU are dropped per port', () => {
  const s = setup(3);
  s.devs[1]!.up = false;
  inject(s, s.devs[0]!, MAC_A, MAC_D);
  assert.equal(s.devs.map((d) => d.sent.length), [0, 0, 1]);
  s.devs[1]!.up = true;
  s.ports[1]!.state = BR_STATE_DISABLED;
  s.devs[2]!.mtu = 20;
  inject(s, s.devs[0]!, MAC_A, MAC_D);
  assert.is(s.ports[2]!.stats.dropMtu, 1);
  assert.equal(s.devs.map((d) => d.sent.length), [0, 0, 1]);
  end(s.w);
});

test('bridge: fdb entries age out; brDelIf removes the handler and what was learned on the port', () => {
  const s = setup(2);
  inject(s, s.devs[0]!, MAC_A, MAC_D);
  assert.ok(brFdbFind(s.br, MAC_A) !== null);
  s.w.clock.runUntil(s.br.ageingTimeNs + 1);
  assert.is(brFdbFind(s.br, MAC_A), null);
  inject(s, s.devs[0]!, MAC_A, MAC_D);
  brDelIf(s.br, s.ports[0]!);
  assert.is(s.devs[0]!.rxHandler, null);
  assert.is(s.br.fdb.get(MAC_A), undefined);
  throwsType(() => brDelIf(s.br, s.ports[0]!), InvalidArgument);
  throwsType(() => brAddIf(s.br, s.devs[1]!), InvalidArgument);
  end(s.w);
});

test('bridge: a group source MAC is refused at ingress', () => {
  const s = setup(2);
  inject(s, s.devs[0]!, ETH_BROADCAST, MAC_D);
  assert.is(s.ports[0]!.stats.dropIngress, 1);
  assert.equal(s.devs.map((d) => d.sent.length), [0, 0]);
  end(s.w);
});

test('bridge: taps on the port see received frames, taps on the egress device see the flooded copies', () => {
  const s = setup(3);
  const all = packetSocketOpen(s.stack);
  inject(s, s.devs[0]!, MAC_A, MAC_D);
  assert.is(all.stats.seen, 3, 'one on ingress, one per egress port');
  packetSocketClose(all);
  end(s.w);
});

test('bridge: the capture hook records every frame entering the bridge as pcap', () => {
  const s = setup(2);
  const pcap = new PcapWriter();
  bridgeCapturePcap(s.br, pcap);
  inject(s, s.devs[0]!, MAC_A, MAC_D);
  inject(s, s.devs[1]!, MAC_B, MAC_A);
  const recs = readPcap(pcap.toBytes());
  assert.is(recs.length, 2);
  assert.equal([...recs[1]!.data], [...frameBytes({ src: MAC_B, dst: MAC_A })]);
  end(s.w);
});

test.run();
