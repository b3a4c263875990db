/**
 * xenbus helpers over XenStore: the small vocabulary front and back ends use to talk (REFERENCE.md §3.1-3.6;
 * Linux drivers/xen/xenbus/xenbus_client.c and xenbus_xs.c).
 *
 * Everything here reads keys another domain may have written, so every reader is typed and total: a missing
 * key, an unreadable key and a garbage value all come back as `undefined` (or XenbusStateUnknown for a
 * state), never as an exception. Numbers must be plain decimal: stricter than Linux's sscanf("%u"), which
 * would take "12abc" as 12 and "-1" as 4294967295.
 *
 * `xenbusCreateDevice` plays the toolstack's part (libxl): it creates a device's frontend and backend
 * directories with the usual permissions (each end owns its directory; the other end may read it) and the
 * initial keys, in one transaction.
 */

import { XenbusStateInitialising, XenbusStateUnknown, parseXenbusState, type XenbusState } from '../abi/xenbus.ts';
import { EAGAIN } from './errno.ts';
import { XBT_NIL, type XenStore } from './xenstore.ts';

/** `/local/domain/<guest>/device/<type>/<devid>` (REFERENCE.md §3.1). */
export function frontendPath(guestDomid: number, type: string, devid: number): string {
  return `/local/domain/${guestDomid}/device/${type}/${devid}`;
}

/** `/local/domain/<backend>/backend/<type>/<guest>/<devid>` (REFERENCE.md §3.1). */
export function backendPath(backendDomid: number, type: string, guestDomid: number, devid: number): string {
  return `/local/domain/${backendDomid}/backend/${type}/${guestDomid}/${devid}`;
}

function join(dir: string, key: string): string {
  return key === '' ? dir : `${dir}/${key}`;
}

/** The value of `dir/key`, or undefined if missing or unreadable (xenbus_read). */
export function xenbusRead(xs: XenStore, domid: number, tx: number, dir: string, key: string): string | undefined {
  const v = xs.read(domid, tx, join(dir, key));
  return typeof v === 'string' ? v : undefined;
}

/** True if `dir/key` exists and is readable (xenbus_exists). */
export function xenbusExists(xs: XenStore, domid: number, tx: number, dir: string, key: string): boolean {
  return typeof xs.read(domid, tx, join(dir, key)) === 'string';
}

/** `dir/key` as an unsigned 32-bit decimal, or undefined (missing, unreadable, garbage, out of range). */
export function xenbusScanfUint(xs: XenStore, domid: number, tx: number, dir: string, key: string): number | undefined {
  const v = xenbusRead(xs, domid, tx, dir, key);
  if (v === undefined || !/^[0-9]{1,10}$/.test(v)) return undefined;
  const n = Number(v);
  return n <= 0xffffffff ? n : undefined;
}

/** `dir/key` as a signed 32-bit decimal, or undefined. */
export function xenbusScanfInt(xs: XenStore, domid: number, tx: number, dir: string, key: string): number | undefined {
  const v = xenbusRead(xs, domid, tx, dir, key);
  if (v === undefined || !/^-?[0-9]{1,10}$/.test(v)) return undefined;
  const n = Number(v);
  return n >= -0x80000000 && n <= 0x7fffffff ? n : undefined;
}

/** `dir/key` as unsigned, or `def` when it is missing or not a number (Linux xenbus_read_unsigned). */
export function xenbusReadUnsigned(xs: XenStore, domid: number, dir: string, key: string, def: number): number {
  return xenbusScanfUint(xs, domid, XBT_NIL, dir, key) ?? def;
}

/** Field types for xenbusGather. */
export type GatherType = 'uint' | 'int' | 'string';
type Gathered<S extends Record<string, GatherType>> = {
  [K in keyof S]: (S[K] extends 'string' ? string : number) | undefined;
};

/**
 * Read several keys of `dir` at once (xenbus_gather), each typed by `spec`; each missing or garbage key is
 * undefined on its own.
 */
export function xenbusGather<S extends Record<string, GatherType>>(
  xs: XenStore, domid: number, tx: number, dir: string, spec: S,
): Gathered<S> {
  const out: Record<string, string | number | undefined> = {};
  for (const key of Object.keys(spec)) {
    const t = spec[key];
    out[key] = t === 'string' ? xenbusRead(xs, domid, tx, dir, key)
      : t === 'int' ? xenbusScanfInt(xs, domid, tx, dir, key)
      : xenbusScanfUint(xs, domid, tx, dir, key);
  }
  return out as Gathered<S>;
}

/** Write `dir/key` (xenbus_printf). 0 or a negative errno. */
export function xenbusPrintf(xs: XenStore, domid: number, tx: number, dir: string, key: string, value: string | number): number {
  return xs.write(domid, tx, join(dir, key), String(value));
}

/**
 * The state `dir/state` shows (xenbus_read_driver_state): missing, unreadable or garbage reads as
 * XenbusStateUnknown.
 */
export function xenbusReadState(xs: XenStore, domid: number, dir: string): XenbusState {
  return parseXenbusState(xenbusRead(xs, domid, XBT_NIL, dir, 'state')) ?? XenbusStateUnknown;
}

/**
 * Publish `state` in `dir/state` (xenbus_switch_state). Nothing is written when the key already shows it
 * (no needless watch event). Done in a transaction, retried on EAGAIN as Linux does. 0 or a negative errno.
 */
export function xenbusSwitchState(xs: XenStore, domid: number, dir: string, state: XenbusState): number {
  for (;;) {
    const tx = xs.transactionStart(domid);
    const cur = parseXenbusState(xenbusRead(xs, domid, tx, dir, 'state'));
    if (cur === state) return xs.transactionEnd(domid, tx, false);
    const rc = xenbusPrintf(xs, domid, tx, dir, 'state', state);
    if (rc < 0) {
      xs.transactionEnd(domid, tx, false);
      return rc;
    }
    const end = xs.transactionEnd(domid, tx, true);
    if (end !== -EAGAIN) return end;
  }
}

/** A device to create, as the toolstack describes it. */
export interface DeviceConfig {
  readonly type: string;
  readonly frontendId: number;
  readonly backendId: number;
  readonly devid: number;
  /** Extra backend keys (e.g. `mac`, `script`). */
  readonly backendKeys?: Readonly<Record<string, string>>;
  /** Extra frontend keys (e.g. `mac`, `mtu`). */
  readonly frontendKeys?: Readonly<Record<string, string>>;
}

/**
 * Create both directories of a device, as libxl does, acting as the privileged toolstack (`toolstackId`):
 * frontend dir owned by the guest, readable by the backend; backend dir owned by the backend, readable by
 * the guest; `backend`, `backend-id`, `frontend`, `frontend-id`, `handle`, `online` and both `state` keys
 * (Initialising). Returns 0 or a negative errno.
 */
export function xenbusCreateDevice(xs: XenStore, toolstackId: number, dev: DeviceConfig): number {
  const fe = frontendPath(dev.frontendId, dev.type, dev.devid);
  const be = backendPath(dev.backendId, dev.type, dev.frontendId, dev.devid);
  for (;;) {
    const tx = xs.transactionStart(toolstackId);
    const rc = writeDevice(xs, toolstackId, tx, dev, fe, be);
    if (rc < 0) {
      xs.transactionEnd(toolstackId, tx, false);
      return rc;
    }
    const end = xs.transactionEnd(toolstackId, tx, true);
    if (end !== -EAGAIN) return end;
  }
}

function writeDevice(xs: XenStore, ts: number, tx: number, dev: DeviceConfig, fe: string, be: string): number {
  const writes: [string, string][] = [
    [`${fe}/backend`, be], [`${fe}/backend-id`, String(dev.backendId)], [`${fe}/handle`, String(dev.devid)],
    [`${fe}/state`, String(XenbusStateInitialising)],
    [`${be}/frontend`, fe], [`${be}/frontend-id`, String(dev.frontendId)], [`${be}/handle`, String(dev.devid)],
    [`${be}/online`, '1'], [`${be}/state`, String(XenbusStateInitialising)],
  ];
  for (const [k, v] of Object.entries(dev.frontendKeys ?? {})) writes.push([`${fe}/${k}`, v]);
  for (const [k, v] of Object.entries(dev.backendKeys ?? {})) writes.push([`${be}/${k}`, v]);
  let rc = xs.mkdir(ts, tx, fe);
  if (rc === 0) rc = xs.setPerms(ts, tx, fe, [{ id: dev.frontendId, perm: 'n' }, { id: dev.backendId, perm: 'r' }]);
  if (rc === 0) rc = xs.mkdir(ts, tx, be);
  if (rc === 0) rc = xs.setPerms(ts, tx, be, [{ id: dev.backendId, perm: 'n' }, { id: dev.frontendId, perm: 'r' }]);
  for (const [k, v] of writes) if (rc === 0) rc = xs.write(ts, tx, k, v);
  return rc;
}
