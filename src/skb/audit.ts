/**
 * The skb leak audit (DESIGN.md principle 8): what is still alive compared with a baseline.
 *
 * `new SkbAudit(env)` snapshots the live sk_buffs, shared infos, frag destructors and completion objects and
 * every frame's page reference count. `findings()` lists, in words, everything that differs now: each sk_buff,
 * destructor or completion allocated since and still alive (with the allocation site, and for destructors every
 * ref / unref call site, when the env is in tracking mode), and each frame whose reference count moved, with
 * the live heads and frag slots that point at it. `assertClean()` throws AuditFailure with those findings.
 *
 * `frameRefsFromSlots` is the structural model the property tests compare against: one page reference per live
 * head frame and per live frag slot without a destructor; `destructorSlotRefs` counts slots per destructor.
 */

import { AuditFailure } from '../errors.ts';
import type { FragDestructor } from './destructor.ts';
import type { SkbEnv } from './env.ts';
import type { SkbSharedInfo } from './skbuff.ts';

interface Snapshot {
  readonly skbs: Map<number, number>;
  readonly shinfos: Set<number>;
  readonly dtors: Map<number, number>;
  readonly ubufs: Map<number, number>;
  readonly refcount: Int32Array;
  readonly inUse: number;
}

function snapshot(env: SkbEnv): Snapshot {
  const skbs = new Map<number, number>();
  for (const s of env.allSkbs) if (s.live) skbs.set(s.id, s.gen);
  const shinfos = new Set<number>();
  for (const s of env.allShinfos) if (s.live) shinfos.add(s.id);
  const dtors = new Map<number, number>();
  for (const d of env.allDestructors) if (d.live) dtors.set(d.id, d.gen);
  const ubufs = new Map<number, number>();
  for (const u of env.allUbufs) if (u.live) ubufs.set(u.id, u.gen);
  return { skbs, shinfos, dtors, ubufs, refcount: env.mem.refcount.slice(), inUse: env.pages.inUse };
}

export class SkbAudit {
  readonly env: SkbEnv;
  private base: Snapshot;

  constructor(env: SkbEnv) {
    this.env = env;
    this.base = snapshot(env);
  }

  /** Take a new baseline. */
  reset(): void {
    this.base = snapshot(this.env);
  }

  findings(): string[] {
    const env = this.env;
    const out: string[] = [];
    for (const s of env.allSkbs) {
      if (!s.live || this.base.skbs.get(s.id) === s.gen) continue;
      out.push(`sk_buff #${s.id} still live: len ${s.len}, users ${s.users}, shinfo #${s.shinfo.id}${site(s.allocSite)}`);
    }
    for (const sh of env.allShinfos) {
      if (sh.live && !this.base.shinfos.has(sh.id)) {
        out.push(`shared info #${sh.id} still live: dataref ${sh.dataref}, ${sh.nrFrags} frags, ${sh.nrHeadFrames} head frames`);
      }
    }
    for (const d of env.allDestructors) {
      if (!d.live || this.base.dtors.get(d.id) === d.gen) continue;
      out.push(`frag destructor #${d.id} not destroyed: ref ${d.ref}${site(d.allocSite)}${traceOf(d)}`);
    }
    for (const u of env.allUbufs) {
      if (!u.live || this.base.ubufs.get(u.id) === u.gen) continue;
      out.push(`zerocopy completion #${u.id} not completed: refcnt ${u.refcnt}${site(u.allocSite)}`);
    }
    this.frameFindings(out);
    if (env.pages.inUse !== this.base.inUse) out.push(`page allocator: ${env.pages.inUse} pages in use, baseline ${this.base.inUse}`);
    return out;
  }

  private frameFindings(out: string[]): void {
    const rc = this.env.mem.refcount;
    const base = this.base.refcount;
    for (let f = 0; f < rc.length; f++) {
      if (rc[f] === base[f]) continue;
      out.push(`frame ${f}: page refcount ${rc[f]}, baseline ${base[f]}${holdersOf(this.env, f)}`);
    }
  }

  assertClean(): void {
    const f = this.findings();
    if (f.length !== 0) throw new AuditFailure(f);
  }
}

function site(s: string | null): string {
  return s === null ? '' : `\n    allocated at:\n${indent(s)}`;
}

function traceOf(d: FragDestructor): string {
  if (d.trace === null || d.trace.length === 0) return '';
  return `\n    references:\n${d.trace.map(indent).join('\n')}`;
}

function indent(s: string): string {
  return s.split('\n').map((l) => `      ${l.trim()}`).join('\n');
}

/** Who points at `frame` right now: live heads and frag slots. */
function holdersOf(env: SkbEnv, frame: number): string {
  const who: string[] = [];
  for (const sh of env.allShinfos) {
    if (!sh.live) continue;
    for (let i = 0; i < sh.nrHeadFrames; i++) if (sh.headFrames[i] === frame) who.push(`head of shinfo #${sh.id}`);
    for (let i = 0; i < sh.nrFrags; i++) {
      if (sh.fragPage[i] !== frame) continue;
      const d = sh.fragDtor[i];
      who.push(`frag ${i} of shinfo #${sh.id}${d ? ` (destructor #${d.id})` : ''}`);
    }
  }
  return who.length === 0 ? '' : ` (held by ${who.join(', ')})`;
}

/** Add, per frame, one reference per live head frame and per live frag slot without a destructor. */
export function frameRefsFromSlots(env: SkbEnv, out: Int32Array): void {
  for (const sh of env.allShinfos) {
    if (!sh.live) continue;
    for (let i = 0; i < sh.nrHeadFrames; i++) out[sh.headFrames[i]!]!++;
    for (let i = 0; i < sh.nrFrags; i++) if (sh.fragDtor[i] === null) out[sh.fragPage[i]!]!++;
  }
}

/** Per live destructor, the number of live frag slots pointing at it. */
export function destructorSlotRefs(env: SkbEnv): Map<FragDestructor, number> {
  const m = new Map<FragDestructor, number>();
  for (const sh of env.allShinfos) {
    if (!sh.live) continue;
    for (let i = 0; i < sh.nrFrags; i++) {
      const d = sh.fragDtor[i];
      if (d) m.set(d, (m.get(d) ?? 0) + 1);
    }
  }
  return m;
}

/** Live shared infos (for audits and invariant checks). */
export function liveShinfos(env: SkbEnv): SkbSharedInfo[] {
  return env.allShinfos.filter((s) => s.live);
}
