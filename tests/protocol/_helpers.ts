/**
 * Shared by the protocol tests: hex helpers, a seeded PRNG, the golden vectors, and a
 * deliberately naive un-escaper that does not share code with src/protocol.
 */
import assert from "node:assert/strict";
import type { Packet } from "../../src/protocol/mod.ts";
import { fromHex, toHex, type VectorFrame } from "../_helpers/mod.ts";
import { mulberry32 } from "../../src/core/validate.ts";
export { fromHex, loadVectors, toHex, type Vector, type VectorFrame } from "../_helpers/mod.ts";

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A seeded PRNG returning floats in [0, 1) (mulberry32). */
export const seededRandom = mulberry32;

/** Cuts `bytes` into chunks at the given (unsorted, possibly repeated) offsets. */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(bytes.length, c))))]
    .sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

/**
 * The unescaped FLAGS...CHK bytes of one wire packet `8D ... D8`, written straight from section 4
 * (`AB x` stands for `x | 0x88`). Throws on anything that is not a single well-formed frame.
 */
export function unescapeFrame(wire: Uint8Array): Uint8Array {
  if (wire[0] !== 0x8d || wire[wire.length - 1] !== 0xd8) {
    throw new Error(`Not a frame: ${toHex(wire)}`);
  }
  const out: number[] = [];
  for (let i = 1; i < wire.length - 1; i++) {
    if (wire[i] === 0xab) {
      i++;
      const v = wire[i] | 0x88;
      if (![0x8d, 0xd8, 0xab].includes(v) || (wire[i] & 0x88) !== 0) {
        throw new Error(`Bad escape AB ${wire[i].toString(16)} in ${toHex(wire)}`);
      }
      out.push(v);
    } else {
      out.push(wire[i]);
    }
  }
  return Uint8Array.from(out);
}

/** The Packet a vector's frame describes (target/source/err only when present). */
export function frameToPacket(f: VectorFrame): Packet {
  const p: Packet = {
    flags: f.flags,
    did: f.did,
    cid: f.cid,
    seq: f.seq,
    payload: fromHex(f.payload_hex),
  };
  if (f.target !== null) p.target = f.target;
  if (f.source !== null) p.source = f.source;
  if (f.err !== null) p.err = f.err;
  return p;
}

/** One-line text of a packet: which keys it has, every field, the payload in hex. */
export function packetText(p: Packet): string {
  return `${
    Object.keys(p).sort().join(",")
  }|f${p.flags}|t${p.target}|s${p.source}|d${p.did}|c${p.cid}|q${p.seq}|e${p.err}|${p.payload.constructor.name}:${
    toHex(p.payload)
  }`;
}

/**
 * Strict packet-list equality, compared as one-line text: as strict as deepEqual for packets, but
 * cheap to report, which keeps fast-check's shrinking fast when a property fails.
 */
export function assertPackets(
  actual: readonly Packet[],
  expected: readonly Packet[],
  message?: string,
): void {
  assert.equal(actual.map(packetText).join(" / "), expected.map(packetText).join(" / "), message);
}
