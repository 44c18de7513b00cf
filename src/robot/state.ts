/**
 * The robot's runtime state: connection (a state machine with a transition table), power,
 * safety and sensor state. Snapshots are immutable; every change is reported to listeners with
 * the previous and the next value and a timestamp (`enteredAt` / `changedAt`, epoch ms), so
 * uptime and time-in-state can be computed. The robot layer forwards changes onto its event bus.
 *
 * Connection transitions ({@link CONNECTION_TRANSITIONS}); anything else throws
 * {@link IllegalTransitionError} naming from, to and the allowed targets:
 *
 * | from | allowed targets |
 * |---|---|
 * | disconnected | connecting |
 * | connecting | connected, error, disconnected |
 * | connected | reconnecting, disconnected, error |
 * | reconnecting | reconnecting (next attempt), connected, error, disconnected |
 * | error | connecting, reconnecting, disconnected |
 *
 * `attempt` counts reconnect attempts: 1 on entering "reconnecting", +1 per
 * reconnecting -> reconnecting, 0 in every other state.
 *
 * Power (`unknown | awake | asleep`), safety (e-stop latch, battery state and percentage, motor
 * fault) and sensors (active streams, period) change freely; setting a value it already has is
 * not a change and emits nothing.
 *
 * The types and closed sets live in state_types.ts (re-exported here).
 *
 * Observability (for the metrics layer): {@link StateStore.addListener} / the `onChange` option
 * receive every {@link StateChange}; {@link StateStore.stats} counts changes per aspect and
 * listener errors; {@link StateStore.connectedForMs} gives the uptime. Listeners must not throw;
 * one that does is logged and counted and never disturbs the state.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { errorMessage, IllegalTransitionError } from "../core/mod.ts";
import {
  BATTERY_STATES,
  CONNECTION_STATUSES,
  CONNECTION_TRANSITIONS,
  type ConnectionState,
  type ConnectionStatus,
  POWER_STATUSES,
  type PowerState,
  type PowerStatus,
  type SafetyPatch,
  type SafetyState,
  type SensorPatch,
  type SensorState,
  STATE_ASPECTS,
  type StateAspect,
  type StateChange,
  type StateListener,
  type StateSnapshot,
  type StateStoreOptions,
  type StateStoreStats,
} from "./state_types.ts";

export * from "./state_types.ts";

const log = getLogger(["rvr", "robot", "state"]);

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export class StateStore {
  #state: StateSnapshot;
  #listeners: StateListener[] = [];
  #changes = Object.fromEntries(STATE_ASPECTS.map((a) => [a, 0])) as Record<StateAspect, number>;
  #listenerErrors = 0;

  constructor(options: StateStoreOptions = {}) {
    const now = Date.now();
    this.#state = Object.freeze(
      {
        connection: Object.freeze({
          status: "disconnected",
          enteredAt: now,
          reason: null,
          attempt: 0,
          error: null,
        }),
        power: Object.freeze({ status: "unknown", enteredAt: now, reason: null }),
        safety: Object.freeze({
          estopLatched: false,
          estopReason: null,
          estopLatchedAt: null,
          batteryState: "unknown",
          batteryPercent: null,
          batteryCritical: false,
          motorFault: false,
          changedAt: now,
        }),
        sensors: Object.freeze({
          activeStreams: Object.freeze([]),
          streamPeriodMs: null,
          changedAt: now,
        }),
      } satisfies StateSnapshot,
    );
    if (options.onChange) this.#listeners.push(options.onChange);
  }

  /** The whole state, immutable (a new object after every change). */
  get snapshot(): StateSnapshot {
    return this.#state;
  }

  get connection(): ConnectionState {
    return this.#state.connection;
  }

  get power(): PowerState {
    return this.#state.power;
  }

  get safety(): SafetyState {
    return this.#state.safety;
  }

  get sensors(): SensorState {
    return this.#state.sensors;
  }

  get stats(): StateStoreStats {
    return { changes: { ...this.#changes }, listenerErrors: this.#listenerErrors };
  }

  /** Adds a change listener; returns a function that removes it. */
  addListener(listener: StateListener): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** Milliseconds since the connection entered "connected"; 0 when not connected. */
  connectedForMs(now: number = Date.now()): number {
    const c = this.#state.connection;
    return c.status === "connected" ? Math.max(0, now - c.enteredAt) : 0;
  }

  /** Targets allowed from the current connection status. */
  allowedTransitions(): readonly ConnectionStatus[] {
    return CONNECTION_TRANSITIONS[this.#state.connection.status];
  }

  canTransition(to: ConnectionStatus): boolean {
    return this.allowedTransitions().includes(to);
  }

  /**
   * Moves the connection to `to`; throws {@link IllegalTransitionError} if the table does not
   * allow it, RangeError for an unknown status. `error` is recorded (as its message) on the state.
   */
  transition(
    to: ConnectionStatus,
    options: { reason?: string; error?: unknown } = {},
  ): ConnectionState {
    if (!(CONNECTION_STATUSES as readonly string[]).includes(to)) {
      throw new RangeError(
        `Unknown connection status ${String(to)}; use one of ${CONNECTION_STATUSES.join(", ")}.`,
      );
    }
    const previous = this.#state.connection;
    const allowed = CONNECTION_TRANSITIONS[previous.status];
    if (!allowed.includes(to)) {
      throw new IllegalTransitionError("connection", previous.status, to, allowed);
    }
    const now = Date.now();
    const error = options.error !== undefined
      ? errorMessage(options.error)
      : to === "reconnecting" && previous.status === "error"
      ? previous.error
      : null;
    const next: ConnectionState = Object.freeze({
      status: to,
      enteredAt: now,
      reason: options.reason ?? null,
      attempt: to === "reconnecting"
        ? (previous.status === "reconnecting" ? previous.attempt + 1 : 1)
        : 0,
      error,
    });
    if (to === "error" || to === "reconnecting") {
      log.warn("Connection {from} -> {to}: {reason}", {
        from: previous.status,
        to,
        reason: next.reason ?? error,
      });
    } else {
      log.info("Connection {from} -> {to}", { from: previous.status, to });
    }
    this.#commit("connection", previous, next, now, next.reason);
    return next;
  }

  /** Sets the power status; returns false (and emits nothing) if it already was that. */
  setPower(status: PowerStatus, options: { reason?: string } = {}): boolean {
    if (!(POWER_STATUSES as readonly string[]).includes(status)) {
      throw new RangeError(
        `Unknown power status ${String(status)}; use one of ${POWER_STATUSES.join(", ")}.`,
      );
    }
    const previous = this.#state.power;
    if (previous.status === status) return false;
    const now = Date.now();
    const next: PowerState = Object.freeze({
      status,
      enteredAt: now,
      reason: options.reason ?? null,
    });
    this.#commit("power", previous, next, now, next.reason);
    return true;
  }

  /** Latches the emergency stop (idempotent: an already latched e-stop keeps its first reason). */
  latchEstop(reason: string): boolean {
    if (typeof reason !== "string" || reason === "") {
      throw new TypeError(
        `latchEstop needs a reason string (e.g. "operator e-stop"), got ${String(reason)}.`,
      );
    }
    const previous = this.#state.safety;
    if (previous.estopLatched) return false;
    const now = Date.now();
    log.warn("Emergency stop latched: {reason}", { reason });
    this.#commit(
      "safety",
      previous,
      Object.freeze({
        ...previous,
        estopLatched: true,
        estopReason: reason,
        estopLatchedAt: now,
        changedAt: now,
      }),
      now,
      `e-stop latched: ${reason}`,
    );
    return true;
  }

  /** Releases the emergency stop; returns false if it was not latched. */
  releaseEstop(reason = "released"): boolean {
    const previous = this.#state.safety;
    if (!previous.estopLatched) return false;
    const now = Date.now();
    log.info("Emergency stop released: {reason}", { reason });
    this.#commit(
      "safety",
      previous,
      Object.freeze({
        ...previous,
        estopLatched: false,
        estopReason: null,
        estopLatchedAt: null,
        changedAt: now,
      }),
      now,
      `e-stop released: ${reason}`,
    );
    return true;
  }

  /** Updates battery and motor-fault state; returns false if nothing changed. */
  updateSafety(patch: SafetyPatch, options: { reason?: string } = {}): boolean {
    const previous = this.#state.safety;
    const batteryState = patch.batteryState ?? previous.batteryState;
    if (!(BATTERY_STATES as readonly string[]).includes(batteryState)) {
      throw new RangeError(
        `Unknown battery state ${String(batteryState)}; use one of ${BATTERY_STATES.join(", ")}.`,
      );
    }
    const batteryPercent = patch.batteryPercent === undefined
      ? previous.batteryPercent
      : patch.batteryPercent;
    if (
      batteryPercent !== null &&
      !(Number.isFinite(batteryPercent) && batteryPercent >= 0 && batteryPercent <= 100)
    ) {
      throw new RangeError(`batteryPercent must be 0-100 or null, got ${batteryPercent}.`);
    }
    const motorFault = patch.motorFault ?? previous.motorFault;
    if (typeof motorFault !== "boolean") {
      throw new TypeError(`motorFault must be a boolean, got ${String(motorFault)}.`);
    }
    if (
      batteryState === previous.batteryState && batteryPercent === previous.batteryPercent &&
      motorFault === previous.motorFault
    ) {
      return false;
    }
    const now = Date.now();
    const batteryCritical = batteryState === "critical";
    if (batteryCritical && !previous.batteryCritical) log.warn("Battery critical");
    if (motorFault && !previous.motorFault) log.warn("Motor fault reported");
    this.#commit(
      "safety",
      previous,
      Object.freeze({
        ...previous,
        batteryState,
        batteryPercent,
        batteryCritical,
        motorFault,
        changedAt: now,
      }),
      now,
      options.reason ?? null,
    );
    return true;
  }

  /** Updates the sensor-stream state; returns false if nothing changed. */
  updateSensors(patch: SensorPatch, options: { reason?: string } = {}): boolean {
    const previous = this.#state.sensors;
    const activeStreams = patch.activeStreams ?? previous.activeStreams;
    if (!Array.isArray(activeStreams) || activeStreams.some((s) => typeof s !== "string")) {
      throw new TypeError(
        `activeStreams must be an array of stream names, got ${JSON.stringify(activeStreams)}.`,
      );
    }
    const streamPeriodMs = patch.streamPeriodMs === undefined
      ? previous.streamPeriodMs
      : patch.streamPeriodMs;
    if (streamPeriodMs !== null && !(Number.isFinite(streamPeriodMs) && streamPeriodMs > 0)) {
      throw new RangeError(`streamPeriodMs must be a number > 0 or null, got ${streamPeriodMs}.`);
    }
    if (
      sameList(activeStreams, previous.activeStreams) && streamPeriodMs === previous.streamPeriodMs
    ) return false;
    const now = Date.now();
    this.#commit(
      "sensors",
      previous,
      Object.freeze({
        activeStreams: Object.freeze([...activeStreams]),
        streamPeriodMs,
        changedAt: now,
      }),
      now,
      options.reason ?? null,
    );
    return true;
  }

  #commit<A extends StateAspect>(
    aspect: A,
    previous: StateSnapshot[A],
    next: StateSnapshot[A],
    at: number,
    reason: string | null,
  ): void {
    this.#state = Object.freeze({ ...this.#state, [aspect]: next });
    this.#changes[aspect]++;
    const change = Object.freeze({ aspect, previous, next, at, reason }) as StateChange;
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (error) {
        this.#listenerErrors++;
        log.error("State listener threw on a {aspect} change: {error}", { aspect, error });
      }
    }
  }
}
