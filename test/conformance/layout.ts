/**
 * Conformance (a): every constant, struct size, member offset, member size and signedness that pvnet's
 * src/abi modules define, compared with what gcc computes from the real Xen headers.
 *
 * The C program is generated from pvnet's own exports, so a new constant or table is checked without anyone
 * remembering to add it; an UPPER_CASE export the generator does not understand is a failure. The reverse
 * direction is checked by name: every macro and struct of io/netif.h, and every macro of io/ring.h, must
 * have a pvnet counterpart.
 */

import { readFileSync } from 'node:fs';
import { isFieldSpec, fieldSize, typeSigned, type FieldSpec, type LayoutTable } from '../../src/abi/layout.ts';
import { defineRingTypes, ringSize, type SlotCodec } from '../../src/abi/ring.ts';
import {
  C_EXPRESSION, MEMBERS_NOT_IN_HEADERS, MEMBER_PATHS, NETIF_H_IGNORED, NOT_IN_HEADERS, RING_H_NAMES, STRUCTS_OF_TABLE,
} from './manifest.ts';

export interface CCheck {
  /** Unique, human-readable: what is compared. */
  readonly key: string;
  /** pvnet's value. */
  readonly expected: number | string;
  /** The C expression (an integer, or a string for `str` checks). */
  readonly expr: string;
  readonly str?: boolean;
}

export interface Plan {
  readonly checks: CCheck[];
  /** Exports with no C counterpart on purpose: name and reason. */
  readonly skips: Array<{ name: string; why: string }>;
  /** Exports the generator could not map: each is a failure. */
  readonly problems: string[];
}

const UPPER = /^_?[A-Z][A-Z0-9_]*$/;

function isCodec(x: unknown): x is SlotCodec<unknown> {
  const o = x as Record<string, unknown>;
  return typeof o === 'object' && o !== null && typeof o['name'] === 'string' && typeof o['size'] === 'number'
    && typeof o['align'] === 'number' && typeof o['read'] === 'function' && typeof o['write'] === 'function';
}

function isRingType(x: unknown): x is { name: string; entrySize: number } {
  const o = x as Record<string, unknown>;
  return typeof o === 'object' && o !== null && typeof o['name'] === 'string' && typeof o['entrySize'] === 'number'
    && isCodec(o['request']) && isCodec(o['response']);
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;
}

/** Checks for one table member (a FieldSpec, or a bare offset in the older tables). */
function memberChecks(struct: string, path: string, node: FieldSpec | number, label: string, out: CCheck[]): void {
  const obj = `((struct ${struct} *)0)->${path}`;
  if (typeof node === 'number') {
    out.push({ key: `offsetof(${struct}, ${path}) [${label}]`, expected: node, expr: `offsetof(struct ${struct}, ${path})` });
    return;
  }
  out.push({ key: `offsetof(${struct}, ${path}) [${label}]`, expected: node.offset, expr: `offsetof(struct ${struct}, ${path})` });
  out.push({ key: `sizeof(${struct}.${path}) [${label}]`, expected: fieldSize(node), expr: `sizeof(${obj})` });
  const elem = node.count === undefined ? obj : `${obj}[0]`;
  out.push({ key: `signed(${struct}.${path}) [${label}]`, expected: typeSigned(node.type) ? 1 : 0, expr: `(((__typeof__(${elem}))-1) < 0)` });
}

function walkTable(name: string, struct: string, table: LayoutTable | Record<string, unknown>, prefix: string, plan: Plan): void {
  for (const [key, node] of Object.entries(table)) {
    const tsPath = prefix ? `${prefix}.${key}` : key;
    const skip = MEMBERS_NOT_IN_HEADERS[`${name}.${tsPath}`];
    if (skip !== undefined) {
      plan.skips.push({ name: `${name}.${tsPath}`, why: skip });
      continue;
    }
    const cPath = prefix ? tsPath : (MEMBER_PATHS[name]?.[key] ?? key);
    if (typeof node === 'number' || (isPlainObject(node) && isFieldSpec(node as FieldSpec | LayoutTable))) {
      memberChecks(struct, cPath, node as FieldSpec | number, `${name}.${tsPath}`, plan.checks);
    } else if (isPlainObject(node)) {
      walkTable(name, struct, node, tsPath, plan);
    } else {
      plan.problems.push(`${name}.${tsPath}: not an offset, a field or a nested table`);
    }
  }
}

/** Build the checks for every export of every module. */
export function planLayout(modules: Readonly<Record<string, Record<string, unknown>>>): Plan {
  const plan: Plan = { checks: [], skips: [], problems: [] };
  for (const [mod, exports] of Object.entries(modules)) {
    for (const [name, value] of Object.entries(exports)) {
      const label = `${mod}.${name}`;
      if (typeof value === 'number' && UPPER.test(name)) {
        const why = NOT_IN_HEADERS[name];
        if (why !== undefined) {
          plan.skips.push({ name, why });
          continue;
        }
        const expr = C_EXPRESSION[name] ?? (name.startsWith('SIZEOF_') ? `sizeof(struct ${name.slice(7).toLowerCase()})` : name);
        plan.checks.push({ key: `${name} [${label}]`, expected: value, expr });
      } else if (Array.isArray(value) && UPPER.test(name) && value.every((s) => typeof s === 'string')) {
        plan.checks.push({ key: `count(${name})`, expected: value.length, expr: `(sizeof(pvnet_str_${name}) / sizeof(pvnet_str_${name}[0]))` });
        value.forEach((s: string, i) => plan.checks.push({ key: `${name}[${i}]`, expected: s, expr: `pvnet_str_${name}[${i}]`, str: true }));
      } else if (isPlainObject(value) && UPPER.test(name)) {
        for (const struct of STRUCTS_OF_TABLE[name] ?? [name.toLowerCase()]) walkTable(name, struct, value, '', plan);
      } else if (isRingType(value)) {
        plan.checks.push({ key: `sizeof(union ${value.name}_sring_entry) [${label}.entrySize]`, expected: value.entrySize, expr: `sizeof(union ${value.name}_sring_entry)` });
        plan.checks.push({ key: `__CONST_RING_SIZE(${value.name}) [ringSize(${label}.entrySize)]`, expected: ringSize(value.entrySize), expr: `__CONST_RING_SIZE(${value.name}, 4096)` });
      } else if (isCodec(value)) {
        plan.checks.push({ key: `sizeof(struct ${value.name}) [${label}.size]`, expected: value.size, expr: `sizeof(struct ${value.name})` });
        plan.checks.push({ key: `_Alignof(struct ${value.name}) [${label}.align]`, expected: value.align, expr: `_Alignof(struct ${value.name})` });
      } else if (UPPER.test(name)) {
        plan.problems.push(`${label}: an UPPER_CASE export the conformance generator cannot check`);
      }
    }
  }
  return plan;
}

// ---- synthetic rings: ringSize and defineRingTypes against __CONST_RING_SIZE and the C union ----------------

const SYNTHETIC_SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 100, 127, 128, 200, 255, 256,
  1000, 1008, 1009, 2015, 2016, 2017, 4031, 4032];

/** C declarations for the synthetic ring types, and their checks. */
export function syntheticRings(plan: Plan): string {
  const decls: string[] = [];
  for (const n of SYNTHETIC_SIZES) {
    decls.push(`struct pvnet_s${n} { unsigned char b[${n}]; };`, `DEFINE_RING_TYPES(pvnet_r${n}, struct pvnet_s${n}, struct pvnet_s${n});`);
    plan.checks.push({ key: `__CONST_RING_SIZE(${n}-byte entries, 4096) [ringSize(${n})]`, expected: ringSize(n), expr: `__CONST_RING_SIZE(pvnet_r${n}, 4096)` });
    if (n >= 32) {
      plan.checks.push({ key: `__CONST_RING_SIZE(${n}-byte entries, 16384) [ringSize(${n}, 16384)]`, expected: ringSize(n, 16384), expr: `__CONST_RING_SIZE(pvnet_r${n}, 16384)` });
    }
  }
  // defineRingTypes rounds the entry to the stricter alignment, as the C union does.
  const codec = (name: string, size: number, align: number): SlotCodec<number> =>
    ({ name, size, align, create: () => 0, read: (_v, _o, x) => x, write() {} });
  decls.push('struct pvnet_a6 { uint16_t x[3]; };', 'struct pvnet_b4 { uint32_t y; };', 'struct pvnet_c5 { uint8_t z[5]; };',
    'DEFINE_RING_TYPES(pvnet_mix64, struct pvnet_a6, struct pvnet_b4);', 'DEFINE_RING_TYPES(pvnet_mix54, struct pvnet_c5, struct pvnet_b4);');
  plan.checks.push({ key: 'sizeof(union pvnet_mix64_sring_entry) [defineRingTypes(6/2, 4/4)]',
    expected: defineRingTypes('pvnet_mix64', codec('pvnet_a6', 6, 2), codec('pvnet_b4', 4, 4)).entrySize, expr: 'sizeof(union pvnet_mix64_sring_entry)' });
  plan.checks.push({ key: 'sizeof(union pvnet_mix54_sring_entry) [defineRingTypes(5/1, 4/4)]',
    expected: defineRingTypes('pvnet_mix54', codec('pvnet_c5', 5, 1), codec('pvnet_b4', 4, 4)).entrySize, expr: 'sizeof(union pvnet_mix54_sring_entry)' });
  return decls.join('\n');
}

/** The C program: prints `{"<key>": <value>, ...}`, one check per source line (so errors map to checks). */
export function layoutProgram(checks: readonly CCheck[], decls: string, stringArrays: readonly string[]): { source: string; firstLine: number } {
  const head = [
    '#include "prelude.h"',
    decls,
    ...stringArrays.map((n) => `static const char *const pvnet_str_${n}[] = ${n};`),
    'static int first = 1;',
    'static void key(const char *k) { printf("%s\\n\\"%s\\": ", first ? "{" : ",", k); first = 0; }',
    'static void num(const char *k, long long v) { key(k); printf("%lld", v); }',
    'static void str(const char *k, const char *s) {',
    '  key(k); putchar(\'"\');',
    '  for (; *s; s++) { if (*s == \'"\' || *s == \'\\\\\') putchar(\'\\\\\'); putchar(*s); }',
    '  putchar(\'"\');',
    '}',
    'int main(void) {',
  ].join('\n');
  const firstLine = head.split('\n').length + 1;
  const body = checks.map((c) => c.str
    ? `  str(${JSON.stringify(c.key)}, ${c.expr});`
    : `  num(${JSON.stringify(c.key)}, (long long)(${c.expr}));`);
  return { source: `${head}\n${body.join('\n')}\n  puts("\\n}");\n  return 0;\n}\n`, firstLine };
}

// ---- reverse direction: header names that must have a pvnet counterpart --------------------------------

function camel(macro: string): string {
  const [head = '', ...rest] = macro.toLowerCase().split('_').filter(Boolean);
  return head + rest.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

function definedMacros(headerText: string): string[] {
  return [...new Set([...headerText.matchAll(/^#\s*define\s+([A-Za-z_][A-Za-z0-9_]*)/gm)].map((m) => m[1]!))];
}

export interface NameCheck { readonly name: string; readonly ok: boolean; readonly detail: string }

/** Every macro and struct of io/netif.h has a pvnet netif export of the same (table) name. */
export function netifHeaderNames(netifH: string, netif: Record<string, unknown>): NameCheck[] {
  const text = readFileSync(netifH, 'utf8');
  const out: NameCheck[] = [];
  for (const m of definedMacros(text)) {
    if (NETIF_H_IGNORED.includes(m)) continue;
    out.push({ name: `netif.h #define ${m}`, ok: m in netif, detail: `no export ${m} in src/abi/netif.ts` });
  }
  for (const m of new Set([...text.matchAll(/^struct\s+([a-z_0-9]+)\s*\{/gm)].map((x) => x[1]!))) {
    const table = m.toUpperCase();
    out.push({ name: `netif.h struct ${m}`, ok: table in netif && `SIZEOF_${table}` in netif, detail: `no ${table} / SIZEOF_${table} in src/abi/netif.ts` });
  }
  return out;
}

/** Every macro of io/ring.h has a pvnet counterpart (camelCase of its name, or the one the manifest gives). */
export function ringHeaderNames(ringH: string, abi: Record<string, unknown>): { checks: NameCheck[]; skips: Array<{ name: string; why: string }> } {
  const checks: NameCheck[] = [];
  const skips: Array<{ name: string; why: string }> = [];
  for (const m of definedMacros(readFileSync(ringH, 'utf8'))) {
    if (m.startsWith('__XEN_PUBLIC')) continue;
    const mapped = RING_H_NAMES[m];
    if (typeof mapped === 'object') {
      skips.push({ name: `ring.h ${m}`, why: mapped.none });
      continue;
    }
    const candidates = mapped !== undefined ? [mapped] : [camel(m), camel(m.replace(/^XEN_/, ''))];
    const found = candidates.find((c) => c in abi);
    checks.push({ name: `ring.h ${m} -> ${found ?? candidates.join(' | ')}`, ok: found !== undefined, detail: `no export ${candidates.join(' or ')} in src/abi` });
  }
  return { checks, skips };
}
