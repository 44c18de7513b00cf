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

/** A leaf changed since the last frame: where it is and its value in that frame. */
interface Changed {
  readonly obj: Obj;
  readonly key: string;
  readonly before: unknown;
}

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
  /** The dotted path of each object of the state ("" for the root, "pose." for pose). */
  readonly #prefix = new Map<object, string>();
  /** Each leaf's place in the state's key order (the order a delta lists them in). */
  readonly #order = new Map<string, number>();
  /** Leaves set since the last frame, by dotted path. */
  #dirty = new Map<string, Changed>();
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
    // The state's objects are made once, here, and never replaced: a leaf's path is its object's
    // prefix and its key.
    this.#prefix.set(target, "");
    for (const [key, value] of Object.entries(target)) {
      if (isPlainObject(value)) {
        this.#prefix.set(value, `${key}.`);
        for (const k of Object.keys(value)) this.#order.set(`${key}.${k}`, this.#order.size);
      } else {
        this.#order.set(key, this.#order.size);
      }
    }
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
      this.#dirty.clear();
      this.#seq = 1;
      this.#lastAt = at;
      return { type: "full", seq: 1, at, state: this.snapshot() };
    }
    const changed: [number, string, unknown][] = [];
    for (const [path, { obj, key, before }] of this.#dirty) {
      const now = obj[key];
      if (!Object.is(now, before)) changed.push([this.#order.get(path) ?? 0, path, now]);
    }
    this.#dirty.clear();
    if (changed.length === 0) return null;
    changed.sort((a, b) => a[0] - b[0]);
    const changes: Record<string, unknown> = {};
    for (const [, path, value] of changed) changes[path] = clonePlain(value);
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
    const path = (this.#prefix.get(o) ?? "") + key;
    if (!this.#dirty.has(path)) this.#dirty.set(path, { obj: o, key, before: o[key] });
    o[key] = value;
    this.#changed = true;
  }
}
