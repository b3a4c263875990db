/**
 * net/: the backend domain's network stack: what carries the sk_buffs netback builds.
 *
 * Contract: every function takes the domain's NetStack first (no global stack). Whoever is handed an skb
 * (netifReceiveSkb, devQueueXmit, a protocol handler, rtSendSkb returning true) owns it from then on and frees,
 * queues or passes it exactly once; every operation on it is an src/skb/ operation, so frag references and
 * destructors travel with it (clones for taps and floods, copies only where Linux copies). Bytes from the wire
 * never throw: a bad frame is a counted drop. The reserve-aware receive path of REFERENCE §11.7 is on while a
 * SOCK_MEMALLOC socket exists and costs one comparison otherwise. Nothing here knows about Xen.
 */

export {
  NETDEV_TX_OK,
  NETDEV_TX_BUSY,
  NET_RX_SUCCESS,
  NET_RX_DROP,
  NET_XMIT_SUCCESS,
  NET_XMIT_DROP,
  RX_HANDLER_CONSUMED,
  RX_HANDLER_ANOTHER,
  RX_HANDLER_EXACT,
  RX_HANDLER_PASS,
  PacketType,
  NetDeviceBase,
  newNetDeviceStats,
} from './netdevice.ts';
export type { NetDevice, NetDeviceStats, PacketHandler } from './netdevice.ts';
export {
  ETH_HLEN,
  ETH_ALEN,
  ETH_P_IP,
  ETH_P_ARP,
  ETH_P_8021Q,
  ETH_P_IPV6,
  ETH_P_ALL,
  ETH_P_802_3,
  ETH_P_802_2,
  ETH_P_802_3_MIN,
  ETH_BROADCAST,
  VLAN_HLEN,
  IPV4_HLEN,
  UDP_HLEN,
  TCP_HLEN,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IP_CE,
  IP_DF,
  IP_MF,
  IP_OFFSET,
  TCP_FIN,
  TCP_SYN,
  TCP_RST,
  TCP_PSH,
  TCP_ACK,
  WIRE_OK,
  WIRE_TRUNCATED,
  WIRE_MALFORMED,
  newEthHdr,
  newIpv4Hdr,
  newL4Hdr,
  isMulticastEtherAddr,
  isValidEtherAddr,
  emitEth,
  parseEth,
  csumPartial,
  emitIpv4,
  parseIpv4,
  emitUdp,
  emitTcp,
  emitUdpPartial,
  emitTcpPartial,
  csumFinishPartial,
  parseL4,
  parseL4Header,
  l4ChecksumOk,
  ipv4FragOffField,
  ipv4SetLenFrag,
  readU32Be,
  writeU32Be,
} from './wire.ts';
export type { EthHdr, Ipv4Hdr, L4Hdr } from './wire.ts';
export { EAGAIN, ENOBUFS } from './errno.ts';
export {
  RX_RESERVE_AWARE,
  RX_RESERVE_NAIVE,
  RX_RESERVE_OFF,
  NETDEV_MAX_BACKLOG,
  DEV_WEIGHT,
  IPFRAG_HIGH_THRESH,
  IPFRAG_LOW_THRESH,
  IPFRAG_TIME_NS,
  NET_SCRATCH_BYTES,
} from './constants.ts';
export type { RxReserveMode } from './constants.ts';
export { NetStack, NetStackStats, ProtoMem, Backlog, netStackCreate } from './stack.ts';
export type { NetStackOptions, NetStackCreateOptions } from './stack.ts';
export {
  netifReceiveSkb,
  deliverSkb,
  skbShareCheck,
  skbPfmemallocProtocol,
  enqueueToBacklog,
  netifRx,
  processBacklog,
  doSoftirq,
  netdevAllocSkbRx,
  devAddPack,
  devRemovePack,
} from './receive.ts';
export { ethTypeTrans, skbMacOffset, skbEthHdr } from './eth.ts';
export {
  inetInit,
  arpRcv,
  ipv6Rcv,
  ipIsLocal,
  ipRcv,
  ipLocalDeliverFinish,
  udpRcv,
  tcpRcv,
  ipNfqueueAttach,
} from './ipv4.ts';
export { ipDefrag, IpFragState, FragQueue, IPFRAG_MAX_FRAGS } from './ipfrag.ts';
export {
  NfQueue,
  NF_ACCEPT,
  NF_DROP,
  NFQNL_QMAX_DEFAULT,
  nfqueueAttach,
  nfqueueDetach,
  nfqueueEnqueue,
  nfqueueVerdict,
} from './nfqueue.ts';
export {
  Sock,
  SockStats,
  SOCK_STREAM,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_DEAD,
  SOCK_MEMALLOC,
  SK_RMEM_DEFAULT,
  sockFlag,
  sockCreate,
  sockClose,
  skSetMemalloc,
  skClearMemalloc,
  skGfpAtomic,
  skFilter,
  skRmemSchedule,
  skbOrphan,
  sockRfree,
  skbSetOwnerR,
  sockQueueRcvSkb,
  sockQueueRcvSkbNoFilter,
  tcpQueueRcvSkb,
  sockRecv,
  sockDrain,
  sockLookup,
} from './sock.ts';
export type { SockOptions } from './sock.ts';
export { PacketSocket, PacketSocketStats, packetSocketOpen, packetRcv, tapRecv, packetSocketClose } from './tap.ts';
export type { PacketSocketOptions } from './tap.ts';
export {
  NetBridge,
  BridgeDevice,
  BridgePort,
  BridgePortStats,
  BridgeStats,
  FdbEntry,
  BR_STATE_DISABLED,
  BR_STATE_FORWARDING,
  BR_AGEING_TIME_NS,
  brCreate,
  brAddIf,
  brDelIf,
  brFdbUpdate,
  brFdbFind,
  brHandleFrame,
  brForward,
  brFlood,
  brPassFrameUp,
  brDevXmit,
  bridgeCapturePcap,
} from './bridge.ts';
export type { BridgeCaptureHook } from './bridge.ts';
export {
  DevQueue,
  NullDevice,
  LoopbackDevice,
  DEFAULT_TX_QUEUE_LEN,
  devQueueXmit,
  devQueueXmitNit,
  devQueueDepart,
  devQueuePurge,
  wireDeliver,
  wireLink,
} from './devqueue.ts';
export type { DevQueueOptions, WireObserver, WirePeer } from './devqueue.ts';
export { DropInjector } from './fault.ts';
export type { FaultRng } from './fault.ts';
export { TimeFifo } from './time-fifo.ts';
export {
  RtEndpoint,
  RtStats,
  RT_FRAMING_UDP,
  RT_FRAMING_TCP,
  RT_HLEN,
  RT_F_DATA,
  RT_F_ACK,
  RT_MAX_HEADER,
  RT_HEADROOM,
  RT_MAX_PAYLOAD,
  rtEndpointOpen,
  rtAllocSkb,
  rtSendSkb,
  rtSendAck,
  rtClose,
} from './transport.ts';
export type { RtEndpointOptions } from './transport.ts';
