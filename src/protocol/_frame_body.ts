/**
 * Private to src/protocol: validation and header parsing of an unescaped frame body, for
 * FrameDecoder (which batches payload copies).
 */
import { checksumMatches } from "./checksum.ts";
import { Flag, MIN_FRAME_BODY_BYTES } from "./constants.ts";
import type { FrameError, Packet } from "./packet.ts";

export const EMPTY_PAYLOAD: Uint8Array = new Uint8Array(0);

/** Bytes before the payload: FLAGS [TID] [SID] DID CID SEQ [ERR]. */
export function headerLength(flags: number): number {
  return 4 + ((flags >> 4) & 1) + ((flags >> 5) & 1) + (flags & Flag.isResponse);
}

/**
 * Validates `body[0..length)` (FLAGS...CHK) and reads its header. The returned packet's payload is
 * EMPTY_PAYLOAD: the payload is `body[headerLength(flags) .. length - 1)`, for the caller to copy.
 */
export function readHeader(body: Uint8Array, length: number): Packet | FrameError {
  if (length < MIN_FRAME_BODY_BYTES) return "too_short";
  if (!checksumMatches(body, length)) return "bad_checksum";
  const flags = body[0];
  if ((flags & Flag.hasMoreFlags) || (flags & 0x03) === 0x03) return "bad_flags";
  if (length - 1 < headerLength(flags)) return "too_short";
  let i = 1;
  const target = flags & Flag.hasTargetId ? body[i++] : -1;
  const source = flags & Flag.hasSourceId ? body[i++] : -1;
  const p: Packet = {
    flags,
    did: body[i],
    cid: body[i + 1],
    seq: body[i + 2],
    payload: EMPTY_PAYLOAD,
  };
  if (target >= 0) p.target = target;
  if (source >= 0) p.source = source;
  if (flags & Flag.isResponse) p.err = body[i + 3];
  return p;
}
