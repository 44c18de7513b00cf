/**
 * The dashboard's side of the telemetry protocol (src/http/telemetry_ws.ts, rule 4): follows the
 * frame stream with the server's own codec ({@link applyFrame}), checks `seq`, and asks for a full
 * frame on a gap. Pure (no DOM, no socket): the page gives it a way to ask and a clock.
 *
 * A full frame replaces the state. A delta is applied when its seq is the last one + 1; a delta
 * with another seq, one before any full frame, or one naming a path the state lacks
 * ({@link StaleFrameError}) is counted as a gap, not applied, and makes the follower ask for a
 * full frame (again only after {@link RESYNC_RETRY_MS} while none came). A malformed frame throws
 * a TypeError naming it (the page counts and shows it).
 *
 * @module
 */
import type { TelemetryState } from "../../telemetry/state.ts";
import { applyFrame, StaleFrameError, type TelemetryFrame } from "../../telemetry/json_delta.ts";

/** How long the follower waits for a full frame before it asks again. */
export const RESYNC_RETRY_MS = 2000;

/** Frame counters (shown on the page, exposed as `rvrDashboard.stats`). */
export interface FollowerStats {
  /** Frames taken in: full ones, deltas applied and deltas refused as gaps. */
  frames: number;
  full: number;
  delta: number;
  /** Times a full frame was asked for. */
  resyncs: number;
  /** Deltas refused (seq gap or a path the state lacks). */
  gaps: number;
  /** Malformed frames and messages that were not JSON (counted by the page). */
  errors: number;
  /** Sockets opened (counted by the page). */
  connects: number;
}

/** What a frame did: the state it applied (with the changed paths; null = everything) or a gap. */
export type FrameOutcome =
  | { kind: "full" | "delta"; at: number; changes: Record<string, unknown> | null }
  | { kind: "gap"; why: string };

export interface FollowerOptions {
  /** Sends `{"type":"resync"}`; `why` says what went wrong (for the console). */
  requestFullFrame(why: string): void;
  /** Epoch ms now (Date.now in the page). */
  now(): number;
}

/** Follows one telemetry stream (see the module doc). */
export class TelemetryFollower {
  readonly stats: FollowerStats = {
    frames: 0,
    full: 0,
    delta: 0,
    resyncs: 0,
    gaps: 0,
    errors: 0,
    connects: 0,
  };
  #state: TelemetryState | null = null;
  #lastSeq: number | null = null;
  #awaitingFull = false;
  #resyncAskedAt = 0;
  readonly #options: FollowerOptions;

  constructor(options: FollowerOptions) {
    this.#options = options;
  }

  /** The state after the last frame applied; null before the first full frame. */
  get state(): TelemetryState | null {
    return this.#state;
  }

  /** The seq of the last frame applied; null before one, and again after {@link reset}. */
  get seq(): number | null {
    return this.#lastSeq;
  }

  /** True from asking for a full frame until one arrives. */
  get awaitingFull(): boolean {
    return this.#awaitingFull;
  }

  /** A new socket: the next frame must be a full one (the state is kept for display). */
  reset(): void {
    this.#lastSeq = null;
    this.#awaitingFull = false;
  }

  /** Takes in one parsed frame. TypeError for a malformed one (nothing changes then). */
  receive(frame: unknown): FrameOutcome {
    const f = frame as Partial<Record<"type" | "seq" | "at", unknown>> | null;
    if (f === null || typeof f !== "object" || typeof f.seq !== "number") {
      throw new TypeError(
        `Telemetry frame without a numeric seq: ${String(JSON.stringify(frame)).slice(0, 120)}`,
      );
    }
    const seq = f.seq;
    const at = typeof f.at === "number" ? f.at : this.#options.now();
    if (f.type === "full") {
      const state = applyFrame(this.#state, frame as TelemetryFrame);
      this.stats.frames++;
      this.stats.full++;
      this.#state = state;
      this.#lastSeq = seq;
      this.#awaitingFull = false;
      return { kind: "full", at, changes: null };
    }
    if (f.type !== "delta") {
      throw new TypeError(
        `Unknown telemetry frame type ${JSON.stringify(f.type)} (seq ${seq}); ` +
          `expected "full" or "delta".`,
      );
    }
    const delta = frame as Extract<TelemetryFrame, { type: "delta" }>;
    this.stats.frames++;
    if (this.#state === null || this.#lastSeq === null || seq !== this.#lastSeq + 1) {
      return this.#gap(
        this.#state === null ? "delta before any full frame" : `seq ${seq} after ${this.#lastSeq}`,
      );
    }
    let state: TelemetryState;
    try {
      state = applyFrame(this.#state, delta);
    } catch (error) {
      if (error instanceof StaleFrameError) return this.#gap(error.message);
      throw error;
    }
    this.#state = state;
    this.#lastSeq = seq;
    this.stats.delta++;
    return { kind: "delta", at, changes: delta.changes };
  }

  #gap(why: string): FrameOutcome {
    this.stats.gaps++;
    const now = this.#options.now();
    if (!this.#awaitingFull || now - this.#resyncAskedAt >= RESYNC_RETRY_MS) {
      this.#awaitingFull = true;
      this.#resyncAskedAt = now;
      this.stats.resyncs++;
      this.#options.requestFullFrame(why);
    }
    return { kind: "gap", why };
  }
}
