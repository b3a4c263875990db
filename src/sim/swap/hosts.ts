/**
 * The scenario's addressing plan: the swap client (the domain under memory pressure), the block server it swaps
 * to, and the host that floods it. One /24, Ethernet between them, no ARP (the MACs are known). The storage
 * flow is the client's UDP port CLIENT_PORT talking to SERVER_PORT (NFS's 2049; the model is an RPC over UDP,
 * REFERENCE §11.9); the flood is UDP to FLOOD_PORT, where a user task's socket is bound with its reader blocked.
 */

export const CLIENT_MAC = 0x00163e0000c1;
export const SERVER_MAC = 0x00163e0000c2;
export const FLOODER_MAC = 0x00163e0000f1;

/** 10.0.0.1, 10.0.0.2, 10.0.0.66. */
export const CLIENT_IP = 0x0a000001;
export const SERVER_IP = 0x0a000002;
export const FLOODER_IP = 0x0a000042;

/** The swap transport's local port (a privileged port, as the NFS client uses). */
export const CLIENT_PORT = 800;
/** The block server's port. */
export const SERVER_PORT = 2049;
/** The flooded socket's port, and the flood's source port. */
export const FLOOD_PORT = 5001;
export const FLOOD_SPORT = 40000;
/** An ethertype no handler takes (IEEE 802 local experimental), for flood frames the protocol rule must drop. */
export const ETH_P_EXPERIMENTAL = 0x88b5;

/** RPC message layout in the UDP payload (pvnet's own, NFS-WRITE-like): xid, op, slot, status. */
export const RPC_XID = 0;
export const RPC_OP = 4;
export const RPC_SLOT = 8;
export const RPC_STATUS = 12;
export const RPC_OP_NULL = 0;
export const RPC_OP_WRITE = 1;
