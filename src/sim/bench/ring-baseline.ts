/** Layout of the bare ring baseline's SharedArrayBuffer (ring-baseline.worker.ts): four header words, then slots. */
export const RING_BASELINE_SLOTS = 256;
export const RB_PROD = 0;
export const RB_CONS = 1;
export const RB_GO = 2;
/** Set by the producer of the 'sink' role to make the consumer stop. */
export const RB_STOP = 3;
export const RB_HDR = 4;
