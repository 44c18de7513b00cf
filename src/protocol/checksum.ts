/**
 * The checksum of section 3, in one place: the bitwise inverse of the 8-bit sum of FLAGS...last
 * DATA byte (unescaped). The encoder sums as it counts escapes and takes {@link checksumOf} of its
 * sum; the decoder checks a received body with {@link checksumMatches}.
 */

/** The checksum byte for `sum`, the plain sum of FLAGS...last DATA byte. */
export function checksumOf(sum: number): number {
  return ~sum & 0xff;
}

/** Checksum of `bytes[start..end)` (FLAGS...last DATA byte, unescaped). */
export function checksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += bytes[i];
  return checksumOf(sum);
}

/** True when the last byte of `body[0..length)` (FLAGS...CHK, unescaped) is its checksum. */
export function checksumMatches(body: Uint8Array, length: number): boolean {
  return length > 0 && checksum(body, 0, length - 1) === body[length - 1];
}
