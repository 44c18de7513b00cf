/**
 * The telemetry model, the one state store between a robot event and a telemetry client:
 * {@link TelemetryModel} folds robot bus events into one plain JSON object ({@link TelemetryState},
 * state.ts) and numbers what changed as frames ({@link TelemetryFrame}, json_delta.ts): a full
 * frame first, then deltas holding only the leaves that changed since the previous frame. It
 * remembers which leaves it changed while folding, so a frame needs no copy of the previous state
 * and no comparison of whole states; {@link applyFrame} (the client side, json_delta.ts) rebuilds
 * the state from the frames exactly.
 *
 * Which event sets which leaf, and how values are rounded, is in _fold.ts and state.ts.
 *
 * **Frames** ({@link TelemetryModel.nextFrame}): the first is full (seq 1); each later one is a
 * delta of the leaves whose value differs from the previous frame's (a leaf changed and changed
 * back between two frames is not in it), or null (no new seq) when none does. They are exactly the
 * frames a {@link DeltaEncoder} makes from the snapshots; the model just does not need a second
 * copy of the state to make them. {@link TelemetryModel.lastFull} gives the state now as a full
 * frame under the last seq, for one client that joins or resyncs. Fold and frame together (as the
 * telemetry hub does: apply, then nextFrame) so that the state now is the last frame's.
 *
 * @module
 */
import type { BusEvent } from "../core/event_bus.ts";
import { STATE_ASPECTS, type StateSnapshot } from "../robot/mod.ts";
import type { RobotTopics } from "../robot/mod.ts";
import { foldEvent } from "./_fold.ts";
import { clonePlain, isPlainObject, type TelemetryFrame } from "./json_delta.ts";
import { emptyTelemetryState, type TelemetryInit, type TelemetryState } from "./state.ts";

type RobotEvent = BusEvent<RobotTopics>;
type Obj = Record<string, unknown>;

/** Options of {@link TelemetryModel.fromSnapshot}. */
export interface FromSnapshotOptions {
  /** Values the snapshot does not hold (the port, the speed limit); as for the constructor. */
  initial?: TelemetryInit;
  /** Epoch ms of the snapshot. Default Date.now(). */
  at?: number;
  /** The reason the folded changes carry. Default "snapshot". */
  reason?: string;
}

function checkAt(at: unknown): number {
  if (typeof at !== "number" || !Number.isFinite(at)) {
    throw new TypeError(`Frame time must be finite epoch ms, got ${String(at)}; e.g. Date.now().`);
  }
  return at;
}

/** Folds robot bus events into a {@link TelemetryState} and frames it (see the module doc). */
export class TelemetryModel {
  #state: TelemetryState;
  #changed = false;
  // One slot per leaf, numbered in the state's key order (the order a delta lists them in):
  // its object, key and dotted path, whether it was set since the last frame and its value in
  // that frame. Made once; folding and framing allocate nothing per leaf (this runs 200 times a
  // second, and garbage made here is what a busy hub's heap fills with).
  /** Each object of the state: its keys' slots. */
  readonly #slots = new Map<object, Record<string, number>>();
  readonly #leafObj: Obj[] = [];
  readonly #leafKey: string[] = [];
  readonly #leafPath: string[] = [];
  readonly #dirty: boolean[] = [];
  readonly #before: unknown[] = [];
  #dirtyCount = 0;
  #seq = 0;
  #lastAt = 0;

  /**
   * A model that starts from the robot's state store now (`runtime.state.snapshot`): `initial`
   * first, then each aspect of the snapshot folded in as a "robot.state" change (to itself), so
   * the model's own rules map it. TypeError for a snapshot that lacks an aspect.
   */
  static fromSnapshot(snapshot: StateSnapshot, options: FromSnapshotOptions = {}): TelemetryModel {
    if (!isPlainObject(snapshot)) {
      throw new TypeError(
        `fromSnapshot needs a state snapshot (runtime.state.snapshot), got ${String(snapshot)}.`,
      );
    }
    for (const aspect of STATE_ASPECTS) {
      if (!isPlainObject(snapshot[aspect])) {
        throw new TypeError(
          `The state snapshot has no ${aspect} part; pass runtime.state.snapshot (aspects ${
            STATE_ASPECTS.join(", ")
          }).`,
        );
      }
    }
    const at = options.at === undefined ? Date.now() : checkAt(options.at);
    const reason = options.reason ?? "snapshot";
    const model = new TelemetryModel(options.initial);
    model.apply(STATE_ASPECTS.map((aspect): RobotEvent => ({
      topic: "robot.state",
      seq: 0,
      publishedAt: at,
      payload: {
        aspect,
        previous: snapshot[aspect],
        next: snapshot[aspect],
        at,
        reason,
      } as RobotTopics["robot.state"],
    })));
    return model;
  }

  /** TypeError for an `initial` key the state does not have. */
  constructor(initial: TelemetryInit = {}) {
    const state = emptyTelemetryState();
    const target = state as unknown as Obj;
    for (const [key, value] of Object.entries(initial)) {
      if (!Object.hasOwn(target, key)) {
        throw new TypeError(
          `Unknown telemetry state key ${JSON.stringify(key)} in initial; use one of ${
            Object.keys(target).join(", ")
          }.`,
        );
      }
      const current = target[key];
      if (isPlainObject(current)) {
        if (!isPlainObject(value)) {
          throw new TypeError(
            `initial.${key} must be an object of ${Object.keys(current).join(", ")}, got ${
              JSON.stringify(value)
            }.`,
          );
        }
        for (const [k, v] of Object.entries(value)) {
          if (!Object.hasOwn(current, k)) {
            throw new TypeError(
              `Unknown telemetry state key ${key}.${k} in initial; use one of ${
                Object.keys(current).join(", ")
              }.`,
            );
          }
          current[k] = clonePlain(v);
        }
      } else {
        target[key] = clonePlain(value);
      }
    }
    this.#state = state;
    // The state's objects are made once, here, and never replaced: a leaf is its object and key.
    const root: Record<string, number> = {};
    this.#slots.set(target, root);
    for (const [key, value] of Object.entries(target)) {
      if (isPlainObject(value)) {
        const slots: Record<string, number> = {};
        this.#slots.set(value, slots);
        for (const k of Object.keys(value)) slots[k] = this.#addLeaf(value, k, `${key}.${k}`);
      } else {
        root[key] = this.#addLeaf(target, key, key);
      }
    }
  }

  #addLeaf(obj: Obj, key: string, path: string): number {
    this.#leafObj.push(obj);
    this.#leafKey.push(key);
    this.#leafPath.push(path);
    this.#dirty.push(false);
    this.#before.push(undefined);
    return this.#leafObj.length - 1;
  }

  /** The seq of the last frame made (0 before any). */
  get seq(): number {
    return this.#seq;
  }

  /**
   * Folds `events` in, in order. Returns true when the state changed. Events it does not use are
   * ignored; it never throws on a malformed payload (the missing values become null).
   */
  apply(events: readonly RobotEvent[]): boolean {
    let changed = false;
    let latest = this.#state.updated_at;
    for (const event of events) {
      this.#changed = false;
      foldEvent(this.#state, event, this.#setLeaf);
      if (this.#changed) {
        changed = true;
        const at = typeof event.payload.at === "number" && Number.isFinite(event.payload.at)
          ? event.payload.at
          : event.publishedAt;
        if (latest === null || at > latest) latest = at;
      }
    }
    if (changed) this.#set(this.#state, "updated_at", latest);
    return changed;
  }

  /** A copy of the state now. */
  snapshot(): TelemetryState {
    return clonePlain(this.#state);
  }

  /**
   * The frame that brings a client from the previous frame's state to the state now: a full
   * frame the first time, else a delta of the leaves that differ from the previous frame's; null
   * (no new seq) when none does. TypeError for an `at` that is not finite epoch ms.
   */
  nextFrame(at: number): TelemetryFrame | null {
    checkAt(at);
    if (this.#seq === 0) {
      this.#clearDirty();
      this.#seq = 1;
      this.#lastAt = at;
      return { type: "full", seq: 1, at, state: this.snapshot() };
    }
    let changes: Record<string, unknown> | null = null;
    if (this.#dirtyCount > 0) {
      for (let i = 0; i < this.#dirty.length; i++) {
        if (!this.#dirty[i]) continue;
        const now = this.#leafObj[i][this.#leafKey[i]];
        if (!Object.is(now, this.#before[i])) (changes ??= {})[this.#leafPath[i]] = clonePlain(now);
      }
      this.#clearDirty();
    }
    if (changes === null) return null;
    this.#lastAt = at;
    return { type: "delta", seq: ++this.#seq, at, changes };
  }

  /**
   * The state now as a full frame under the last seq (no new number), or null before the first
   * frame: for one client that joins or asks to resync while others follow the deltas; the next
   * delta (seq + 1) applies on it.
   */
  lastFull(): TelemetryFrame | null {
    if (this.#seq === 0) return null;
    return { type: "full", seq: this.#seq, at: this.#lastAt, state: this.snapshot() };
  }

  /** Sets a leaf; a changed one is marked for the next frame (with its value in the last one). */
  readonly #setLeaf = (obj: object, key: string, value: unknown): void =>
    this.#set(obj, key, value);

  #set(obj: object, key: string, value: unknown): void {
    const o = obj as Obj;
    if (Object.is(o[key], value)) return;
    const slot = this.#slots.get(o)?.[key];
    if (slot === undefined) {
      throw new Error(
        `Telemetry fold set ${key}, which is not a leaf of the telemetry state; ` +
          `add it to emptyTelemetryState (state.ts) or fix the fold (_fold.ts).`,
      );
    }
    if (!this.#dirty[slot]) {
      this.#dirty[slot] = true;
      this.#before[slot] = o[key];
      this.#dirtyCount++;
    }
    o[key] = value;
    this.#changed = true;
  }

  /** No leaf set since the last frame (values of the last frame forgotten). */
  #clearDirty(): void {
    if (this.#dirtyCount === 0) return;
    this.#dirty.fill(false);
    this.#before.fill(undefined);
    this.#dirtyCount = 0;
  }
}
