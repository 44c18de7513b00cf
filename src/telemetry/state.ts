/**
 * The telemetry state people watch: its shape ({@link TelemetryState}, plain JSON), the empty
 * state, and how floats are rounded when folded in. The model (model.ts) folds robot bus events
 * into it.
 *
 * **Rounding** ({@link TELEMETRY_DECIMALS}): floats are rounded when folded in, to about the
 * sensors' resolution and noise floor (digits below it are noise), so a value that did not really
 * change makes no delta and a delta stays short on the wire: metres to 4 decimals (0.1 mm),
 * degrees to 2 (0.01 deg), m/s to 3 (1 mm/s), g to 3 (1 mg; the IMU's noise is 2-3 mg), deg/s to
 * 1 (0.1 deg/s), lux to 0, colour confidence to 3, motor temperature to 1 (0.1 C), volts to 3;
 * integers (colour, index, percent) as they are.
 *
 * @module
 */
import { headingFromYaw as headingOf, type MotorThermalStatus } from "../protocol/mod.ts";

/** Decimals each kind of float is rounded to (see the module doc). */
export const TELEMETRY_DECIMALS = {
  metres: 4,
  metresPerSecond: 3,
  g: 3,
  degrees: 2,
  degreesPerSecond: 1,
  confidence: 3,
  lux: 0,
  celsius: 1,
  volts: 3,
} as const;

/** The telemetry state: plain JSON (nested objects of numbers, strings, booleans and null). */
export interface TelemetryState {
  connection: {
    /** A ConnectionStatus of src/robot/state.ts. */
    status: string;
    /** The serial port, when the composition root knows it. */
    port: string | null;
    /** True when talking to the simulator. */
    simulated: boolean | null;
    /** Reconnect attempt while reconnecting, else 0. */
    attempt: number;
    error: string | null;
  };
  /** A PowerStatus: "unknown", "awake" or "asleep". */
  power: string;
  safety: {
    estop: boolean;
    estop_reason: string | null;
    speed_limit_percent: number | null;
    battery_critical: boolean;
    motor_fault: boolean;
    /** Type of the last "safety" event, e.g. "estop", "stall", "limited". */
    last_event: string | null;
    last_detail: string | null;
    last_event_at: number | null;
  };
  battery: {
    percent: number | null;
    volts: number | null;
    /** A BatteryState: "unknown", "ok", "low" or "critical". */
    state: string;
  };
  pose: {
    x_m: number | null;
    y_m: number | null;
    yaw_deg: number | null;
    heading_deg: number | null;
  };
  speed_mps: number | null;
  velocity: { x_mps: number | null; y_mps: number | null };
  imu: { pitch_deg: number | null; roll_deg: number | null; yaw_deg: number | null };
  accelerometer: { x_g: number | null; y_g: number | null; z_g: number | null };
  gyroscope: { x_dps: number | null; y_dps: number | null; z_dps: number | null };
  color: {
    r: number | null;
    g: number | null;
    b: number | null;
    /** Colour classification index (255 = none). */
    index: number | null;
    /** 0-1. */
    confidence: number | null;
  };
  ambient_lux: number | null;
  motors: {
    left_c: number | null;
    right_c: number | null;
    left_status: MotorThermalStatus | null;
    right_status: MotorThermalStatus | null;
    left_stalled: boolean;
    right_stalled: boolean;
  };
  streams: {
    /** Active stream names, comma-separated ("" when none). */
    sensors: string;
    interval_ms: number | null;
  };
  /** Epoch ms of the latest event that changed the state; null before any. */
  updated_at: number | null;
}

/** Initial values: any top-level part, objects partially. */
export type TelemetryInit = {
  [K in keyof TelemetryState]?: TelemetryState[K] extends object ? Partial<TelemetryState[K]>
    : TelemetryState[K];
};

/** The state before any event: everything unknown (null, "unknown", false). */
export function emptyTelemetryState(): TelemetryState {
  return {
    connection: { status: "disconnected", port: null, simulated: null, attempt: 0, error: null },
    power: "unknown",
    safety: {
      estop: false,
      estop_reason: null,
      speed_limit_percent: null,
      battery_critical: false,
      motor_fault: false,
      last_event: null,
      last_detail: null,
      last_event_at: null,
    },
    battery: { percent: null, volts: null, state: "unknown" },
    pose: { x_m: null, y_m: null, yaw_deg: null, heading_deg: null },
    speed_mps: null,
    velocity: { x_mps: null, y_mps: null },
    imu: { pitch_deg: null, roll_deg: null, yaw_deg: null },
    accelerometer: { x_g: null, y_g: null, z_g: null },
    gyroscope: { x_dps: null, y_dps: null, z_dps: null },
    color: { r: null, g: null, b: null, index: null, confidence: null },
    ambient_lux: null,
    motors: {
      left_c: null,
      right_c: null,
      left_status: null,
      right_status: null,
      left_stalled: false,
      right_stalled: false,
    },
    streams: { sensors: "", interval_ms: null },
    updated_at: null,
  };
}

const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];

/** `v` rounded to `decimals` places; null when it is not a finite number. Never -0. */
export function roundTo(v: unknown, decimals: number): number | null {
  if (typeof v !== "number" || !Number.isFinite(v)) return null;
  const f = POW10[decimals];
  const r = Math.round(v * f) / f;
  return r === 0 ? 0 : r;
}

/**
 * The `drive_with_heading` heading (0 forward, 90 right, [0, 360)) for an IMU yaw (+ = left),
 * rounded to {@link TELEMETRY_DECIMALS}.degrees; null for null.
 */
export function headingFromYaw(yawDeg: number | null): number | null {
  if (yawDeg === null || !Number.isFinite(yawDeg)) return null;
  return headingOf(yawDeg, { decimals: TELEMETRY_DECIMALS.degrees });
}
