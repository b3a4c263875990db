/**
 * XenStore: the configuration tree domains use to find each other (REFERENCE.md §3.1-3.6; the wire protocol
 * in xen/include/public/io/xs_wire.h and docs/misc/xenstore.txt, the behaviour of C xenstored).
 *
 * One `XenStore` per Hypervisor. It owns the tree, the open transactions and the watch-event queue. Every
 * call names the domain making it (the connection), and answers the way xenstored answers a domain: values,
 * or a negative errno (ENOENT, EACCES, EINVAL, EEXIST, EAGAIN, E2BIG). Nothing a guest sends makes it throw.
 *
 * Tree. Absolute paths start with '/'; a relative path is taken under /local/domain/<domid>/. Path
 * components are [A-Za-z0-9_@-]; no empty component, no trailing '/' (except the root). Every node has a
 * value (possibly empty), children, and permissions: a list whose first entry names the owner and the
 * access everyone else gets, the others grant access to one domain each ('n' none, 'r' read, 'w' write,
 * 'b' both). The owner and privileged domains (dom0) may do anything. Writing a node that does not exist
 * creates it and any missing ancestors, which needs write access to the deepest existing ancestor; new
 * nodes inherit its permissions, owned by the creating domain unless it is privileged.
 *
 * Transactions. `transactionStart` returns an id; reads and writes naming it see and change a private view;
 * `transactionEnd(commit)` applies the view, or returns -EAGAIN if any node the transaction touched was
 * changed by someone else meanwhile (xenstored's generation counts; as there, creating a child changes the
 * parent, so two transactions adding children under one node conflict). Watches fire at commit.
 *
 * Watches. A watch on P fires for a change of P or of any node below it, and once when it is registered.
 * Removing a subtree also fires watches placed exactly on removed descendants. Events are queued in order
 * and delivered only by `processWatches()` (or by whoever `onWatchQueued` wakes), never from inside the call
 * that caused them, so delivery is deterministic. A domain only gets events for nodes it can read. The
 * queue is bounded per domain (`maxQueuedEvents`, XSA-349); events past the bound are dropped and counted.
 * A watch registered with `onePending` keeps at most one event queued: further changes while one waits are
 * merged into it (Linux's XSA-349 fix for backends: a `will_handle` that refuses while `nr_pending` is not 0;
 * the callback reads the node's current value, so nothing is lost). A guest rewriting a node a backend
 * watches then costs one queue entry, however fast it writes, and cannot crowd other watches out of the
 * watcher's bounded queue.
 * The special paths @introduceDomain / @releaseDomain fire when the hypervisor creates or destroys a domain
 * (privileged watchers only).
 */

import { E2BIG, EACCES, EAGAIN, EEXIST, EINVAL, ENOENT } from './errno.ts';

/** Access for one domain on one node: none, read, write, both. */
export type XsPermKind = 'n' | 'r' | 'w' | 'b';
export interface XsPerm {
  readonly id: number;
  readonly perm: XsPermKind;
}

/** XBT_NIL: no transaction. */
export const XBT_NIL = 0;
/** XENSTORE_PAYLOAD_MAX: largest value (and message) in bytes. */
export const XENSTORE_PAYLOAD_MAX = 4096;
/** XENSTORE_ABS_PATH_MAX / XENSTORE_REL_PATH_MAX. */
export const XENSTORE_ABS_PATH_MAX = 3072;
export const XENSTORE_REL_PATH_MAX = 2048;
/** Default bound on queued watch events per domain (pvnet's choice). */
export const DEFAULT_MAX_QUEUED_WATCH_EVENTS = 1024;

export const XS_INTRODUCE_DOMAIN = '@introduceDomain';
export const XS_RELEASE_DOMAIN = '@releaseDomain';

/** A watch callback: the path that changed (relative if the watch was registered relative) and the token. */
export type WatchCallback = (path: string, token: string) => void;

export interface XenStoreOptions {
  /** Domains that bypass permission checks. Default: domid 0. */
  isPrivileged?: (domid: number) => boolean;
  /** Bound on queued watch events per domain. */
  maxQueuedEvents?: number;
  /** Called when the queue goes from empty to non-empty (a scheduler hook). */
  onWatchQueued?: () => void;
}

interface XsNode {
  value: string;
  children: string[];
  perms: XsPerm[];
  gen: number;
}

interface Watch {
  readonly domid: number;
  /** Absolute path, or a special '@' path. */
  readonly path: string;
  readonly token: string;
  readonly relative: boolean;
  readonly cb: WatchCallback;
  /** At most one event of this watch queued at a time (see the header). */
  readonly onePending: boolean;
  /** Events of this watch in the queue. */
  pending: number;
}

/** Options of XS_WATCH (pvnet's; the wire protocol has none). */
export interface WatchOptions {
  /** Keep at most one event of this watch queued (Linux's will_handle for backend watches, XSA-349). */
  readonly onePending?: boolean;
}

interface WatchEvent {
  readonly watch: Watch;
  readonly path: string;
}

/** A change to fire watches for: the node's path and the permissions that decide who may see it. */
interface Change {
  readonly path: string;
  readonly perms: XsPerm[];
  /** For a removal: removed descendants (exact-match watches fire on them too). */
  readonly removed: readonly { path: string; perms: XsPerm[] }[];
}

interface Transaction {
  readonly id: number;
  readonly domid: number;
  /** Private view: a node copy, or null for "absent". */
  readonly view: Map<string, XsNode | null>;
  /** Generation of each node when first touched (-1 absent). */
  readonly base: Map<string, number>;
  readonly dirty: Set<string>;
  readonly changes: Change[];
}

const NAME_RE = /^[A-Za-z0-9_@-]+$/;

export class XenStore {
  private readonly nodes = new Map<string, XsNode>();
  private readonly txs = new Map<number, Transaction>();
  private readonly watches: Watch[] = [];
  private readonly queue: WatchEvent[] = [];
  private readonly queuedPerDomain = new Map<number, number>();
  private readonly isPrivileged: (domid: number) => boolean;
  private readonly maxQueued: number;
  private gen = 0;
  private nextTx = 1;
  /** Scheduler hook, see XenStoreOptions. */
  onWatchQueued: (() => void) | undefined;
  /** Watch events dropped because a domain's queue was full. */
  droppedEvents = 0;
  /** Watch events merged into one already queued for a `onePending` watch. */
  mergedEvents = 0;

  constructor(opts: XenStoreOptions = {}) {
    this.isPrivileged = opts.isPrivileged ?? ((d) => d === 0);
    this.maxQueued = opts.maxQueuedEvents ?? DEFAULT_MAX_QUEUED_WATCH_EVENTS;
    this.onWatchQueued = opts.onWatchQueued;
    const root = [{ id: 0, perm: 'n' as const }];
    this.nodes.set('/', { value: '', children: [], perms: root, gen: ++this.gen });
    this.write(0, XBT_NIL, '/local/domain', '');
  }

  // ---- reading -----------------------------------------------------------------------------------------

  /** XS_READ: the value, or -ENOENT / -EACCES / -EINVAL. */
  read(domid: number, tx: number, path: string): string | number {
    const node = this.readable(domid, tx, path);
    return typeof node === 'number' ? node : node.value;
  }

  /** XS_DIRECTORY: child names in creation order, or a negative errno. */
  directory(domid: number, tx: number, path: string): string[] | number {
    const node = this.readable(domid, tx, path);
    return typeof node === 'number' ? node : node.children.slice();
  }

  /** XS_GET_PERMS. */
  getPerms(domid: number, tx: number, path: string): XsPerm[] | number {
    const node = this.readable(domid, tx, path);
    return typeof node === 'number' ? node : node.perms.slice();
  }

  // ---- writing -----------------------------------------------------------------------------------------

  /** XS_WRITE: set a value, creating the node and missing ancestors. 0 or a negative errno. */
  write(domid: number, tx: number, path: string, value: string): number {
    if (value.length > XENSTORE_PAYLOAD_MAX) return -E2BIG;
    return this.setNode(domid, tx, path, value, false);
  }

  /** XS_MKDIR: create an empty node if it does not exist (no event if it does). */
  mkdir(domid: number, tx: number, path: string): number {
    return this.setNode(domid, tx, path, '', true);
  }

  /** XS_RM: remove a node and its subtree. Removing a missing node whose parent exists succeeds. */
  rm(domid: number, tx: number, path: string): number {
    const t = this.txOf(domid, tx);
    if (typeof t === 'number') return t;
    const abs = this.canonical(domid, path);
    if (abs === undefined || abs === '/') return -EINVAL;
    const node = this.get(t, abs);
    if (node === undefined) return this.get(t, parentOf(abs)) !== undefined ? 0 : this.missing(domid, t, abs);
    if (!this.can(domid, node.perms, 'w')) return -EACCES;
    const removed: { path: string; perms: XsPerm[] }[] = [];
    this.removeSubtree(t, abs, node, removed);
    const parentPath = parentOf(abs);
    const parent = this.get(t, parentPath)!;
    parent.children = parent.children.filter((c) => c !== baseOf(abs));
    this.put(t, parentPath, parent);
    this.changed(t, { path: abs, perms: node.perms, removed });
    return 0;
  }

  /** XS_SET_PERMS: owner or privileged only. The list must name at least the owner. */
  setPerms(domid: number, tx: number, path: string, perms: readonly XsPerm[]): number {
    const t = this.txOf(domid, tx);
    if (typeof t === 'number') return t;
    const abs = this.canonical(domid, path);
    if (abs === undefined || perms.length === 0 || !perms.every(validPerm)) return -EINVAL;
    const node = this.get(t, abs);
    if (node === undefined) return this.missing(domid, t, abs);
    if (!this.isPrivileged(domid) && node.perms[0]!.id !== domid) return -EACCES;
    node.perms = perms.map((p) => ({ id: p.id, perm: p.perm }));
    this.put(t, abs, node);
    this.changed(t, { path: abs, perms: node.perms, removed: [] });
    return 0;
  }

  // ---- transactions ------------------------------------------------------------------------------------

  /** XS_TRANSACTION_START: a transaction id (> 0). */
  transactionStart(domid: number): number {
    const id = this.nextTx++;
    this.txs.set(id, { id, domid, view: new Map(), base: new Map(), dirty: new Set(), changes: [] });
    return id;
  }

  /** XS_TRANSACTION_END: commit (0, or -EAGAIN on a conflict) or abort (0). Unknown id: -ENOENT. */
  transactionEnd(domid: number, tx: number, commit: boolean): number {
    const t = this.txs.get(tx);
    if (t === undefined || t.domid !== domid) return -ENOENT;
    this.txs.delete(tx);
    if (!commit) return 0;
    for (const [path, gen] of t.base) {
      if ((this.nodes.get(path)?.gen ?? -1) !== gen) return -EAGAIN;
    }
    for (const path of t.dirty) {
      const node = t.view.get(path);
      if (node === null || node === undefined) this.nodes.delete(path);
      else this.nodes.set(path, { ...node, gen: ++this.gen });
    }
    for (const c of t.changes) this.fire(c);
    return 0;
  }

  /** Open transactions (for audits). */
  get openTransactions(): number {
    return this.txs.size;
  }

  // ---- watches -----------------------------------------------------------------------------------------

  /** XS_WATCH: register and queue the initial event. -EEXIST for a duplicate (path, token). */
  watch(domid: number, path: string, token: string, cb: WatchCallback, opts: WatchOptions = {}): number {
    const special = path.startsWith('@');
    const abs = special ? path : this.canonical(domid, path);
    if (abs === undefined) return -EINVAL;
    if (this.watches.some((w) => w.domid === domid && w.path === abs && w.token === token)) return -EEXIST;
    const w: Watch = {
      domid, path: abs, token, relative: !special && !path.startsWith('/'), cb, onePending: opts.onePending === true, pending: 0,
    };
    this.watches.push(w);
    this.enqueue(w, abs);
    return 0;
  }

  /** XS_UNWATCH: remove a watch and its queued events. -ENOENT if there is none. */
  unwatch(domid: number, path: string, token: string): number {
    const special = path.startsWith('@');
    const abs = special ? path : this.canonical(domid, path);
    const i = this.watches.findIndex((w) => w.domid === domid && w.path === abs && w.token === token);
    if (i < 0) return -ENOENT;
    const [w] = this.watches.splice(i, 1);
    this.dropQueued((e) => e.watch === w);
    return 0;
  }

  /** Queued watch events. */
  get pendingWatchEvents(): number {
    return this.queue.length;
  }

  /** Deliver queued events in order, including events queued by the callbacks, up to `max`. Returns count. */
  processWatches(max = Infinity): number {
    let n = 0;
    while (n < max && this.queue.length > 0) {
      const e = this.queue.shift()!;
      const d = e.watch.domid;
      this.queuedPerDomain.set(d, this.queuedPerDomain.get(d)! - 1);
      e.watch.pending--;
      n++;
      e.watch.cb(e.watch.relative ? relativeTo(d, e.path) : e.path, e.watch.token);
    }
    return n;
  }

  // ---- domains (called by the hypervisor) --------------------------------------------------------------

  /** A domain was created: fire @introduceDomain. */
  introduceDomain(): void {
    this.fireSpecial(XS_INTRODUCE_DOMAIN);
  }

  /** A domain is gone: drop its watches, transactions and queued events; fire @releaseDomain. */
  releaseDomain(domid: number): void {
    for (let i = this.watches.length - 1; i >= 0; i--) if (this.watches[i]!.domid === domid) this.watches.splice(i, 1);
    for (const [id, t] of this.txs) if (t.domid === domid) this.txs.delete(id);
    this.dropQueued((e) => e.watch.domid === domid);
    this.fireSpecial(XS_RELEASE_DOMAIN);
  }

  // ---- internals ---------------------------------------------------------------------------------------

  /** The node at `path` if `domid` may read it (inside `tx`), or a negative errno. */
  private readable(domid: number, tx: number, path: string): XsNode | number {
    const t = this.txOf(domid, tx);
    if (typeof t === 'number') return t;
    const abs = this.canonical(domid, path);
    if (abs === undefined) return -EINVAL;
    const node = this.get(t, abs);
    if (node === undefined) return this.missing(domid, t, abs);
    return this.can(domid, node.perms, 'r') ? node : -EACCES;
  }

  private setNode(domid: number, tx: number, path: string, value: string, mkdir: boolean): number {
    const t = this.txOf(domid, tx);
    if (typeof t === 'number') return t;
    const abs = this.canonical(domid, path);
    if (abs === undefined) return -EINVAL;
    const node = this.get(t, abs);
    if (node !== undefined) {
      if (mkdir) return 0;
      if (!this.can(domid, node.perms, 'w')) return -EACCES;
      node.value = value;
      this.put(t, abs, node);
      this.changed(t, { path: abs, perms: node.perms, removed: [] });
      return 0;
    }
    // Walk up to the deepest existing ancestor; it must be writable.
    const missing = [abs];
    let anc = parentOf(abs);
    let ancNode = this.get(t, anc);
    while (ancNode === undefined) {
      missing.push(anc);
      anc = parentOf(anc);
      ancNode = this.get(t, anc);
    }
    if (!this.can(domid, ancNode.perms, 'w')) return -EACCES;
    const perms = this.inherit(ancNode.perms, domid);
    let parent = ancNode;
    let parentPath = anc;
    for (let i = missing.length - 1; i >= 0; i--) {
      const p = missing[i]!;
      const child: XsNode = { value: i === 0 ? value : '', children: [], perms: perms.slice(), gen: 0 };
      parent.children.push(baseOf(p));
      this.put(t, parentPath, parent);
      this.put(t, p, child);
      parent = child;
      parentPath = p;
    }
    this.changed(t, { path: abs, perms, removed: [] });
    return 0;
  }

  private removeSubtree(t: Transaction | null, path: string, node: XsNode, out: { path: string; perms: XsPerm[] }[]): void {
    for (const c of node.children) {
      const cp = path === '/' ? `/${c}` : `${path}/${c}`;
      const cn = this.get(t, cp);
      if (cn === undefined) continue;
      this.removeSubtree(t, cp, cn, out);
      out.push({ path: cp, perms: cn.perms });
    }
    this.del(t, path);
  }

  private inherit(parent: readonly XsPerm[], domid: number): XsPerm[] {
    const perms = parent.map((p) => ({ id: p.id, perm: p.perm }));
    if (!this.isPrivileged(domid)) perms[0] = { id: domid, perm: perms[0]!.perm };
    return perms;
  }

  private can(domid: number, perms: readonly XsPerm[], want: 'r' | 'w'): boolean {
    if (this.isPrivileged(domid) || perms[0]!.id === domid) return true;
    let p = perms[0]!.perm;
    for (let i = 1; i < perms.length; i++) if (perms[i]!.id === domid) p = perms[i]!.perm;
    return p === 'b' || p === want;
  }

  /** ENOENT, or EACCES if the deepest existing ancestor hides the node from `domid` (xenstored). */
  private missing(domid: number, t: Transaction | null, abs: string): number {
    let anc = parentOf(abs);
    let node = this.get(t, anc);
    while (node === undefined) {
      anc = parentOf(anc);
      node = this.get(t, anc);
    }
    return this.can(domid, node.perms, 'r') ? -ENOENT : -EACCES;
  }

  private txOf(domid: number, tx: number): Transaction | null | number {
    if (tx === XBT_NIL) return null;
    const t = this.txs.get(tx);
    return t !== undefined && t.domid === domid ? t : -ENOENT;
  }

  /** Absolute form of `path` for `domid`, or undefined if it is not a valid node path. */
  private canonical(domid: number, path: string): string | undefined {
    if (typeof path !== 'string' || path.length === 0) return undefined;
    const rel = !path.startsWith('/');
    if (path.length > (rel ? XENSTORE_REL_PATH_MAX : XENSTORE_ABS_PATH_MAX)) return undefined;
    const abs = rel ? `/local/domain/${domid}/${path}` : path;
    if (abs === '/') return abs;
    const parts = abs.split('/');
    for (let i = 1; i < parts.length; i++) if (!NAME_RE.test(parts[i]!)) return undefined;
    return abs;
  }

  private get(t: Transaction | null, path: string): XsNode | undefined {
    if (t === null) return this.nodes.get(path);
    const seen = t.view.get(path);
    if (seen !== undefined) return seen ?? undefined;
    const live = this.nodes.get(path);
    t.base.set(path, live?.gen ?? -1);
    const copy = live === undefined ? null : { value: live.value, children: live.children.slice(), perms: live.perms, gen: live.gen };
    t.view.set(path, copy);
    return copy ?? undefined;
  }

  private put(t: Transaction | null, path: string, node: XsNode): void {
    if (t === null) {
      node.gen = ++this.gen;
      this.nodes.set(path, node);
    } else {
      t.view.set(path, node);
      t.dirty.add(path);
    }
  }

  private del(t: Transaction | null, path: string): void {
    if (t === null) {
      this.nodes.delete(path);
    } else {
      t.view.set(path, null);
      t.dirty.add(path);
    }
  }

  private changed(t: Transaction | null, c: Change): void {
    if (t === null) this.fire(c);
    else t.changes.push(c);
  }

  private fire(c: Change): void {
    for (const w of this.watches) {
      if (w.path.startsWith('@')) continue;
      if (isUnder(c.path, w.path) && this.can(w.domid, c.perms, 'r')) this.enqueue(w, c.path);
    }
    for (const r of c.removed) {
      for (const w of this.watches) if (w.path === r.path && this.can(w.domid, r.perms, 'r')) this.enqueue(w, r.path);
    }
  }

  private fireSpecial(path: string): void {
    for (const w of this.watches) if (w.path === path && this.isPrivileged(w.domid)) this.enqueue(w, path);
  }

  private enqueue(w: Watch, path: string): void {
    if (w.onePending && w.pending > 0) {
      this.mergedEvents++;
      return;
    }
    const n = this.queuedPerDomain.get(w.domid) ?? 0;
    if (n >= this.maxQueued) {
      this.droppedEvents++;
      return;
    }
    this.queuedPerDomain.set(w.domid, n + 1);
    w.pending++;
    this.queue.push({ watch: w, path });
    if (this.queue.length === 1) this.onWatchQueued?.();
  }

  private dropQueued(pred: (e: WatchEvent) => boolean): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const e = this.queue[i]!;
      if (!pred(e)) continue;
      this.queue.splice(i, 1);
      e.watch.pending--;
      this.queuedPerDomain.set(e.watch.domid, this.queuedPerDomain.get(e.watch.domid)! - 1);
    }
  }
}

function parentOf(abs: string): string {
  const i = abs.lastIndexOf('/');
  return i <= 0 ? '/' : abs.slice(0, i);
}

function baseOf(abs: string): string {
  return abs.slice(abs.lastIndexOf('/') + 1);
}

/** `path` is `dir` or below it. */
function isUnder(path: string, dir: string): boolean {
  return path === dir || dir === '/' || (path.startsWith(dir) && path.charCodeAt(dir.length) === 47 /* '/' */);
}

function relativeTo(domid: number, abs: string): string {
  const home = `/local/domain/${domid}/`;
  return abs.startsWith(home) ? abs.slice(home.length) : abs;
}

function validPerm(p: XsPerm): boolean {
  return Number.isInteger(p.id) && p.id >= 0 && (p.perm === 'n' || p.perm === 'r' || p.perm === 'w' || p.perm === 'b');
}
