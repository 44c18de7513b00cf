/**
 * One packet of §2: header fields plus payload, and its exact wire encoding.
 */
import { checksum } from "./checksum.ts";
import { EOP, Flag, MIN_FRAME_BODY_BYTES, SOP } from "./constants.ts";
import { escapeInto } from "./escape.ts";

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

const EMPTY = new Uint8Array(0);

function checkByte(name: string, value: number | undefined): void {
  if (value === undefined || !Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new RangeError(
      `Packet field ${name} must be an integer 0–255, got ${String(value)}; pass a byte value.`,
    );
  }
}

/** Length of the unescaped body FLAGS…CHK of `packet`. */
function bodyLength(p: Packet): number {
  return 5 + (p.flags & Flag.hasTargetId ? 1 : 0) + (p.flags & Flag.hasSourceId ? 1 : 0) +
    (p.flags & Flag.isResponse ? 1 : 0) + p.payload.length;
}

/**
 * Encodes `packet` to its wire bytes: SOP, escaped FLAGS…CHK, EOP.
 * Throws RangeError for a header field outside 0–255, a missing TID/SID/ERR its flags announce,
 * or extended flags (bit 7), which no RVR peer supports.
 */
export function encodePacket(p: Packet): Uint8Array {
  checkByte("flags", p.flags);
  if (p.flags & Flag.hasMoreFlags) {
    throw new RangeError(
      `Packet flags 0x${
        p.flags.toString(16)
      } set bit 7 (extended flags), which the RVR does not use; clear it.`,
    );
  }
  if (p.flags & Flag.hasTargetId) checkByte("target", p.target);
  if (p.flags & Flag.hasSourceId) checkByte("source", p.source);
  if (p.flags & Flag.isResponse) checkByte("err", p.err);
  checkByte("did", p.did);
  checkByte("cid", p.cid);
  checkByte("seq", p.seq);
  const payload = p.payload ?? EMPTY;
  const body = new Uint8Array(bodyLength({ ...p, payload }));
  let i = 0;
  body[i++] = p.flags;
  if (p.flags & Flag.hasTargetId) body[i++] = p.target as number;
  if (p.flags & Flag.hasSourceId) body[i++] = p.source as number;
  body[i++] = p.did;
  body[i++] = p.cid;
  body[i++] = p.seq;
  if (p.flags & Flag.isResponse) body[i++] = p.err as number;
  body.set(payload, i);
  i += payload.length;
  body[i] = checksum(body, 0, i);
  const out = new Uint8Array(2 + body.length * 2);
  out[0] = SOP;
  let o = escapeInto(body, out, 1);
  out[o++] = EOP;
  return out.subarray(0, o);
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

/**
 * Parses an unescaped body FLAGS…CHK (`body[0..length)`), checksum included.
 * Returns the packet (payload copied) or the reason it is not one.
 */
export function parseBody(body: Uint8Array, length: number): Packet | FrameError {
  if (length < MIN_FRAME_BODY_BYTES) return "too_short";
  let sum = 0;
  for (let i = 0; i < length; i++) sum += body[i];
  if ((sum & 0xff) !== 0xff) return "bad_checksum";
  const flags = body[0];
  if (
    (flags & Flag.hasMoreFlags) ||
    ((flags & Flag.isResponse) && (flags & Flag.requestsResponse))
  ) return "bad_flags";
  let i = 1;
  const hasTarget = (flags & Flag.hasTargetId) !== 0;
  const hasSource = (flags & Flag.hasSourceId) !== 0;
  const isResponse = (flags & Flag.isResponse) !== 0;
  const header = 4 + (hasTarget ? 1 : 0) + (hasSource ? 1 : 0) + (isResponse ? 1 : 0);
  if (length - 1 < header) return "too_short";
  const target = hasTarget ? body[i++] : undefined;
  const source = hasSource ? body[i++] : undefined;
  const did = body[i++];
  const cid = body[i++];
  const seq = body[i++];
  const err = isResponse ? body[i++] : undefined;
  const payload = body.slice(i, length - 1);
  const p: Packet = { flags, did, cid, seq, payload };
  if (target !== undefined) p.target = target;
  if (source !== undefined) p.source = source;
  if (err !== undefined) p.err = err;
  return p;
}
