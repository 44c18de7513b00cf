import { EOP, ESC, ESCAPE_MASK, SOP } from "./constants.ts";

/** True for the three bytes that must be escaped inside a frame. */
export function needsEscape(byte: number): boolean {
  return byte === SOP || byte === EOP || byte === ESC;
}

/**
 * Writes `src[start..end)` escaped into `out` at `offset`; returns the new offset.
 * `out` must have room for twice the input in the worst case.
 */
export function escapeInto(
  src: Uint8Array,
  out: Uint8Array,
  offset: number,
  start = 0,
  end = src.length,
): number {
  let o = offset;
  for (let i = start; i < end; i++) {
    const b = src[i];
    if (b === SOP || b === EOP || b === ESC) {
      out[o++] = ESC;
      out[o++] = b & ~ESCAPE_MASK;
    } else {
      out[o++] = b;
    }
  }
  return o;
}

/** The value an escaped byte stands for, or -1 when `byte` is not a valid escape (section 4). */
export function unescapeByte(byte: number): number {
  if ((byte & ESCAPE_MASK) !== 0) return -1;
  const value = byte | ESCAPE_MASK;
  return value === SOP || value === EOP || value === ESC ? value : -1;
}
