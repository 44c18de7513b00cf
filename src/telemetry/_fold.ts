/**
 * Which robot event sets which leaf of the telemetry state: {@link foldEvent}, for the model
 * (model.ts), which owns the state and marks what changed. Private to src/telemetry.
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
 * ignored. A missing or non-finite value becomes null. Floats are rounded as state.ts says.
 *
 * @module
 */
import type { BusEvent } from "../core/event_bus.ts";
import { BATTERY_STATES } from "../robot/mod.ts";
import type { RobotTopics } from "../robot/mod.ts";
import { type MotorThermalStatus, motorThermalStatus } from "../protocol/mod.ts";
import { isPlainObject } from "./json_delta.ts";
import { headingFromYaw, roundTo, TELEMETRY_DECIMALS, type TelemetryState } from "./state.ts";

type Obj = Record<string, unknown>;

/** Sets `obj[key]` (an object of the state) to `value`: the model's way, which marks changes. */
export type SetLeaf = (obj: object, key: string, value: unknown) => void;

/**
 * Folds one event into `state`, every leaf through `set`. Events it does not use are ignored; it
 * never throws on a malformed payload (the missing values become null).
 */
export function foldEvent(
  state: TelemetryState,
  event: BusEvent<RobotTopics>,
  set: SetLeaf,
): void {
  switch (event.topic) {
    case "robot.sample":
      sample(state, set, event.payload as unknown as Obj);
      break;
    case "robot.notification":
      notification(state, set, event.payload.name, event.payload.values as Obj);
      break;
    case "robot.state":
      stateChange(state, set, event.payload as unknown as Obj);
      break;
    case "safety":
      safety(state, set, event.payload as unknown as Obj);
      break;
  }
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

function thermalStatus(v: unknown): MotorThermalStatus | null {
  return typeof v === "number" ? motorThermalStatus(v) : null;
}

function sample(s: TelemetryState, set: SetLeaf, p: Obj): void {
  if (p.valid === false || !isPlainObject(p.values)) return;
  const v = p.values;
  const D = TELEMETRY_DECIMALS;
  switch (p.sensor) {
    case "locator":
      set(s.pose, "x_m", roundTo(v.x_m, D.metres));
      set(s.pose, "y_m", roundTo(v.y_m, D.metres));
      break;
    case "imu": {
      const yaw = roundTo(v.yaw_deg, D.degrees);
      set(s.imu, "pitch_deg", roundTo(v.pitch_deg, D.degrees));
      set(s.imu, "roll_deg", roundTo(v.roll_deg, D.degrees));
      set(s.imu, "yaw_deg", yaw);
      set(s.pose, "yaw_deg", yaw);
      set(s.pose, "heading_deg", headingFromYaw(yaw));
      break;
    }
    case "speed":
      set(s, "speed_mps", roundTo(v.speed_mps, D.metresPerSecond));
      break;
    case "velocity":
      set(s.velocity, "x_mps", roundTo(v.x_mps, D.metresPerSecond));
      set(s.velocity, "y_mps", roundTo(v.y_mps, D.metresPerSecond));
      break;
    case "accelerometer":
      set(s.accelerometer, "x_g", roundTo(v.x_g, D.g));
      set(s.accelerometer, "y_g", roundTo(v.y_g, D.g));
      set(s.accelerometer, "z_g", roundTo(v.z_g, D.g));
      break;
    case "gyroscope":
      set(s.gyroscope, "x_dps", roundTo(v.x_dps, D.degreesPerSecond));
      set(s.gyroscope, "y_dps", roundTo(v.y_dps, D.degreesPerSecond));
      set(s.gyroscope, "z_dps", roundTo(v.z_dps, D.degreesPerSecond));
      break;
    case "color_detection":
      set(s.color, "r", roundTo(v.r, 0));
      set(s.color, "g", roundTo(v.g, 0));
      set(s.color, "b", roundTo(v.b, 0));
      set(s.color, "index", roundTo(v.index, 0));
      set(s.color, "confidence", roundTo(v.confidence, D.confidence));
      break;
    case "ambient_light":
      set(s, "ambient_lux", roundTo(v.lux, D.lux));
      break;
    case "battery":
      if ("percent" in v) set(s.battery, "percent", roundTo(v.percent, 0));
      if ("volts" in v) set(s.battery, "volts", roundTo(v.volts, D.volts));
      break;
  }
}

function notification(s: TelemetryState, set: SetLeaf, name: string, v: Obj): void {
  if (!isPlainObject(v)) return;
  switch (name) {
    case "motor_thermal_protection_status_notify":
      thermal(s, set, { temperatureC: v.left_motor_temperature, status: v.left_motor_status }, {
        temperatureC: v.right_motor_temperature,
        status: v.right_motor_status,
      });
      break;
    case "motor_stall_notify":
      if (v.motor_index === 0) set(s.motors, "left_stalled", v.is_triggered === true);
      if (v.motor_index === 1) set(s.motors, "right_stalled", v.is_triggered === true);
      break;
    case "motor_fault_notify":
      set(s.safety, "motor_fault", v.is_fault === true);
      break;
    case "battery_voltage_state_change_notify":
      battery(s, set, typeof v.state === "number" ? BATTERY_STATES[v.state] ?? "unknown" : null);
      break;
    case "color_detection_notify":
      set(s.color, "r", roundTo(v.red, 0));
      set(s.color, "g", roundTo(v.green, 0));
      set(s.color, "b", roundTo(v.blue, 0));
      set(s.color, "index", roundTo(v.color_classification_id, 0));
      set(
        s.color,
        "confidence",
        typeof v.confidence === "number"
          ? roundTo(v.confidence / 255, TELEMETRY_DECIMALS.confidence)
          : null,
      );
      break;
  }
}

function thermal(s: TelemetryState, set: SetLeaf, left: unknown, right: unknown): void {
  const m = s.motors;
  if (isPlainObject(left)) {
    set(m, "left_c", roundTo(left.temperatureC, TELEMETRY_DECIMALS.celsius));
    set(m, "left_status", thermalStatus(left.status));
  }
  if (isPlainObject(right)) {
    set(m, "right_c", roundTo(right.temperatureC, TELEMETRY_DECIMALS.celsius));
    set(m, "right_status", thermalStatus(right.status));
  }
}

function battery(s: TelemetryState, set: SetLeaf, state: string | null): void {
  if (state === null) return;
  set(s.battery, "state", state);
  set(s.safety, "battery_critical", state === "critical");
}

function stateChange(s: TelemetryState, set: SetLeaf, change: Obj): void {
  const next = change.next;
  if (!isPlainObject(next)) return;
  switch (change.aspect) {
    case "connection":
      if (typeof next.status === "string") set(s.connection, "status", next.status);
      set(s.connection, "attempt", typeof next.attempt === "number" ? next.attempt : 0);
      set(s.connection, "error", str(next.error));
      break;
    case "power":
      if (typeof next.status === "string") set(s, "power", next.status);
      break;
    case "safety":
      set(s.safety, "estop", next.estopLatched === true);
      set(s.safety, "estop_reason", str(next.estopReason));
      set(s.safety, "motor_fault", next.motorFault === true);
      battery(s, set, str(next.batteryState));
      set(s.battery, "percent", roundTo(next.batteryPercent, 0));
      break;
    case "sensors":
      set(
        s.streams,
        "sensors",
        Array.isArray(next.activeStreams) ? next.activeStreams.join(",") : "",
      );
      set(
        s.streams,
        "interval_ms",
        typeof next.streamPeriodMs === "number" ? next.streamPeriodMs : null,
      );
      break;
  }
}

function safety(s: TelemetryState, set: SetLeaf, e: Obj): void {
  const data = isPlainObject(e.data) ? e.data : {};
  set(s.safety, "last_event", str(e.type));
  set(s.safety, "last_detail", str(e.detail));
  set(s.safety, "last_event_at", typeof e.at === "number" ? e.at : null);
  switch (e.type) {
    case "estop":
      set(s.safety, "estop", true);
      if (typeof data.reason === "string") set(s.safety, "estop_reason", data.reason);
      break;
    case "estop_cleared":
      set(s.safety, "estop", false);
      set(s.safety, "estop_reason", null);
      break;
    case "limited":
      if (typeof data.speedLimitPercent === "number") {
        set(s.safety, "speed_limit_percent", data.speedLimitPercent);
      }
      break;
    case "battery":
      battery(s, set, str(data.batteryState));
      break;
    case "thermal":
      thermal(s, set, data.left, data.right);
      break;
  }
}
