/**
 * The shapes of the robot's runtime state (held by {@link StateStore} in state.ts): the closed
 * sets (connection and power statuses, battery states, state aspects), the connection transition
 * table, the immutable snapshot of each aspect and the change a listener receives.
 *
 * @module
 */
export const CONNECTION_STATUSES = [
  "disconnected",
  "connecting",
  "connected",
  "reconnecting",
  "error",
] as const;
export type ConnectionStatus = typeof CONNECTION_STATUSES[number];

/** Allowed connection transitions: from -> targets. */
export const CONNECTION_TRANSITIONS: {
  readonly [S in ConnectionStatus]: readonly ConnectionStatus[];
} = {
  disconnected: ["connecting"],
  connecting: ["connected", "error", "disconnected"],
  connected: ["reconnecting", "disconnected", "error"],
  reconnecting: ["reconnecting", "connected", "error", "disconnected"],
  error: ["connecting", "reconnecting", "disconnected"],
};

export const POWER_STATUSES = ["unknown", "awake", "asleep"] as const;
export type PowerStatus = typeof POWER_STATUSES[number];

/** Battery voltage state, as the robot reports it (0 unknown, 1 ok, 2 low, 3 critical). */
export const BATTERY_STATES = ["unknown", "ok", "low", "critical"] as const;
export type BatteryState = typeof BATTERY_STATES[number];

export const STATE_ASPECTS = ["connection", "power", "safety", "sensors"] as const;
export type StateAspect = typeof STATE_ASPECTS[number];

export interface ConnectionState {
  readonly status: ConnectionStatus;
  /** Epoch ms when this status was entered. */
  readonly enteredAt: number;
  /** Why, as given to transition(). */
  readonly reason: string | null;
  /** Reconnect attempt (1, 2, ...) while reconnecting; 0 otherwise. */
  readonly attempt: number;
  /** The error that led here (status "error", or a reconnect after one); else null. */
  readonly error: string | null;
}

export interface PowerState {
  readonly status: PowerStatus;
  readonly enteredAt: number;
  readonly reason: string | null;
}

export interface SafetyState {
  readonly estopLatched: boolean;
  readonly estopReason: string | null;
  /** Epoch ms when the e-stop was latched; null when released. */
  readonly estopLatchedAt: number | null;
  readonly batteryState: BatteryState;
  /** 0-100, or null if not known yet. */
  readonly batteryPercent: number | null;
  /** batteryState === "critical". */
  readonly batteryCritical: boolean;
  readonly motorFault: boolean;
  /** Epoch ms of the last change. */
  readonly changedAt: number;
}

export interface SensorState {
  /** Names of the sensor streams currently configured and running. */
  readonly activeStreams: readonly string[];
  /** Streaming period in ms, or null when not streaming. */
  readonly streamPeriodMs: number | null;
  readonly changedAt: number;
}

export interface StateSnapshot {
  readonly connection: ConnectionState;
  readonly power: PowerState;
  readonly safety: SafetyState;
  readonly sensors: SensorState;
}

type ChangeOf<A extends StateAspect> = {
  readonly aspect: A;
  readonly previous: StateSnapshot[A];
  readonly next: StateSnapshot[A];
  /** Epoch ms. */
  readonly at: number;
  readonly reason: string | null;
};

/** One change, discriminated on `aspect`. */
export type StateChange =
  | ChangeOf<"connection">
  | ChangeOf<"power">
  | ChangeOf<"safety">
  | ChangeOf<"sensors">;

export type StateListener = (change: StateChange) => void;

export interface SafetyPatch {
  batteryState?: BatteryState;
  batteryPercent?: number | null;
  motorFault?: boolean;
}

export interface SensorPatch {
  activeStreams?: readonly string[];
  streamPeriodMs?: number | null;
}

export interface StateStoreOptions {
  /** A listener registered at construction. */
  onChange?: StateListener;
}

export interface StateStoreStats {
  changes: Record<StateAspect, number>;
  listenerErrors: number;
}
