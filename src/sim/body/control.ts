/**
 * Control laws of the drive controllers (docs/protocol.md sec. 9.4 ids; choices marked [?] in
 * constants.ts):
 * - Layers: a controller yields a (linear, yaw-rate) target or tread targets; the linear target is
 *   slewed (slew parameters: method 0 constant linearAcceleration, method 1 proportional), the yaw
 *   rate is capped, then each tread follows its target within MAX_TREAD_ACCEL_MPS2 and
 *   MAX_TREAD_SPEED_MPS (both treads scaled together so the turn radius is kept).
 * - Yaw-rate cap a*v^2 + b*v + c (v = current speed) applies to the yaw, XY, IR controllers and RC
 *   slew mode; RC rate mode only saturates at +-624 deg/s; drive_with_heading fast-turn (0x04)
 *   lifts the cap to 624.
 * - Yaw advanced (3): started from standstill it turns in place to within
 *   TURN_FIRST_TOLERANCE_DEG before driving. Yaw basic (4) drives and turns at once.
 * - RC: flag bit 0 or a type-4 default of 6 selects RC slew mode (6, linear slewed); else rate
 *   mode (5, linear applied at once, the motors still limit acceleration).
 * - Normalized commands: +-127 is MAX_TREAD_SPEED_MPS (linear) or MAX_YAW_RATE_DPS (yaw rate).
 * - XY position (7): it turns in place while the bearing is off by XY_DRIVE_WINDOW_DEG, drives on
 *   a sqrt(2*a*d) speed profile, and within XY_POSITION_TOLERANCE_M turns to the final yaw, then
 *   reports success and hands over to the stop controller (no robot_has_stopped then). Max speed 0
 *   fails at once.
 * - Stop (0): the faster tread slows at the rate, the other keeps the ratio.
 */
import { CONTROLLER_IDS, MAX_YAW_RATE_DPS, NORMALIZED_FULL_SCALE } from "../../protocol/mod.ts";
import {
  DEFAULT_STOP_DECEL_MPS2,
  IR_EVADE_RANGE_M,
  IR_FOLLOW_GAP_M,
  IR_MAX_SPEED_MPS,
  IR_SPEED_GAIN_PER_S,
  MAG_CALIBRATION_RATE_DPS,
  MAX_TREAD_ACCEL_MPS2,
  MAX_TREAD_SPEED_MPS,
  RAW_MOTOR_TIME_CONSTANT_S,
  SLEW_PROPORTIONAL_GAIN_PER_S,
  TRACK_WIDTH_M,
  TURN_FIRST_TOLERANCE_DEG,
  XY_DRIVE_WINDOW_DEG,
  XY_MIN_SPEED_MPS,
  XY_POSITION_TOLERANCE_M,
  XY_YAW_TOLERANCE_DEG,
  YAW_GAIN_PER_S,
} from "./constants.ts";
import { approach, clamp, DEG, headingOf, wrapRad } from "./geometry.ts";
import type { BodyEvent, BodyState, Drive } from "./_state.ts";

/** Controller id of each controller kind (yaw and rc carry their own id). */
export const CONTROLLER_OF_KIND: Readonly<Record<Drive["kind"], number>> = {
  stop: CONTROLLER_IDS.deceleratingStop,
  raw: CONTROLLER_IDS.rawMotor,
  tank: CONTROLLER_IDS.tank,
  yaw: CONTROLLER_IDS.yawAdvanced,
  rc: CONTROLLER_IDS.rcRate,
  xy: CONTROLLER_IDS.xyPosition,
  ir: CONTROLLER_IDS.infrared,
  mag: CONTROLLER_IDS.magnetometerCalibration,
};

/** Controllers that the control-system timeout stops when no new command arrives. */
export const TIMED_KINDS: ReadonlySet<Drive["kind"]> = new Set(["raw", "tank", "yaw", "rc"]);

/** A normalized (+-127) speed in m/s of the top tread speed. */
export function normalizedToMps(n: number): number {
  return (clamp(n, -NORMALIZED_FULL_SCALE, NORMALIZED_FULL_SCALE) / NORMALIZED_FULL_SCALE) *
    MAX_TREAD_SPEED_MPS;
}

/** Runs the active controller for one sub-step; updates tread speeds; returns tread demand. */
export function control(
  s: BodyState,
  h: number,
  events: BodyEvent[],
): { left: number; right: number } {
  const d = s.drive;
  const maxStep = MAX_TREAD_ACCEL_MPS2 * h;
  switch (d.kind) {
    case "stop": {
      const fastest = Math.max(Math.abs(s.vL), Math.abs(s.vR));
      if (fastest <= d.decelMps2 * h) {
        s.vL = 0;
        s.vR = 0;
      } else {
        const scale = (fastest - d.decelMps2 * h) / fastest;
        s.vL *= scale;
        s.vR *= scale;
      }
      s.linearCmdMps = (s.vL + s.vR) / 2;
      return { left: 0, right: 0 };
    }
    case "raw": {
      const k = 1 - Math.exp(-h / RAW_MOTOR_TIME_CONSTANT_S);
      const lag = (v: number, t: number) => approach(v, v + (t - v) * k, maxStep);
      s.vL = lag(s.vL, d.leftTargetMps);
      s.vR = lag(s.vR, d.rightTargetMps);
      return { left: d.leftTargetMps, right: d.rightTargetMps };
    }
    case "tank": {
      s.vL = approach(s.vL, d.leftMps, maxStep);
      s.vR = approach(s.vR, d.rightMps, maxStep);
      return { left: d.leftMps, right: d.rightMps };
    }
    case "yaw": {
      const errDeg = wrapRad(d.headingRad - s.heading) / DEG;
      if (d.turnFirst && Math.abs(errDeg) < TURN_FIRST_TOLERANCE_DEG) d.turnFirst = false;
      const linear = d.turnFirst ? 0 : d.linearMps;
      const cap = d.fastTurn ? MAX_YAW_RATE_DPS : yawCapDps(s);
      return driveVw(s, h, linear, clamp(YAW_GAIN_PER_S * errDeg, -cap, cap), true);
    }
    case "rc": {
      const cap = d.slew ? Math.min(MAX_YAW_RATE_DPS, yawCapDps(s)) : MAX_YAW_RATE_DPS;
      return driveVw(s, h, d.linearMps, clamp(d.yawRateDps, -cap, cap), d.slew);
    }
    case "xy":
      return controlXy(s, d, h, events);
    case "ir": {
      const dx = d.targetX - s.x;
      const dy = d.targetY - s.y;
      const dist = Math.hypot(dx, dy);
      const toward = headingOf(dx, dy);
      const want = d.mode === "follow" ? toward : wrapRad(toward + Math.PI);
      const errDeg = wrapRad(want - s.heading) / DEG;
      let speed = 0;
      if (d.mode === "follow") speed = IR_SPEED_GAIN_PER_S * (dist - IR_FOLLOW_GAP_M);
      else if (dist < IR_EVADE_RANGE_M) speed = IR_SPEED_GAIN_PER_S * (IR_EVADE_RANGE_M - dist);
      speed = clamp(speed, 0, IR_MAX_SPEED_MPS) * Math.max(0, Math.cos(errDeg * DEG));
      const cap = yawCapDps(s);
      const turning = d.mode === "follow" || dist < IR_EVADE_RANGE_M;
      const yawRate = turning ? clamp(YAW_GAIN_PER_S * errDeg, -cap, cap) : 0;
      return driveVw(s, h, speed, yawRate, true);
    }
    case "mag": {
      if (d.turnedRad >= 2 * Math.PI) {
        s.drive = { kind: "stop", decelMps2: DEFAULT_STOP_DECEL_MPS2, announced: true };
        return control(s, h, events);
      }
      return driveVw(s, h, 0, MAG_CALIBRATION_RATE_DPS, false);
    }
  }
}

function controlXy(
  s: BodyState,
  d: Extract<Drive, { kind: "xy" }>,
  h: number,
  events: BodyEvent[],
): { left: number; right: number } {
  const cap = yawCapDps(s);
  if (d.phase === "drive") {
    const dx = d.targetX - s.x;
    const dy = d.targetY - s.y;
    const dist = Math.hypot(dx, dy);
    if (dist <= XY_POSITION_TOLERANCE_M) {
      d.phase = "turn";
    } else if (d.maxSpeedMps <= 0) {
      // Cannot move toward a target at speed 0: report failure and stop.
      s.drive = { kind: "stop", decelMps2: DEFAULT_STOP_DECEL_MPS2, announced: true };
      events.push({ type: "xy_position_drive_result", success: false });
      return control(s, h, events);
    } else {
      const sign = d.reverse ? -1 : 1;
      const decel = 0.8 * Math.min(s.slew.linearAcceleration, MAX_TREAD_ACCEL_MPS2);
      let speed = Math.min(d.maxSpeedMps, MAX_TREAD_SPEED_MPS, Math.sqrt(2 * decel * dist));
      speed = Math.max(speed, Math.min(XY_MIN_SPEED_MPS, d.maxSpeedMps));
      // Turn in place while the target is off by XY_DRIVE_WINDOW_DEG or more, then drive,
      // slowing in proportion to the remaining heading error.
      const want = wrapRad(headingOf(dx, dy) + (d.reverse ? Math.PI : 0));
      const errDeg = wrapRad(want - s.heading) / DEG;
      const factor = Math.max(0, 1 - Math.abs(errDeg) / XY_DRIVE_WINDOW_DEG);
      return driveVw(s, h, sign * speed * factor, clamp(YAW_GAIN_PER_S * errDeg, -cap, cap), true);
    }
  }
  // Final turn.
  const errDeg = wrapRad(d.finalHeadingRad - s.heading) / DEG;
  if (
    Math.abs(errDeg) < XY_YAW_TOLERANCE_DEG && Math.abs(s.vL) < 0.01 &&
    Math.abs(s.vR) < 0.01
  ) {
    s.drive = { kind: "stop", decelMps2: DEFAULT_STOP_DECEL_MPS2, announced: true };
    events.push({ type: "xy_position_drive_result", success: true });
    return control(s, h, events);
  }
  return driveVw(s, h, 0, clamp(YAW_GAIN_PER_S * errDeg, -cap, cap), true);
}

/** Yaw-rate cap of the slew parameters at the current speed, deg/s. */
function yawCapDps(s: BodyState): number {
  const v = Math.abs((s.vL + s.vR) / 2);
  const { a, b, c } = s.slew;
  return clamp(a * v * v + b * v + c, 10, MAX_YAW_RATE_DPS);
}

/** Drives a (linear, yaw rate) target through the linear slew and the tread limits. */
function driveVw(
  s: BodyState,
  h: number,
  linearMps: number,
  yawRateDps: number,
  slew: boolean,
): { left: number; right: number } {
  if (slew) {
    const err = linearMps - s.linearCmdMps;
    const rate = s.slew.method === 1
      ? Math.min(s.slew.linearAcceleration, SLEW_PROPORTIONAL_GAIN_PER_S * Math.abs(err))
      : s.slew.linearAcceleration;
    s.linearCmdMps = approach(s.linearCmdMps, linearMps, rate * h);
  } else {
    s.linearCmdMps = linearMps;
  }
  const half = (yawRateDps * DEG * TRACK_WIDTH_M) / 2;
  let left = s.linearCmdMps - half;
  let right = s.linearCmdMps + half;
  const top = Math.max(Math.abs(left), Math.abs(right));
  if (top > MAX_TREAD_SPEED_MPS) {
    left *= MAX_TREAD_SPEED_MPS / top;
    right *= MAX_TREAD_SPEED_MPS / top;
  }
  const maxStep = MAX_TREAD_ACCEL_MPS2 * h;
  s.vL = approach(s.vL, left, maxStep);
  s.vR = approach(s.vR, right, maxStep);
  return { left, right };
}

export function startYaw(s: BodyState, yawDeg: number, linearMps: number, fastTurn: boolean): void {
  const headingRad = wrapRad(s.yawZeroRad + yawDeg * DEG);
  const id = s.defaults[3];
  const stopped = Math.abs(s.vL + s.vR) / 2 < 0.05;
  const errDeg = Math.abs(wrapRad(headingRad - s.heading) / DEG);
  const turnFirst = id === CONTROLLER_IDS.yawAdvanced && stopped &&
    errDeg > TURN_FIRST_TOLERANCE_DEG;
  const d = s.drive;
  if (d.kind === "yaw" && d.id === id) {
    // Same controller: keep an unfinished turn-first phase; update the target.
    d.turnFirst = (d.turnFirst || turnFirst) && errDeg > TURN_FIRST_TOLERANCE_DEG;
    d.headingRad = headingRad;
    d.linearMps = linearMps;
    d.fastTurn = fastTurn;
    s.lastCommandMs = s.nowMs;
    return;
  }
  command(s, { kind: "yaw", id, headingRad, linearMps, turnFirst, fastTurn });
}

/** Switches controller; an unfinished XY drive reports failure. */
export function command(s: BodyState, next: Drive): void {
  const prev = s.drive;
  if (prev.kind === "xy") {
    s.pending.push({ type: "xy_position_drive_result", success: false });
  }
  if (prev.kind === "stop" || prev.kind === "raw" || prev.kind === "tank") {
    s.linearCmdMps = (s.vL + s.vR) / 2;
  }
  s.drive = next;
  s.lastCommandMs = s.nowMs;
}
