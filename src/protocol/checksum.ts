/** Checksum of section 3: the bitwise inverse of the 8-bit sum of FLAGS...last DATA byte (unescaped). */
export function checksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += bytes[i];
  return ~sum & 0xff;
}
