import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ETH_P_IP,
  ETH_P_IPV6,
  NETIF_F_GSO_ROBUST,
  NETIF_F_HW_CSUM,
  NETIF_F_IP_CSUM,
  NETIF_F_TSO,
  SKB_GSO_DODGY,
  SKB_GSO_TCPV4,
  SKB_GSO_FRAGLIST,
  canChecksumProtocol,
  netGsoOk,
} from '../../src/skb/index.ts';

test('features: net_gso_ok needs a "can segment" bit for every GSO type bit', () => {
  assert.ok(netGsoOk(0, 0));
  assert.ok(netGsoOk(NETIF_F_TSO, SKB_GSO_TCPV4));
  assert.not.ok(netGsoOk(NETIF_F_TSO, SKB_GSO_TCPV4 | SKB_GSO_DODGY));
  assert.ok(netGsoOk(NETIF_F_TSO | NETIF_F_GSO_ROBUST, SKB_GSO_TCPV4 | SKB_GSO_DODGY));
  assert.not.ok(netGsoOk(NETIF_F_TSO, SKB_GSO_FRAGLIST));
});

test('features: can_checksum_protocol: HW_CSUM covers all, IP_CSUM only IPv4', () => {
  assert.ok(canChecksumProtocol(NETIF_F_HW_CSUM, 0x809b));
  assert.ok(canChecksumProtocol(NETIF_F_IP_CSUM, ETH_P_IP));
  assert.not.ok(canChecksumProtocol(NETIF_F_IP_CSUM, ETH_P_IPV6));
});

test.run();
