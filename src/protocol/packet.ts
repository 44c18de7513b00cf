/**
 * One packet of section 2: header fields plus payload, and its exact wire encoding.
 */
import { EMPTY_PAYLOAD } from "./_frame_body.ts";
import { checksumOf } from "./checksum.ts";
import { EOP, Flag, SOP } from "./constants.ts";
import { needsEscape, putEscaped } from "./escape.ts";

/** A decoded packet. `target`/`source` are present iff their FLAGS bits are set; `err` iff a response. */
export interface Packet {
  flags: number;
  target?: number;
  source?: number;
  did: number;
  cid: number;
  seq: number;
  err?: number;
  payload: Uint8Array;
}

function checkByte(name: string, value: number | undefined): void {
  if (value === undefined || !Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new RangeError(
      `Packet field ${name} must be an integer 0 to 255, got ${String(value)}; pass a byte value.`,
    );
  }
}

/**
 * Encodes `packet` to its wire bytes: SOP, escaped FLAGS...CHK, EOP.
 * Throws RangeError for a header field outside 0 to 255, a missing TID/SID/ERR its flags announce,
 * both 0x01 and 0x02 set (section 2.1), or extended flags (bit 7), which no RVR peer supports.
 */
export function encodePacket(p: Packet): Uint8Array {
  const flags = p.flags;
  checkByte("flags", flags);
  if (flags & Flag.hasMoreFlags) {
    throw new RangeError(
      `Packet flags 0x${
        flags.toString(16)
      } set bit 7 (extended flags), which the RVR does not use; clear it.`,
    );
  }
  if ((flags & Flag.isResponse) && (flags & Flag.requestsResponse)) {
    throw new RangeError(
      `Packet flags 0x${
        flags.toString(16)
      } set both 0x01 (is response) and 0x02 (requests response), which no peer accepts; clear one.`,
    );
  }
  const hasTarget = (flags & Flag.hasTargetId) !== 0;
  const hasSource = (flags & Flag.hasSourceId) !== 0;
  const isResponse = (flags & Flag.isResponse) !== 0;
  if (hasTarget) checkByte("target", p.target);
  if (hasSource) checkByte("source", p.source);
  if (isResponse) checkByte("err", p.err);
  checkByte("did", p.did);
  checkByte("cid", p.cid);
  checkByte("seq", p.seq);
  const payload = p.payload ?? EMPTY_PAYLOAD;
  // Header bytes in wire order; -1 marks an absent optional byte.
  const t = hasTarget ? p.target as number : -1;
  const s = hasSource ? p.source as number : -1;
  const e = isResponse ? p.err as number : -1;
  // Pass 1: checksum and the number of bytes that need escaping, so one exact-size allocation
  // suffices (allocating is the dominant cost of encoding).
  let sum = flags + p.did + p.cid + p.seq + (t < 0 ? 0 : t) + (s < 0 ? 0 : s) + (e < 0 ? 0 : e);
  let escapes = special(flags) + special(t) + special(s) + special(p.did) + special(p.cid) +
    special(p.seq) + special(e);
  for (let i = 0; i < payload.length; i++) {
    const b = payload[i];
    sum += b;
    escapes += special(b);
  }
  const chk = checksumOf(sum);
  escapes += special(chk);
  const bodyLength = 4 + (t < 0 ? 0 : 1) + (s < 0 ? 0 : 1) + (e < 0 ? 0 : 1) + payload.length + 1;
  const out = new Uint8Array(2 + bodyLength + escapes);
  // Pass 2: write.
  out[0] = SOP;
  let o = putEscaped(out, 1, flags);
  if (t >= 0) o = putEscaped(out, o, t);
  if (s >= 0) o = putEscaped(out, o, s);
  o = putEscaped(out, o, p.did);
  o = putEscaped(out, o, p.cid);
  o = putEscaped(out, o, p.seq);
  if (e >= 0) o = putEscaped(out, o, e);
  for (let i = 0; i < payload.length; i++) o = putEscaped(out, o, payload[i]);
  o = putEscaped(out, o, chk);
  out[o] = EOP;
  return out;
}

/** 1 if `b` (-1: an absent header byte) must be escaped inside a frame, else 0. */
function special(b: number): number {
  return needsEscape(b) ? 1 : 0;
}

/** Why a frame body was rejected; the decoder counts each reason. */
export const FRAME_ERRORS = [
  "noise",
  "bad_escape",
  "bad_checksum",
  "early_start",
  "oversize",
  "too_short",
  "bad_flags",
] as const;
export type FrameError = (typeof FRAME_ERRORS)[number];
