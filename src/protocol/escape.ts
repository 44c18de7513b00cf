/**
 * Escaping of section 4, in one place: SOP, EOP and ESC inside a frame are sent as ESC followed by
 * the byte with the 0x88 bits cleared. The encoder uses {@link needsEscape} and
 * {@link putEscaped}; the decoder {@link unescapeByte}.
 */
import { EOP, ESC, ESCAPE_MASK, SOP } from "./constants.ts";

/** True for the three bytes that must be escaped inside a frame. */
export function needsEscape(byte: number): boolean {
  return byte === SOP || byte === EOP || byte === ESC;
}

/** Writes `byte`, escaped if it must be, into `out` at `offset`; returns the next offset. */
export function putEscaped(out: Uint8Array, offset: number, byte: number): number {
  if (needsEscape(byte)) {
    out[offset] = ESC;
    out[offset + 1] = byte & ~ESCAPE_MASK;
    return offset + 2;
  }
  out[offset] = byte;
  return offset + 1;
}

/** The value an escaped byte stands for, or -1 when `byte` is not a valid escape (section 4). */
export function unescapeByte(byte: number): number {
  if ((byte & ESCAPE_MASK) !== 0) return -1;
  const value = byte | ESCAPE_MASK;
  return needsEscape(value) ? value : -1;
}
