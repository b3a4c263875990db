/**
 * Assertions uvu does not have. uvu's `assert.throws` takes a regex or a predicate, not a class; these take
 * the error class (and optionally its stable `code`) so a test names exactly which typed error it expects.
 */
import * as assert from 'uvu/assert';

type ErrorClass = abstract new (...args: never[]) => Error;

/** `fn` throws an instance of `cls` (and, if given, with `code`). Returns the error for further checks. */
export function throwsType<E extends Error>(fn: () => unknown, cls: abstract new (...args: never[]) => E, code?: string): E {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (caught === undefined) assert.unreachable(`expected ${cls.name} to be thrown, nothing was`);
  if (!(caught instanceof cls)) {
    assert.unreachable(`expected ${cls.name}, got ${(caught as Error)?.constructor?.name}: ${(caught as Error)?.message}`);
  }
  const err = caught as E;
  if (code !== undefined) assert.is((err as unknown as { code: string }).code, code);
  return err;
}

export type { ErrorClass };
