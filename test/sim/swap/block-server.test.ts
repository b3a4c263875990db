import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ETH_HLEN, IPV4_HLEN, readU32Be, writeU32Be } from '../../../src/net/wire.ts';
import { BlockServer } from '../../../src/sim/swap/block-server.ts';
import { CLIENT_TO_SERVER, UDP_HDRS as OFF, UdpHeaderWriter } from '../../../src/sim/swap/frames.ts';
import { CLIENT_PORT, RPC_OP, RPC_OP_WRITE, RPC_XID } from '../../../src/sim/swap/hosts.ts';

function request(xid: number): Uint8Array {
  const b = new Uint8Array(OFF + 200);
  new UdpHeaderWriter().write(b, CLIENT_TO_SERVER, 200);
  writeU32Be(b, OFF + RPC_XID, xid);
  writeU32Be(b, OFF + RPC_OP, RPC_OP_WRITE);
  return b;
}

test('block server: answers L steps after the request, with the xid, to the client port', () => {
  const s = new BlockServer(3, 200);
  const req = request(77);
  s.receive(req, req.length, 10);
  const got: number[] = [];
  const deliver = (f: Uint8Array, len: number): boolean => {
    got.push(readU32Be(f, OFF + RPC_XID), (f[ETH_HLEN + IPV4_HLEN + 2]! << 8) | f[ETH_HLEN + IPV4_HLEN + 3]!, len);
    return true;
  };
  assert.is(s.emitDue(12, deliver), 0);
  assert.is(s.emitDue(13, deliver), 1);
  assert.equal(got, [77, CLIENT_PORT, OFF + 200]);
  assert.is(s.stats.writes, 1);
});

test('block server: a retransmitted request is answered again and counted', () => {
  const s = new BlockServer(1, 200);
  const req = request(5);
  s.receive(req, req.length, 0);
  s.receive(req, req.length, 4);
  assert.is(s.stats.retransmits, 1);
  assert.is(s.emitDue(5, () => false), 2);
  assert.is(s.stats.repliesLost, 2, 'the client NIC had no buffer');
});

test('block server: frames that are not requests are ignored', () => {
  const s = new BlockServer(1, 200);
  const req = request(1);
  req[36] = 0;
  s.receive(req, req.length, 0);
  s.receive(req, 20, 0);
  assert.is(s.stats.malformed, 2);
  assert.is(s.pending, 0);
});

test.run();
