/** Argument checks shared by the layers: the error names the value, the range and a hint. */

/** `value` as an integer in [min, max]; RangeError otherwise, ending with `hint`. */
export function checkInteger(
  what: string,
  value: unknown,
  min: number,
  max: number,
  hint: string,
): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `${what} must be an integer from ${min} to ${max}, got ${String(value)}; ${hint}.`,
    );
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
