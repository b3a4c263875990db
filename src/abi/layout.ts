/**
 * Struct layout tables: how pvnet writes down a C struct of the Xen public headers.
 *
 * A layout table maps each C member name to a `FieldSpec` (byte offset from the start of the struct, scalar
 * type with its size and signedness, and an element count for arrays). A member that is itself a struct or
 * union is a nested table with the same member names as C, so `NETIF_EXTRA_INFO.u.gso.size` is the offset
 * of `((struct netif_extra_info *)0)->u.gso.size`. Offsets are always from the start of the outer struct.
 *
 * The tables are data, not code: views and codecs use the offsets, and the conformance suite walks every
 * table to generate a C program that checks offset, size and signedness against the real headers.
 */

/** Scalar types that occur in the ring structs. `i` types are signed (two's complement). */
export type FieldType = 'u8' | 'u16' | 'i16' | 'u32' | 'i32';

export interface FieldSpec {
  /** Byte offset from the start of the outermost struct. */
  readonly offset: number;
  /** Element type: its size and signedness. */
  readonly type: FieldType;
  /** For an array member (`uint8_t addr[6]`), the number of elements; absent for a scalar. */
  readonly count?: number;
}

/** A struct or union: C member name to field, or to a nested struct/union table. */
export interface LayoutTable {
  readonly [member: string]: FieldSpec | LayoutTable;
}

const TYPE_SIZE: Readonly<Record<FieldType, number>> = { u8: 1, u16: 2, i16: 2, u32: 4, i32: 4 };

/** Size in bytes of one element of `type`. */
export function typeSize(type: FieldType): number {
  return TYPE_SIZE[type];
}

/** True for the signed types. */
export function typeSigned(type: FieldType): boolean {
  return type[0] === 'i';
}

/** Size in bytes of the whole member (element size times count). */
export function fieldSize(field: FieldSpec): number {
  return TYPE_SIZE[field.type] * (field.count ?? 1);
}

/** Shorthand used by the tables: `f(4, 'u16')`, `f(2, 'u8', 6)`. */
export function f(offset: number, type: FieldType, count?: number): FieldSpec {
  return count === undefined ? { offset, type } : { offset, type, count };
}

/** True when `node` is a field rather than a nested table. */
export function isFieldSpec(node: FieldSpec | LayoutTable): node is FieldSpec {
  return typeof node['offset'] === 'number' && typeof node['type'] === 'string';
}
