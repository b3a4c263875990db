// A hostile guest vCPU: rewrites the fields of TX ring slots as fast as it can (XSA-155), while netback
// reads them on the main thread. Plain JS: it needs only the machine memory (a SharedArrayBuffer), where
// the slots are, and Atomics.
//
// ctrl (Int32Array over its own SharedArrayBuffer), written by the main thread:
//   [0] stop (1: exit)      [1] byte offset of ring[0]   [2] RING_SIZE           [3] entry size
//   [4] first slot index    [5] slots to hammer          [6] mode: 1 data fields, 2 extra fields
//   [7] gref A              [8] gref B                   [9] passes made (written here)
// Every value pair differs in one byte only, so a torn read of one field still yields one of its values.
import { workerData } from 'node:worker_threads';

const { memory, ctrlBuffer } = workerData;
const ctrl = new Int32Array(ctrlBuffer);
const i16 = new Int16Array(memory);
const i32 = new Int32Array(memory);
const u8 = new Uint8Array(memory);
let x = 0x2545f491;
let passes = 0;
while (Atomics.load(ctrl, 0) === 0) {
  const base = Atomics.load(ctrl, 1);
  const nrEnts = Atomics.load(ctrl, 2);
  const entry = Atomics.load(ctrl, 3);
  const first = Atomics.load(ctrl, 4);
  const count = Atomics.load(ctrl, 5);
  const mode = Atomics.load(ctrl, 6);
  const ga = Atomics.load(ctrl, 7);
  const gb = Atomics.load(ctrl, 8);
  for (let k = 0; k < count; k++) {
    const slot = base + (((first + k) >>> 0) & (nrEnts - 1)) * entry;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    if (mode === 1) {
      Atomics.store(i32, slot >> 2, (x & 1) !== 0 ? ga : gb);              // gref
      Atomics.store(i16, (slot + 4) >> 1, (x & 2) !== 0 ? 0 : 0x0b00);     // offset 0 / 2816
      Atomics.store(i16, (slot + 6) >> 1, (x & 4) !== 0 ? 0 : 2);          // flags 0 / data_validated
      Atomics.store(i16, (slot + 10) >> 1, (x & 8) !== 0 ? 0x040a : 0x000a); // size 1034 / 10
    } else if (mode === 2) {
      // The extra after each first slot: GSO size 1400 / 1500 (0x0578 / 0x05dc), type TCPv4 / TCPv6.
      const ex = base + (((first + k + 1) >>> 0) & (nrEnts - 1)) * entry;
      Atomics.store(i16, (ex + 2) >> 1, (x & 1) !== 0 ? 0x0578 : 0x05dc);
      Atomics.store(u8, ex + 4, (x & 2) !== 0 ? 1 : 2);
      k++;
    }
  }
  Atomics.store(ctrl, 9, ++passes);
}
