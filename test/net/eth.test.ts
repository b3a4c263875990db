import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allocSkb, kfreeSkb, skbPutData, skbReserve } from '../../src/skb/index.ts';
import { ETH_HLEN, ETH_P_802_3, ETH_P_IP, ethTypeTrans, newEthHdr, skbEthHdr, skbMacOffset } from '../../src/net/index.ts';
import { end, frameBytes, MAC_A, MAC_B, netWorld } from './fixtures.ts';

function skbOf(w: ReturnType<typeof netWorld>, b: Uint8Array) {
  const skb = allocSkb(w.a.stack.env, b.length + 64)!;
  skbReserve(skb, 64);
  skbPutData(skb, b);
  return skb;
}

test('eth: eth_type_trans records the mac header, pulls 14 bytes and sets the protocol', () => {
  const w = netWorld();
  const b = frameBytes();
  const skb = skbOf(w, b);
  assert.is(ethTypeTrans(skb), ETH_P_IP);
  assert.is(skb.protocol, ETH_P_IP);
  assert.is(skb.len, b.length - ETH_HLEN);
  assert.is(skbMacOffset(skb), -ETH_HLEN);
  const h = newEthHdr();
  assert.ok(skbEthHdr(skb, h));
  assert.is(h.dst, MAC_B);
  assert.is(h.src, MAC_A);
  kfreeSkb(skb);
  end(w);
});

test('eth: a length field (< 0x600) is 802.3; a frame shorter than a header is -1, not a throw', () => {
  const w = netWorld();
  const b = frameBytes();
  b[12] = 0x00;
  b[13] = 0x40;
  const s1 = skbOf(w, b);
  assert.is(ethTypeTrans(s1), ETH_P_802_3);
  const s2 = skbOf(w, b.subarray(0, 10));
  assert.is(ethTypeTrans(s2), -1);
  assert.is(s2.len, 10, 'untouched');
  kfreeSkb(s1);
  kfreeSkb(s2);
  end(w);
});

test.run();
