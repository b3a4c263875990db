/**
 * A one-line progress display for long steps: rewritten in place on a terminal, silent otherwise.
 */

export interface Progress {
  step(name: string, index: number, total: number): void;
  done(): void;
}

/** In-place progress on `stream` when `enabled` (a TTY); a no-op otherwise. */
export function lineProgress(enabled: boolean, stream: { write(s: string): unknown } = process.stderr): Progress {
  if (!enabled) return { step() {}, done() {} };
  let shown = false;
  return {
    step(name, index, total) {
      stream.write(`\r\x1b[K[${index + 1}/${total}] ${name} ...`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
