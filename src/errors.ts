/**
 * Typed errors for misuse of pvnet's own API.
 *
 * The contract (DESIGN.md principle 2): input a guest controls never throws. A hostile ring slot, grant entry
 * or xenstore value ends as a protocol outcome (a GNTST_* status, an ERROR response, a dropped packet, a
 * disabled vif). Only a programming error by the code *calling* pvnet throws, and it throws one of these:
 * a subclass of PvnetError with a stable string `code` (for tests and tools to match on) and, where the
 * error corresponds to a protocol number, that number in `errno`.
 *
 * This module sits below every layer (abi, hv, mm, skb, ...) so that all of them can throw the same family.
 */

export class PvnetError extends Error {
  /** Stable identifier, e.g. 'ERR_PAGE_FAULT'. Never changes once released. */
  readonly code: string;
  /** Protocol number this error stands for, if any (a GNTST_* value, an -errno). */
  readonly errno: number | undefined;

  constructor(code: string, message: string, errno?: number) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.errno = errno;
  }
}

/**
 * A domain touched a frame it neither owns nor has mapped. This is how pvnet catches a use after unmap,
 * a use after free, or a backend reading outside what the guest granted.
 */
export class PageFault extends PvnetError {
  readonly domid: number;
  readonly frame: number;
  readonly write: boolean;

  constructor(domid: number, frame: number, write: boolean, why: string) {
    super('ERR_PAGE_FAULT', `page fault: dom${domid} ${write ? 'write' : 'read'} of frame ${frame}: ${why}`);
    this.domid = domid;
    this.frame = frame;
    this.write = write;
  }
}

/** An argument that the caller (not a guest) got wrong: out of range, wrong type, wrong state. */
export class InvalidArgument extends PvnetError {
  constructor(message: string) {
    super('ERR_INVALID_ARGUMENT', message);
  }
}

/** An object was used after it was destroyed or freed (an sk_buff after kfree_skb, a closed port...). */
export class UseAfterDestroy extends PvnetError {
  constructor(what: string) {
    super('ERR_USE_AFTER_DESTROY', `use after destroy: ${what}`);
  }
}

/** A reference count would drop below zero: a double put, a double unref, a double free. */
export class RefUnderflow extends PvnetError {
  constructor(what: string) {
    super('ERR_REF_UNDERFLOW', `reference count underflow: ${what}`);
  }
}

/** The machine, a pool or a table is out of room for a request the caller made (not a guest). */
export class OutOfResources extends PvnetError {
  constructor(what: string) {
    super('ERR_OUT_OF_RESOURCES', `out of resources: ${what}`);
  }
}

/** The teardown audit found something still live. `findings` lists each one in words. */
export class AuditFailure extends PvnetError {
  readonly findings: readonly string[];

  constructor(findings: readonly string[]) {
    super('ERR_AUDIT', `teardown audit failed:\n  - ${findings.join('\n  - ')}`);
    this.findings = findings;
  }
}
