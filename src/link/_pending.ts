/**
 * The link's requests waiting for their replies, by sequence number, and the counter that hands
 * out the numbers: one counter (0-255, wrapping) for both processors, skipping a number still
 * waiting, so two pending requests never share one. Private to the link.
 *
 * @module
 */
import type { CommandDef, NodeId, Packet } from "../protocol/mod.ts";
import { checkNode } from "./_notifications.ts";

export interface PendingRequest {
  readonly command: string;
  readonly did: number;
  readonly cid: number;
  readonly target: NodeId;
  settled: boolean;
  succeed(packet: Packet): void;
  fail(error: unknown): void;
}

export class PendingRequests extends Map<number, PendingRequest> {
  #nextSeq: number;

  constructor(firstSeq: number) {
    super();
    if (!Number.isInteger(firstSeq) || firstSeq < 0 || firstSeq > 0xff) {
      throw new RangeError(`RvrLink firstSeq must be an integer 0-255, got ${String(firstSeq)}.`);
    }
    this.#nextSeq = firstSeq;
  }

  /** The next sequence number no pending request holds; Error when all 256 are taken. */
  allocate(name: string, path: string): number {
    for (let i = 0; i < 256; i++) {
      const seq = this.#nextSeq;
      this.#nextSeq = (seq + 1) & 0xff;
      if (!this.has(seq)) return seq;
    }
    throw new Error(
      `Cannot send ${name}: all 256 sequence numbers are waiting for replies on ${path}; ` +
        `limit concurrent requests (the robot answers one at a time anyway).`,
    );
  }
}

/** RangeError unless `ms` is a positive, finite number of milliseconds. */
export function checkTimeout(what: string, ms: unknown): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0) {
    throw new RangeError(
      `${what} must be a positive number of milliseconds, got ${String(ms)}; e.g. 1000.`,
    );
  }
  return ms;
}

/** The processor a request goes to: `target`, or the command's own; TypeError when it needs one. */
export function targetOf(def: CommandDef, target: NodeId | undefined): NodeId {
  const checked = checkNode(`target for ${def.name}`, target);
  if (checked !== undefined) return checked;
  if (def.node === "any") {
    throw new TypeError(
      `"${def.name}" runs on either processor; pass { target: 1 } (Nordic) or { target: 2 } (ST).`,
    );
  }
  return def.node;
}
