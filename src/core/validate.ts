/**
 * Argument checks shared by the layers, the one home of integer and range checks: each throws a
 * RangeError naming what was checked, the range, the value given and (when given) a hint.
 * (src/protocol, which imports nothing of ours, checks its own fields.)
 */

function withHint(hint: string | undefined): string {
  return hint ? `; ${hint}.` : ".";
}

/** `value` as an integer in [min, max]; RangeError otherwise, ending with `hint`. */
export function checkInteger(
  what: string,
  value: unknown,
  min: number,
  max: number,
  hint?: string,
): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `${what} must be an integer from ${min} to ${max}, got ${String(value)}${withHint(hint)}`,
    );
  }
  return value;
}

/** `value` as an integer >= `min` (no upper bound); RangeError otherwise, ending with `hint`. */
export function checkIntegerAtLeast(
  what: string,
  value: unknown,
  min: number,
  hint?: string,
): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new RangeError(
      `${what} must be an integer >= ${min}, got ${String(value)}${withHint(hint)}`,
    );
  }
  return value;
}

/** `value` as a finite number in [min, max]; RangeError otherwise, ending with `hint`. */
export function checkNumber(
  what: string,
  value: unknown,
  min: number,
  max: number,
  hint?: string,
): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(
      `${what} must be a number from ${min} to ${max}, got ${String(value)}${withHint(hint)}`,
    );
  }
  return value;
}

/** `value` as a finite number; RangeError otherwise, ending with `hint`. */
export function checkFinite(what: string, value: unknown, hint?: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new RangeError(`${what} must be a finite number, got ${String(value)}${withHint(hint)}`);
  }
  return value;
}

/** A small deterministic PRNG (mulberry32): floats uniform in [0, 1), the same for a seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
