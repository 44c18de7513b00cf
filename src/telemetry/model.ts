/**
 * Telemetry state for people watching the robot: {@link TelemetryModel} folds robot bus events
 * into one plain JSON object ({@link TelemetryState}); {@link DeltaEncoder} (json_delta.ts)
 * turns a sequence of those states into numbered frames, a full one first and then deltas holding
 * only the changed leaves; {@link applyFrame} (the client side) rebuilds the state from the
 * frames exactly.
 *
 * **Where each part comes from**
 *
 * | state | source |
 * |---|---|
 * | `pose.x_m`, `pose.y_m` | "robot.sample" locator |
 * | `pose.yaw_deg`, `imu.*` | "robot.sample" imu (yaw + = left/CCW, 0 = forward at reset) |
 * | `pose.heading_deg` | `(360 - yaw_deg) mod 360`: the `drive_with_heading` convention, 0 forward, 90 right, in [0, 360) |
 * | `speed_mps`, `velocity.*`, `accelerometer.*`, `gyroscope.*` | "robot.sample" speed, velocity, accelerometer, gyroscope |
 * | `color.*` | "robot.sample" color_detection, or `color_detection_notify` (confidence scaled 0-255 -> 0-1) |
 * | `ambient_lux` | "robot.sample" ambient_light |
 * | `battery.percent`, `battery.state` | "robot.state" safety changes; `battery_voltage_state_change_notify`; "safety" battery events |
 * | `battery.volts` | a "robot.sample" with `sensor: "battery"` and values `{ percent?, volts? }` (`Rvr.reportBattery`: at every connect, and at each get_battery_status call); null until one arrives |
 * | `connection.status/attempt/error` | "robot.state" connection changes (`port`, `simulated` come from the constructor's `initial`) |
 * | `power` | "robot.state" power changes |
 * | `safety.estop/estop_reason/battery_critical/motor_fault` | "robot.state" safety changes, "safety" estop/estop_cleared events, `motor_fault_notify` |
 * | `safety.speed_limit_percent` | `initial`, then "safety" limited events |
 * | `safety.last_event/last_detail/last_event_at` | every "safety" event |
 * | `motors.left_c/right_c/left_status/right_status` | `motor_thermal_protection_status_notify`, "safety" thermal events (status "ok", "warn", "critical") |
 * | `motors.left_stalled/right_stalled` | `motor_stall_notify` |
 * | `streams.sensors/interval_ms` | "robot.state" sensors changes (names comma-separated) |
 * | `updated_at` | the latest time (event `at`, epoch ms) of an event that changed the state |
 *
 * Sensor readings flagged invalid (`valid: false`) and unknown sensors or notifications are
 * ignored. A missing or non-finite value becomes null.
 *
 * **Rounding** ({@link TELEMETRY_DECIMALS}): floats are rounded when folded in, to about the
 * sensors' resolution and noise floor (digits below it are noise), so a value that did not really
 * change makes no delta and a delta stays short on the wire: metres to 4 decimals (0.1 mm),
 * degrees to 2 (0.01 deg), m/s to 3 (1 mm/s), g to 3 (1 mg; the IMU's noise is 2-3 mg), deg/s to
 * 1 (0.1 deg/s), lux to 0, colour confidence to 3, motor temperature to 1 (0.1 C), volts to 3;
 * integers (colour, index, percent) as they are.
 *
 * **Frames**: {@link DeltaEncoder} and {@link applyFrame} (json_delta.ts, the frame codec
 * the server and the dashboard in the browser share) number these states as a full frame and
 * deltas of the changed leaves; see that module for the wire format.
 *
 * @module
 */
import type { BusEvent } from "../core/event_bus.ts";
import { BATTERY_STATES } from "../core/state.ts";
import { headingFromYaw as headingOf } from "../protocol/mod.ts";
import type { RobotTopics } from "../robot/mod.ts";
import { clonePlain, isPlainObject } from "./json_delta.ts";

export {
  applyFrame,
  DeltaEncoder,
  StaleFrameError,
  type TelemetryFrame,
} from "./json_delta.ts";

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

/** Motor thermal protection status names (notification values 0, 1, 2). */
export const MOTOR_THERMAL_STATUSES = ["ok", "warn", "critical"] as const;
export type MotorThermalStatus = typeof MOTOR_THERMAL_STATUSES[number];

/** The telemetry state: plain JSON (nested objects of numbers, strings, booleans and null). */
export interface TelemetryState {
  connection: {
    /** A ConnectionStatus of src/core/state.ts. */
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

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

function thermalStatus(v: unknown): MotorThermalStatus | null {
  return typeof v === "number" ? MOTOR_THERMAL_STATUSES[v] ?? null : null;
}

type RobotEvent = BusEvent<RobotTopics>;
type Obj = Record<string, unknown>;

/** Folds robot bus events into a {@link TelemetryState} (see the module doc). */
export class TelemetryModel {
  #state: TelemetryState;
  #changed = false;

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
      switch (event.topic) {
        case "robot.sample":
          this.#sample(event.payload as unknown as Obj);
          break;
        case "robot.notification":
          this.#notification(event.payload.name, event.payload.values as Obj);
          break;
        case "robot.state":
          this.#stateChange(event.payload as unknown as Obj);
          break;
        case "safety":
          this.#safety(event.payload as unknown as Obj);
          break;
      }
      if (this.#changed) {
        changed = true;
        const at = typeof event.payload.at === "number" && Number.isFinite(event.payload.at)
          ? event.payload.at
          : event.publishedAt;
        if (latest === null || at > latest) latest = at;
      }
    }
    if (changed) this.#state.updated_at = latest;
    return changed;
  }

  /** A copy of the state now. */
  snapshot(): TelemetryState {
    return clonePlain(this.#state);
  }

  // ---- folding ------------------------------------------------------------------------------

  #set(obj: object, key: string, value: unknown): void {
    const o = obj as Obj;
    if (!Object.is(o[key], value)) {
      o[key] = value;
      this.#changed = true;
    }
  }

  #sample(p: Obj): void {
    if (p.valid === false || !isPlainObject(p.values)) return;
    const v = p.values;
    const s = this.#state;
    const D = TELEMETRY_DECIMALS;
    switch (p.sensor) {
      case "locator":
        this.#set(s.pose, "x_m", roundTo(v.x_m, D.metres));
        this.#set(s.pose, "y_m", roundTo(v.y_m, D.metres));
        break;
      case "imu": {
        const yaw = roundTo(v.yaw_deg, D.degrees);
        this.#set(s.imu, "pitch_deg", roundTo(v.pitch_deg, D.degrees));
        this.#set(s.imu, "roll_deg", roundTo(v.roll_deg, D.degrees));
        this.#set(s.imu, "yaw_deg", yaw);
        this.#set(s.pose, "yaw_deg", yaw);
        this.#set(s.pose, "heading_deg", headingFromYaw(yaw));
        break;
      }
      case "speed":
        this.#set(s, "speed_mps", roundTo(v.speed_mps, D.metresPerSecond));
        break;
      case "velocity":
        this.#set(s.velocity, "x_mps", roundTo(v.x_mps, D.metresPerSecond));
        this.#set(s.velocity, "y_mps", roundTo(v.y_mps, D.metresPerSecond));
        break;
      case "accelerometer":
        this.#set(s.accelerometer, "x_g", roundTo(v.x_g, D.g));
        this.#set(s.accelerometer, "y_g", roundTo(v.y_g, D.g));
        this.#set(s.accelerometer, "z_g", roundTo(v.z_g, D.g));
        break;
      case "gyroscope":
        this.#set(s.gyroscope, "x_dps", roundTo(v.x_dps, D.degreesPerSecond));
        this.#set(s.gyroscope, "y_dps", roundTo(v.y_dps, D.degreesPerSecond));
        this.#set(s.gyroscope, "z_dps", roundTo(v.z_dps, D.degreesPerSecond));
        break;
      case "color_detection":
        this.#set(s.color, "r", roundTo(v.r, 0));
        this.#set(s.color, "g", roundTo(v.g, 0));
        this.#set(s.color, "b", roundTo(v.b, 0));
        this.#set(s.color, "index", roundTo(v.index, 0));
        this.#set(s.color, "confidence", roundTo(v.confidence, D.confidence));
        break;
      case "ambient_light":
        this.#set(s, "ambient_lux", roundTo(v.lux, D.lux));
        break;
      case "battery":
        if ("percent" in v) this.#set(s.battery, "percent", roundTo(v.percent, 0));
        if ("volts" in v) this.#set(s.battery, "volts", roundTo(v.volts, D.volts));
        break;
    }
  }

  #notification(name: string, v: Obj): void {
    if (!isPlainObject(v)) return;
    const s = this.#state;
    switch (name) {
      case "motor_thermal_protection_status_notify":
        this.#thermal(
          { temperatureC: v.left_motor_temperature, status: v.left_motor_status },
          { temperatureC: v.right_motor_temperature, status: v.right_motor_status },
        );
        break;
      case "motor_stall_notify":
        if (v.motor_index === 0) this.#set(s.motors, "left_stalled", v.is_triggered === true);
        if (v.motor_index === 1) this.#set(s.motors, "right_stalled", v.is_triggered === true);
        break;
      case "motor_fault_notify":
        this.#set(s.safety, "motor_fault", v.is_fault === true);
        break;
      case "battery_voltage_state_change_notify":
        this.#battery(typeof v.state === "number" ? BATTERY_STATES[v.state] ?? "unknown" : null);
        break;
      case "color_detection_notify":
        this.#set(s.color, "r", roundTo(v.red, 0));
        this.#set(s.color, "g", roundTo(v.green, 0));
        this.#set(s.color, "b", roundTo(v.blue, 0));
        this.#set(s.color, "index", roundTo(v.color_classification_id, 0));
        this.#set(
          s.color,
          "confidence",
          typeof v.confidence === "number"
            ? roundTo(v.confidence / 255, TELEMETRY_DECIMALS.confidence)
            : null,
        );
        break;
    }
  }

  #thermal(left: unknown, right: unknown): void {
    const m = this.#state.motors;
    if (isPlainObject(left)) {
      this.#set(m, "left_c", roundTo(left.temperatureC, TELEMETRY_DECIMALS.celsius));
      this.#set(m, "left_status", thermalStatus(left.status));
    }
    if (isPlainObject(right)) {
      this.#set(m, "right_c", roundTo(right.temperatureC, TELEMETRY_DECIMALS.celsius));
      this.#set(m, "right_status", thermalStatus(right.status));
    }
  }

  #battery(state: string | null): void {
    if (state === null) return;
    this.#set(this.#state.battery, "state", state);
    this.#set(this.#state.safety, "battery_critical", state === "critical");
  }

  #stateChange(change: Obj): void {
    const next = change.next;
    if (!isPlainObject(next)) return;
    const s = this.#state;
    switch (change.aspect) {
      case "connection":
        if (typeof next.status === "string") this.#set(s.connection, "status", next.status);
        this.#set(s.connection, "attempt", typeof next.attempt === "number" ? next.attempt : 0);
        this.#set(s.connection, "error", str(next.error));
        break;
      case "power":
        if (typeof next.status === "string") this.#set(s, "power", next.status);
        break;
      case "safety":
        this.#set(s.safety, "estop", next.estopLatched === true);
        this.#set(s.safety, "estop_reason", str(next.estopReason));
        this.#set(s.safety, "motor_fault", next.motorFault === true);
        this.#battery(str(next.batteryState));
        this.#set(s.battery, "percent", roundTo(next.batteryPercent, 0));
        break;
      case "sensors":
        this.#set(
          s.streams,
          "sensors",
          Array.isArray(next.activeStreams) ? next.activeStreams.join(",") : "",
        );
        this.#set(
          s.streams,
          "interval_ms",
          typeof next.streamPeriodMs === "number" ? next.streamPeriodMs : null,
        );
        break;
    }
  }

  #safety(e: Obj): void {
    const s = this.#state;
    const data = isPlainObject(e.data) ? e.data : {};
    this.#set(s.safety, "last_event", str(e.type));
    this.#set(s.safety, "last_detail", str(e.detail));
    this.#set(s.safety, "last_event_at", typeof e.at === "number" ? e.at : null);
    switch (e.type) {
      case "estop":
        this.#set(s.safety, "estop", true);
        if (typeof data.reason === "string") this.#set(s.safety, "estop_reason", data.reason);
        break;
      case "estop_cleared":
        this.#set(s.safety, "estop", false);
        this.#set(s.safety, "estop_reason", null);
        break;
      case "limited":
        if (typeof data.speedLimitPercent === "number") {
          this.#set(s.safety, "speed_limit_percent", data.speedLimitPercent);
        }
        break;
      case "battery":
        this.#battery(str(data.batteryState));
        break;
      case "thermal":
        this.#thermal(data.left, data.right);
        break;
    }
  }
}
