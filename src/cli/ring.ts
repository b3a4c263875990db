/**
 * `pvnet ring decode|encode`: a raw 4096-byte netif shared ring page to JSON and back.
 *
 * JSON shape (decode prints it, encode reads it):
 *
 * ```
 * { "ring": "tx", "size": 256, "req_prod": 3, "req_event": 1, "rsp_prod": 0, "rsp_event": 1,
 *   "entries": [ { "idx": 0, "slot": 0, "kind": "request", "gref": 8, "offset": 0, "flags": 12, "id": 0, "size": 5000 },
 *                { "idx": 1, "slot": 1, "kind": "extra", "type": 1, "flags": 0,
 *                  "u": { "gso": { "size": 1448, "type": 1, "pad": 0, "features": 0 } } }, ... ] }
 * ```
 *
 * Entry fields are the C fields of the struct the slot holds (netif_tx_request, netif_tx_response,
 * netif_rx_request, netif_rx_response, or netif_extra_info with only the union member its type selects;
 * an unknown type shows `u.pad`). Statuses are signed. They are read and written through the layout tables
 * of src/abi/netif.ts, so the names cannot drift from the tables the conformance suite checks.
 *
 * Decode shows, by default, the requests published and not yet answered, [rsp_prod, req_prod); with
 * `--as responses`, the responses published since the frontend last armed rsp_event, [rsp_event - 1,
 * rsp_prod). A slot after the first request (or response) of a packet that has NET{T,R}XF_extra_info, or
 * after an extra with XEN_NETIF_EXTRA_FLAG_MORE, is shown as an extra. Encode writes the header and each
 * entry into a zeroed page, so decode then encode reproduces the page byte for byte whenever the bytes no
 * entry covers are zero (the pvt and padding bytes, unlisted slots, the unused tail of a slot).
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { isFieldSpec, typeSize, type FieldSpec, type FieldType, type LayoutTable } from '../abi/layout.ts';
import {
  NETIF_EXTRA_INFO, NETIF_RX_REQUEST, NETIF_RX_RESPONSE, NETIF_TX_REQUEST, NETIF_TX_RESPONSE, NETRXF_extra_info,
  NETRXF_more_data, NETTXF_extra_info, NETTXF_more_data, NET_RX_RING_SIZE, NET_TX_RING_SIZE,
  XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_HASH, XEN_NETIF_EXTRA_TYPE_MCAST_ADD,
  XEN_NETIF_EXTRA_TYPE_MCAST_DEL, XEN_NETIF_EXTRA_TYPE_XDP, netifRxRingType, netifTxRingType,
} from '../abi/netif.ts';
import { XEN_PAGE_SIZE, pageRefOf, type PageRef } from '../abi/page.ts';
import { SIZEOF_SRING_HEADER, SharedRing } from '../abi/ring.ts';
import { UsageError, parseCommandArgs, type CliIO, type Command } from './common.ts';

const USAGE = `usage: pvnet ring decode FILE --ring tx|rx [--as requests|responses] [--range A:B]
       pvnet ring encode FILE.json --ring tx|rx -o PAGE

Decode a raw ${XEN_PAGE_SIZE}-byte netif shared ring page to JSON, or encode that JSON back into a page.
Run 'pvnet ring decode --help' or 'pvnet ring encode --help' for details.`;

const DECODE_USAGE = `usage: pvnet ring decode FILE --ring tx|rx [--as requests|responses] [--range A:B]

Print the shared ring page FILE (exactly ${XEN_PAGE_SIZE} bytes) as JSON: the four shared indices and one
entry per ring index, with the fields of the C struct the slot holds.

  --ring tx|rx     which netif ring the page belongs to (TX: 12-byte slots, RX: 8-byte slots)
  --as KIND        requests (default) or responses
  --range A:B      show indices A (included) to B (excluded), modulo 2^32; decimal or 0x hex
                   default for requests:  [rsp_prod, req_prod)      (published, not yet answered)
                   default for responses: [rsp_event - 1, rsp_prod) (published since the frontend armed)

A slot that follows a request (or response) with NET{T,R}XF_extra_info, or an extra with
XEN_NETIF_EXTRA_FLAG_MORE, is shown as "kind": "extra" with the netif_extra_info fields.`;

const ENCODE_USAGE = `usage: pvnet ring encode FILE.json --ring tx|rx -o PAGE

Write a ${XEN_PAGE_SIZE}-byte shared ring page from JSON in the shape 'pvnet ring decode' prints:
{ "ring", "size", "req_prod", "req_event", "rsp_prod", "rsp_event", "entries": [...] }. Each entry has
"idx", optionally "slot", "kind" ("request", "response" or "extra") and every field of that C struct.
"ring" and "size" may be left out. Bytes no entry covers are zero.

  --ring tx|rx     which netif ring the page belongs to
  -o, --output     the page file to write`;

type RingName = 'tx' | 'rx';

interface RingInfo {
  readonly size: number;
  readonly entrySize: number;
  readonly request: LayoutTable;
  readonly response: LayoutTable;
  /** Flag bits of the first request / response that say "extras follow" and "more fragments follow". */
  readonly extraFlag: { request: number; response: number };
  readonly moreFlag: { request: number; response: number };
}

const RINGS: Readonly<Record<RingName, RingInfo>> = {
  tx: {
    size: NET_TX_RING_SIZE,
    entrySize: netifTxRingType.entrySize,
    request: NETIF_TX_REQUEST,
    response: NETIF_TX_RESPONSE,
    // Extras follow TX requests only; TX responses to extras are ordinary responses (status NULL).
    extraFlag: { request: NETTXF_extra_info, response: 0 },
    moreFlag: { request: NETTXF_more_data, response: 0 },
  },
  rx: {
    size: NET_RX_RING_SIZE,
    entrySize: netifRxRingType.entrySize,
    request: NETIF_RX_REQUEST,
    response: NETIF_RX_RESPONSE,
    // Extras follow the first RX response of a packet; RX requests are single empty pages.
    extraFlag: { request: 0, response: NETRXF_extra_info },
    moreFlag: { request: 0, response: NETRXF_more_data },
  },
};

/** The union member of netif_extra_info that an extra of `type` uses. */
function extraMember(type: number): 'gso' | 'mcast' | 'hash' | 'xdp' | 'pad' {
  switch (type) {
    case XEN_NETIF_EXTRA_TYPE_GSO: return 'gso';
    case XEN_NETIF_EXTRA_TYPE_MCAST_ADD:
    case XEN_NETIF_EXTRA_TYPE_MCAST_DEL: return 'mcast';
    case XEN_NETIF_EXTRA_TYPE_HASH: return 'hash';
    case XEN_NETIF_EXTRA_TYPE_XDP: return 'xdp';
    default: return 'pad';
  }
}

export const ringCommand: Command = {
  name: 'ring',
  summary: 'decode or encode a raw 4096-byte netif shared ring page',
  usage: USAGE,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      io.out(USAGE);
      return sub === undefined ? 2 : 0;
    }
    if (sub === 'decode') return decode(rest, io);
    if (sub === 'encode') return encode(rest, io);
    throw new UsageError(`unknown subcommand '${sub}' (expected decode or encode)`);
  },
};

// ---- arguments --------------------------------------------------------------------------------------------

function ringFlag(value: string | undefined): RingName {
  if (value === undefined) throw new UsageError('--ring tx|rx is required');
  if (value !== 'tx' && value !== 'rx') throw new UsageError(`--ring takes tx or rx, got '${value}'`);
  return value;
}

/** A ring index given on the command line: decimal or 0x hex, in [0, 2^32). */
function indexArg(what: string, text: string): number {
  const n = /^0x[0-9a-f]+$/i.test(text) ? Number(text) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n > 0xffffffff) {
    throw new UsageError(`${what}: '${text}' is not a ring index (decimal or 0x hex, below 2^32)`);
  }
  return n;
}

function readPage(file: string): PageRef {
  let data: Uint8Array;
  try {
    data = readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (data.length !== XEN_PAGE_SIZE) {
    throw new UsageError(`'${file}' is ${data.length} bytes; a ring page is exactly ${XEN_PAGE_SIZE}`);
  }
  const buf = new ArrayBuffer(XEN_PAGE_SIZE);
  new Uint8Array(buf).set(data);
  return pageRefOf(buf, 0);
}

// ---- decode ---------------------------------------------------------------------------------------------

type Json = number | number[] | string | { [k: string]: Json };

function readField(view: DataView, at: number, spec: FieldSpec): number | number[] {
  if (spec.count === undefined) return readScalar(view, at + spec.offset, spec.type);
  const out: number[] = [];
  for (let i = 0; i < spec.count; i++) out.push(readScalar(view, at + spec.offset + i * typeSize(spec.type), spec.type));
  return out;
}

function readScalar(view: DataView, pos: number, type: FieldType): number {
  switch (type) {
    case 'u8': return view.getUint8(pos);
    case 'u16': return view.getUint16(pos, true);
    case 'i16': return view.getInt16(pos, true);
    case 'u32': return view.getUint32(pos, true);
    case 'i32': return view.getInt32(pos, true);
  }
}

/** Every field of `table` at byte `at`, named as in C; for netif_extra_info only the selected union member. */
function readStruct(view: DataView, at: number, table: LayoutTable): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const [name, node] of Object.entries(table)) {
    if (isFieldSpec(node)) out[name] = readField(view, at, node);
    else if (table === NETIF_EXTRA_INFO && name === 'u') {
      const member = extraMember(view.getUint8(at + NETIF_EXTRA_INFO.type.offset));
      const sub = NETIF_EXTRA_INFO.u[member];
      out[name] = { [member]: isFieldSpec(sub) ? readField(view, at, sub) : readStruct(view, at, sub) };
    } else out[name] = readStruct(view, at, node);
  }
  return out;
}

function decode(argv: string[], io: CliIO): number {
  const { values, positionals } = parseCommandArgs(argv, {
    ring: { type: 'string' }, as: { type: 'string' }, range: { type: 'string' },
  }, 1);
  if (values.help) {
    io.out(DECODE_USAGE);
    return 0;
  }
  const file = positionals[0];
  if (file === undefined) throw new UsageError('decode: FILE is required');
  const name = ringFlag(values.ring);
  const as = values.as ?? 'requests';
  if (as !== 'requests' && as !== 'responses') throw new UsageError(`--as takes requests or responses, got '${as}'`);
  const info = RINGS[name];
  const page = readPage(file);
  const s = new SharedRing(page);
  const header = { req_prod: s.reqProd, req_event: s.reqEvent, rsp_prod: s.rspProd, rsp_event: s.rspEvent };

  let from: number;
  let count: number;
  if (values.range !== undefined) {
    const m = /^([^:]+):([^:]+)$/.exec(values.range);
    if (m === null) throw new UsageError(`--range takes A:B, got '${values.range}'`);
    from = indexArg('--range', m[1]!);
    count = (indexArg('--range', m[2]!) - from) >>> 0;
    if (count > info.size) {
      throw new UsageError(`--range ${values.range} spans ${count} indices; the ${name} ring holds ${info.size}`);
    }
  } else if (as === 'requests') {
    from = header.rsp_prod;
    count = (header.req_prod - header.rsp_prod) >>> 0;
    if (count > info.size) {
      throw new UsageError(
        `req_prod - rsp_prod = ${count} claims more requests than the ${name} ring's ${info.size} slots (use --range)`);
    }
  } else {
    from = (header.rsp_event - 1) >>> 0;
    count = (header.rsp_prod - from) >>> 0;
    if (count > info.size) {
      throw new UsageError(
        `rsp_prod - (rsp_event - 1) = ${count} is more than the ${name} ring's ${info.size} slots (use --range)`);
    }
  }

  const side = as === 'requests' ? 'request' : 'response';
  const entries: Json[] = [];
  // Which struct the next slot holds: the first slot of a packet, an extra, or a further fragment.
  let state: 'first' | 'extra' | 'fragment' = 'first';
  let moreAfterExtras = false;
  for (let i = 0; i < count; i++) {
    const idx = (from + i) >>> 0;
    const slot = idx & (info.size - 1);
    const at = page.base + SIZEOF_SRING_HEADER + slot * info.entrySize;
    if (state === 'extra') {
      const fields = readStruct(page.view, at, NETIF_EXTRA_INFO);
      entries.push({ idx, slot, kind: 'extra', ...fields });
      const more = (page.view.getUint8(at + NETIF_EXTRA_INFO.flags.offset) & XEN_NETIF_EXTRA_FLAG_MORE) !== 0;
      state = more ? 'extra' : moreAfterExtras ? 'fragment' : 'first';
      continue;
    }
    const table = info[side];
    const fields = readStruct(page.view, at, table);
    entries.push({ idx, slot, kind: side, ...fields });
    const flags = typeof fields['flags'] === 'number' ? fields['flags'] : 0;
    const more = (flags & info.moreFlag[side]) !== 0;
    if (state === 'first' && (flags & info.extraFlag[side]) !== 0) {
      state = 'extra';
      moreAfterExtras = more;
    } else {
      state = more ? 'fragment' : 'first';
    }
  }
  io.out(formatDecoded({ ring: name, size: info.size, ...header }, entries));
  return 0;
}

/** The decoded page as JSON: one header field per line, then one entry per line. */
function formatDecoded(header: { [k: string]: Json }, entries: Json[]): string {
  const lines = Object.entries(header).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},`);
  const body = entries.map((e, i) => `    ${JSON.stringify(e)}${i + 1 < entries.length ? ',' : ''}`);
  const list = entries.length === 0 ? ['  "entries": []'] : ['  "entries": [', ...body, '  ]'];
  return ['{', ...lines, ...list, '}'].join('\n');
}

// ---- encode ---------------------------------------------------------------------------------------------

const RANGE: Readonly<Record<FieldType, [number, number]>> = {
  u8: [0, 0xff], u16: [0, 0xffff], i16: [-0x8000, 0x7fff], u32: [0, 0xffffffff], i32: [-0x80000000, 0x7fffffff],
};

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function checkKeys(
  where: string, obj: Record<string, unknown>, allowed: readonly string[], required: readonly string[],
): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw new UsageError(`${where}: unknown field '${k}' (expected ${allowed.join(', ')})`);
  }
  for (const k of required) {
    if (!(k in obj)) throw new UsageError(`${where}: missing field '${k}'`);
  }
}

function intIn(where: string, value: unknown, type: FieldType): number {
  const [lo, hi] = RANGE[type];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < lo || value > hi) {
    throw new UsageError(`${where}: ${JSON.stringify(value)} is out of range for ${type} (an integer in ${lo}..${hi})`);
  }
  return value;
}

function writeScalar(view: DataView, pos: number, type: FieldType, v: number): void {
  switch (type) {
    case 'u8': view.setUint8(pos, v); break;
    case 'u16': view.setUint16(pos, v, true); break;
    case 'i16': view.setInt16(pos, v, true); break;
    case 'u32': view.setUint32(pos, v, true); break;
    case 'i32': view.setInt32(pos, v, true); break;
  }
}

function writeField(where: string, view: DataView, at: number, spec: FieldSpec, value: unknown): void {
  if (spec.count === undefined) {
    writeScalar(view, at + spec.offset, spec.type, intIn(where, value, spec.type));
    return;
  }
  if (!Array.isArray(value) || value.length !== spec.count) {
    throw new UsageError(`${where}: expected an array of ${spec.count} ${spec.type}`);
  }
  value.forEach((v, i) => {
    writeScalar(view, at + spec.offset + i * typeSize(spec.type), spec.type, intIn(`${where}[${i}]`, v, spec.type));
  });
}

/** Write `obj` (every field of `table`, nothing else) at byte `at`; the extra's `u` holds one member. */
function writeStruct(
  where: string, view: DataView, at: number, table: LayoutTable, obj: Record<string, unknown>, skip: readonly string[] = [],
): void {
  const names = Object.keys(table);
  checkKeys(where, obj, [...skip, ...names], names);
  for (const name of names) {
    const node = table[name]!;
    const value = obj[name];
    const w = `${where}.${name}`;
    if (isFieldSpec(node)) writeField(w, view, at, node, value);
    else if (!isObject(value)) throw new UsageError(`${w}: expected an object`);
    else if (table === NETIF_EXTRA_INFO && name === 'u') {
      const keys = Object.keys(value);
      if (keys.length !== 1 || !(keys[0]! in NETIF_EXTRA_INFO.u)) {
        throw new UsageError(`${w}: expected exactly one of ${Object.keys(NETIF_EXTRA_INFO.u).join(', ')}`);
      }
      const member = keys[0] as keyof typeof NETIF_EXTRA_INFO.u;
      const sub = NETIF_EXTRA_INFO.u[member];
      if (isFieldSpec(sub)) writeField(`${w}.${member}`, view, at, sub, value[member]);
      else if (isObject(value[member])) writeStruct(`${w}.${member}`, view, at, sub, value[member]);
      else throw new UsageError(`${w}.${member}: expected an object`);
    } else writeStruct(w, view, at, node, value);
  }
}

function encode(argv: string[], io: CliIO): number {
  const { values, positionals } = parseCommandArgs(argv, {
    ring: { type: 'string' }, output: { type: 'string', short: 'o' },
  }, 1);
  if (values.help) {
    io.out(ENCODE_USAGE);
    return 0;
  }
  const file = positionals[0];
  if (file === undefined) throw new UsageError('encode: FILE.json is required');
  const name = ringFlag(values.ring);
  const out = values.output;
  if (out === undefined) throw new UsageError('encode: -o PAGE is required');
  const info = RINGS[name];

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`'${file}' is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw new UsageError(`'${file}': expected a JSON object`);
  const indices = ['req_prod', 'req_event', 'rsp_prod', 'rsp_event'] as const;
  checkKeys(file, doc, ['ring', 'size', ...indices, 'entries'], [...indices, 'entries']);
  if (doc['ring'] !== undefined && doc['ring'] !== name) {
    throw new UsageError(`${file}: "ring" is ${JSON.stringify(doc['ring'])} but --ring is ${name}`);
  }
  if (doc['size'] !== undefined && doc['size'] !== info.size) {
    throw new UsageError(`${file}: "size" is ${JSON.stringify(doc['size'])}; the ${name} ring has ${info.size} slots`);
  }

  const page = pageRefOf(new ArrayBuffer(XEN_PAGE_SIZE), 0);
  const s = new SharedRing(page);
  s.reqProd = intIn('req_prod', doc['req_prod'], 'u32');
  s.reqEvent = intIn('req_event', doc['req_event'], 'u32');
  s.rspProd = intIn('rsp_prod', doc['rsp_prod'], 'u32');
  s.rspEvent = intIn('rsp_event', doc['rsp_event'], 'u32');

  const entries = doc['entries'];
  if (!Array.isArray(entries)) throw new UsageError(`${file}: "entries" must be an array`);
  const bySlot = new Map<number, number>();
  entries.forEach((entry: unknown, i) => {
    const where = `entries[${i}]`;
    if (!isObject(entry)) throw new UsageError(`${where}: expected an object`);
    const idx = intIn(`${where}.idx`, entry['idx'], 'u32');
    const slot = idx & (info.size - 1);
    if (entry['slot'] !== undefined && entry['slot'] !== slot) {
      throw new UsageError(`${where}.slot: ${JSON.stringify(entry['slot'])} but idx ${idx} maps to slot ${slot}`);
    }
    const other = bySlot.get(slot);
    if (other !== undefined) throw new UsageError(`${where}: idx ${idx} maps to slot ${slot}, as entries[${other}] does`);
    bySlot.set(slot, i);
    const kind = entry['kind'];
    if (kind !== 'request' && kind !== 'response' && kind !== 'extra') {
      throw new UsageError(`${where}.kind: expected "request", "response" or "extra", got ${JSON.stringify(kind)}`);
    }
    const table = kind === 'extra' ? NETIF_EXTRA_INFO : info[kind];
    const at = page.base + SIZEOF_SRING_HEADER + slot * info.entrySize;
    writeStruct(where, page.view, at, table, entry, ['idx', 'slot', 'kind']);
  });

  try {
    writeFileSync(out, page.bytes);
  } catch (e) {
    throw new UsageError(`cannot write '${out}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  io.out(`wrote ${out}: ${name} ring page, ${entries.length} entries`);
  return 0;
}
