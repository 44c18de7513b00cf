/**
 * The telemetry frame codec, shared by the server and the dashboard in the browser (pure: no
 * Deno, no DOM, no logging). {@link DeltaEncoder} numbers a sequence of telemetry states
 * (src/telemetry/state.ts) as frames, a full one first and then deltas holding only the changed
 * leaves; {@link applyFrame} (the client side) rebuilds the state from the frames exactly.
 *
 * **Frames** ({@link TelemetryFrame}; what the telemetry WebSocket sends as JSON text):
 * `{"type":"full","seq":1,"at":<ms>,"state":{...}}` then
 * `{"type":"delta","seq":2,"at":<ms>,"changes":{"pose.x_m":0.1234,"updated_at":<ms>}}`. Every
 * frame (full ones too) takes the next `seq`. A delta's keys are dotted paths of leaves (a leaf:
 * a number, string, boolean, null, array, or empty object) that differ from the previous frame's
 * state; a delta never changes the state's shape (a state whose set of paths changed is sent as
 * a full frame). A client that sees `seq != last + 1` must not apply the frame: it asks for a
 * full frame. {@link DeltaEncoder.lastFull} gives one for a single client (joining or resyncing)
 * without taking a new number, so the deltas everybody else follows keep applying on it.
 *
 * @module
 */
import type { TelemetryState } from "./state.ts";

/** A frame of the telemetry stream (see the module doc). */
export type TelemetryFrame =
  | { type: "full"; seq: number; at: number; state: TelemetryState }
  | { type: "delta"; seq: number; at: number; changes: Record<string, unknown> };

/**
 * A well-formed delta that does not apply to the client's state (there is none yet, or it names
 * a path the state lacks): the client is out of step and must ask for a full frame
 * (`{"type":"resync"}`). Malformed frames are TypeErrors instead.
 */
export class StaleFrameError extends Error {
  /** The seq of the delta that did not apply. */
  readonly seq: number;

  constructor(seq: number, message: string) {
    super(message);
    this.name = "StaleFrameError";
    this.seq = seq;
  }
}

type Obj = Record<string, unknown>;

/** A plain object: not null, not an array. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A deep copy of plain JSON data (objects, arrays, primitives). */
export function clonePlain<T>(v: T): T {
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) return v.map(clonePlain) as T;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = clonePlain((v as Record<string, unknown>)[k]);
  return out as T;
}

/** Is `v` a leaf of the state tree: not a non-empty plain object. */
function isLeaf(v: unknown): boolean {
  if (!isPlainObject(v)) return true;
  for (const _ in v) return false;
  return true;
}

function sameLeaf(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Leaves of `obj` by dotted path, in key order. TypeError for a key with a dot. */
function flatten(obj: unknown, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
  if (!isPlainObject(obj)) {
    throw new TypeError(`A telemetry state must be a plain object, got ${JSON.stringify(obj)}.`);
  }
  for (const key of Object.keys(obj)) {
    if (key.includes(".") || key === "") {
      throw new TypeError(
        `Telemetry state key ${JSON.stringify(prefix + key)} cannot be a dotted path segment; ` +
          `use keys without "." (snake_case).`,
      );
    }
    const v = obj[key];
    const path = prefix + key;
    if (isLeaf(v)) out.set(path, v);
    else flatten(v, path + ".", out);
  }
  return out;
}

function unflatten(flat: Map<string, unknown>): Obj {
  const root: Obj = {};
  for (const [path, value] of flat) {
    const parts = path.split(".");
    let o = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const next = o[parts[i]];
      if (isPlainObject(next)) o = next;
      else o = o[parts[i]] = {};
    }
    o[parts[parts.length - 1]] = clonePlain(value);
  }
  return root;
}

function checkAt(at: unknown): number {
  if (typeof at !== "number" || !Number.isFinite(at)) {
    throw new TypeError(`Frame time must be finite epoch ms, got ${String(at)}; e.g. Date.now().`);
  }
  return at;
}

/**
 * Numbers telemetry states as frames: a full frame first, then deltas of the changed leaves (see
 * the module doc). One encoder per stream of frames; every client of that stream follows the
 * same numbering.
 */
export class DeltaEncoder {
  #seq = 0;
  /** Leaves of the last frame's state; null before the first frame. */
  #last: Map<string, unknown> | null = null;
  #lastAt = 0;

  /** The seq of the last frame made (0 before any). */
  get seq(): number {
    return this.#seq;
  }

  /**
   * The frame that brings a client from the previous frame's state to `state`: a full frame the
   * first time (or when the state's shape changed), else a delta of the changed leaves; null
   * (no new seq) when nothing changed. TypeError for a state that is not a plain object or has a
   * key with a dot.
   */
  next(state: TelemetryState, at: number): TelemetryFrame | null {
    checkAt(at);
    const flat = flatten(state, "", new Map());
    const last = this.#last;
    if (last === null || last.size !== flat.size) return this.#full(flat, at);
    const changes: Record<string, unknown> = {};
    let n = 0;
    for (const [path, v] of flat) {
      if (!last.has(path)) return this.#full(flat, at);
      if (!sameLeaf(last.get(path), v)) {
        changes[path] = clonePlain(v);
        n++;
      }
    }
    if (n === 0) return null;
    this.#remember(flat, at);
    return { type: "delta", seq: ++this.#seq, at, changes };
  }

  /** A full frame of `state` with the next seq; later deltas are relative to it. */
  full(state: TelemetryState, at: number): TelemetryFrame {
    checkAt(at);
    return this.#full(flatten(state, "", new Map()), at);
  }

  /**
   * The last frame's state as a full frame under the last seq (no new number), or null before
   * the first frame: for one client that joins or asks to resync while others follow the deltas;
   * the next delta (seq + 1) applies on it.
   */
  lastFull(): TelemetryFrame | null {
    if (this.#last === null) return null;
    return {
      type: "full",
      seq: this.#seq,
      at: this.#lastAt,
      state: unflatten(this.#last) as unknown as TelemetryState,
    };
  }

  #full(flat: Map<string, unknown>, at: number): TelemetryFrame {
    this.#remember(flat, at);
    return {
      type: "full",
      seq: ++this.#seq,
      at,
      state: unflatten(flat) as unknown as TelemetryState,
    };
  }

  #remember(flat: Map<string, unknown>, at: number): void {
    // Leaves that are objects or arrays are kept as copies: the caller may mutate its state.
    for (const [path, v] of flat) {
      if (typeof v === "object" && v !== null) flat.set(path, clonePlain(v));
    }
    this.#last = flat;
    this.#lastAt = at;
  }
}

/**
 * Client side: the state after `frame`, built from `state` (the state after the previous frame,
 * or null). Does not modify its arguments. A full frame replaces the state; a delta sets its
 * leaves. Throws {@link StaleFrameError} when a delta has no base (`state` null) or names a path
 * the base does not have (the client then asks for a full frame), TypeError for a malformed
 * frame. Checking `seq` (gaps) is the caller's job.
 */
export function applyFrame(state: TelemetryState | null, frame: TelemetryFrame): TelemetryState {
  if (!isPlainObject(frame) || typeof frame.seq !== "number") {
    throw new TypeError(
      `Not a telemetry frame: ${JSON.stringify(frame)}; expected {type, seq, at, state|changes}.`,
    );
  }
  if (frame.type === "full") {
    if (!isPlainObject(frame.state)) {
      throw new TypeError(`Full frame ${frame.seq} has no state object; ask for a full frame.`);
    }
    return clonePlain(frame.state);
  }
  if (frame.type !== "delta") {
    throw new TypeError(
      `Unknown telemetry frame type ${JSON.stringify((frame as Obj).type)} ` +
        `(seq ${(frame as Obj).seq}); expected "full" or "delta".`,
    );
  }
  if (state === null) {
    throw new StaleFrameError(
      frame.seq,
      `Delta frame ${frame.seq} needs a base state and there is none: ask for a full frame ` +
        `({"type":"resync"}).`,
    );
  }
  if (!isPlainObject(frame.changes)) {
    throw new TypeError(`Delta frame ${frame.seq} has no changes object; ask for a full frame.`);
  }
  const out = clonePlain(state) as unknown as Obj;
  for (const [path, value] of Object.entries(frame.changes)) {
    const parts = path.split(".");
    let o: Obj = out;
    for (let i = 0; i < parts.length; i++) {
      const key = parts[i];
      if (!Object.hasOwn(o, key)) {
        throw new StaleFrameError(
          frame.seq,
          `Delta frame ${frame.seq} changes ${path}, which the base state does not have: ` +
            `ask for a full frame.`,
        );
      }
      if (i === parts.length - 1) {
        o[key] = clonePlain(value);
      } else {
        const next = o[key];
        if (!isPlainObject(next)) {
          throw new StaleFrameError(
            frame.seq,
            `Delta frame ${frame.seq} changes ${path}, but ${
              parts.slice(0, i + 1).join(".")
            } is not an object in the base state: ask for a full frame.`,
          );
        }
        o = next;
      }
    }
  }
  return out as unknown as TelemetryState;
}
