/**
 * The drive commands of docs/protocol.md sec. 8 as the body runs them. Arguments are the decoded
 * request fields; values the robot would answer bad_data_value to throw RangeError (the simulator
 * turns that into ERR 0x07).
 *
 * XY position (7): auto reverse is decided when the command arrives; the relative flag adds the
 * target to the current locator position (locator axes). Any other drive command, drive_stop or
 * halt ends it with success false (reported by the next step()).
 */
import {
  CONTROLLER_IDS,
  HEADING_FLAG_FAST_TURN,
  HEADING_FLAG_REVERSE,
  MAX_LINEAR_SI_MPS,
  MAX_YAW_RATE_DPS,
  NORMALIZED_FULL_SCALE,
  RC_FLAG_SLEW_LINEAR,
  wrapDeg,
  XY_FLAG_RELATIVE,
  yawDegOfHeading,
} from "../../protocol/mod.ts";
import {
  DEFAULT_STOP_DECEL_MPS2,
  MAX_TREAD_ACCEL_MPS2,
  MAX_TREAD_SPEED_MPS,
  RAW_MOTOR_FRICTION_DUTY,
  XY_POSITION_TOLERANCE_M,
} from "./constants.ts";
import { checkFinite, checkInteger } from "../../core/mod.ts";
import { command, normalizedToMps, startYaw } from "./control.ts";
import { clamp, DEG, headingOf, wrapRad } from "./geometry.ts";
import { locatorToWorld, pose } from "./readouts.ts";
import type { BodyState } from "./_state.ts";

/** raw_motors: mode 0 off, 1 forward, 2 reverse; duty 0-255 open loop. */
export function rawMotors(
  s: BodyState,
  leftMode: number,
  leftDuty: number,
  rightMode: number,
  rightDuty: number,
): void {
  const hint = "mode is 0 off, 1 forward, 2 reverse";
  checkInteger("raw_motors left mode", leftMode, 0, 2, hint);
  checkInteger("raw_motors right mode", rightMode, 0, 2, hint);
  checkInteger("raw_motors left duty", leftDuty, 0, 255);
  checkInteger("raw_motors right duty", rightDuty, 0, 255);
  const target = (mode: number, duty: number): number => {
    if (mode === 0) return 0;
    const frac = Math.max(0, (duty - RAW_MOTOR_FRICTION_DUTY) / (255 - RAW_MOTOR_FRICTION_DUTY));
    return (mode === 1 ? 1 : -1) * frac * MAX_TREAD_SPEED_MPS;
  };
  command(s, {
    kind: "raw",
    leftTargetMps: target(leftMode, leftDuty),
    rightTargetMps: target(rightMode, rightDuty),
  });
}

/** drive_with_heading: speed 0-255 of top speed, left-hand heading (90 = right), flags. */
export function driveWithHeading(
  s: BodyState,
  speed: number,
  headingDeg: number,
  flags: number,
): void {
  checkInteger("drive_with_heading speed", speed, 0, 255);
  checkInteger("drive_with_heading heading", headingDeg, 0, 65535, "degrees, 0-359");
  checkInteger("drive_with_heading flags", flags, 0, 255);
  const magnitude = (speed / 255) * MAX_TREAD_SPEED_MPS;
  const linear = flags & HEADING_FLAG_REVERSE ? -magnitude : magnitude;
  startYaw(s, yawDegOfHeading(headingDeg), linear, (flags & HEADING_FLAG_FAST_TURN) !== 0);
}

export function driveTankSi(s: BodyState, leftMps: number, rightMps: number): void {
  const l = checkFinite("drive_tank_si_units left", leftMps, "give m/s");
  const r = checkFinite("drive_tank_si_units right", rightMps, "give m/s");
  const lim = (v: number) =>
    clamp(
      clamp(v, -MAX_LINEAR_SI_MPS, MAX_LINEAR_SI_MPS),
      -MAX_TREAD_SPEED_MPS,
      MAX_TREAD_SPEED_MPS,
    );
  command(s, { kind: "tank", leftMps: lim(l), rightMps: lim(r) });
}

export function driveTankNormalized(s: BodyState, left: number, right: number): void {
  checkInteger("drive_tank_normalized left", left, -128, 127);
  checkInteger("drive_tank_normalized right", right, -128, 127);
  driveTankSi(s, normalizedToMps(left), normalizedToMps(right));
}

/** drive_rc_si_units: yaw rate deg/s (+ = left), linear m/s, flag bit 0 slews linear. */
export function driveRcSi(
  s: BodyState,
  yawRateDps: number,
  linearMps: number,
  flags: number,
): void {
  const w = checkFinite("drive_rc_si_units yaw rate", yawRateDps, "give deg/s");
  const v = checkFinite("drive_rc_si_units linear", linearMps, "give m/s");
  checkInteger("drive_rc_si_units flags", flags, 0, 255);
  const id = flags & RC_FLAG_SLEW_LINEAR ? CONTROLLER_IDS.rcSlew : s.defaults[4];
  command(s, {
    kind: "rc",
    id,
    yawRateDps: clamp(w, -MAX_YAW_RATE_DPS, MAX_YAW_RATE_DPS),
    linearMps: clamp(v, -MAX_LINEAR_SI_MPS, MAX_LINEAR_SI_MPS),
    slew: id === CONTROLLER_IDS.rcSlew,
  });
}

export function driveRcNormalized(
  s: BodyState,
  yawRate: number,
  linear: number,
  flags: number,
): void {
  checkInteger("drive_rc_normalized yaw rate", yawRate, -128, 127);
  checkInteger("drive_rc_normalized linear", linear, -128, 127);
  const w = (clamp(yawRate, -127, 127) / NORMALIZED_FULL_SCALE) * MAX_YAW_RATE_DPS;
  driveRcSi(s, w, normalizedToMps(linear), flags);
}

/** drive_with_yaw_si: hold a locator yaw (deg, + = left) while driving linear m/s. */
export function driveWithYawSi(s: BodyState, yawDeg: number, linearMps: number): void {
  const yaw = checkFinite("drive_with_yaw_si yaw", yawDeg, "give degrees");
  const v = checkFinite("drive_with_yaw_si linear", linearMps, "give m/s");
  startYaw(s, yaw, clamp(v, -MAX_LINEAR_SI_MPS, MAX_LINEAR_SI_MPS), false);
}

export function driveWithYawNormalized(s: BodyState, yawDeg: number, linear: number): void {
  checkInteger("drive_with_yaw_normalized yaw", yawDeg, -32768, 32767, "degrees (i16)");
  checkInteger("drive_with_yaw_normalized linear", linear, -128, 127);
  driveWithYawSi(s, yawDeg, normalizedToMps(linear));
}

/**
 * drive_to_position_si: target (x, y) in the locator frame (or relative to the current position,
 * locator axes, with flag bit 2), max speed m/s, final yaw deg. Flag bits 0-1: 0 forward, 1 force
 * reverse, 2 auto reverse (reverse when the target lies behind), 3 is reserved (RangeError).
 * Ends with an xy_position_drive_result event.
 */
export function driveToPositionSi(
  s: BodyState,
  yawDeg: number,
  x: number,
  y: number,
  speedMps: number,
  flags: number,
): void {
  const yaw = checkFinite("drive_to_position yaw", yawDeg, "give degrees");
  const tx = checkFinite("drive_to_position x", x, "give metres");
  const ty = checkFinite("drive_to_position y", y, "give metres");
  const speed = checkFinite("drive_to_position speed", speedMps, "give m/s");
  if (speed < 0) {
    throw new RangeError(
      `drive_to_position speed must be >= 0 m/s, got ${speed}; use flags for reverse`,
    );
  }
  checkInteger("drive_to_position flags", flags, 0, 255);
  const direction = flags & 0x03;
  if (direction === 3) {
    throw new RangeError(
      `drive_to_position flags ${flags}: direction bits 0-1 = 3 are reserved; ` +
        "use 0 forward, 1 force reverse or 2 auto reverse",
    );
  }
  let lx = tx;
  let ly = ty;
  if (flags & XY_FLAG_RELATIVE) {
    const here = pose(s);
    lx += here.x;
    ly += here.y;
  }
  const w = locatorToWorld(s, lx, ly);
  const dist = Math.hypot(w.x - s.x, w.y - s.y);
  let reverse = direction === 1;
  if (direction === 2 && dist > XY_POSITION_TOLERANCE_M) {
    const err = wrapRad(headingOf(w.x - s.x, w.y - s.y) - s.heading);
    reverse = Math.abs(err) > Math.PI / 2;
  }
  command(s, {
    kind: "xy",
    targetX: w.x,
    targetY: w.y,
    finalHeadingRad: wrapRad(s.yawZeroRad + yaw * DEG),
    maxSpeedMps: Math.min(speed, MAX_LINEAR_SI_MPS),
    reverse,
    phase: dist <= XY_POSITION_TOLERANCE_M ? "turn" : "drive",
  });
}

export function driveToPositionNormalized(
  s: BodyState,
  yawDeg: number,
  x: number,
  y: number,
  speed: number,
  flags: number,
): void {
  checkInteger("drive_to_position_normalized yaw", yawDeg, -32768, 32767, "degrees (i16)");
  checkInteger("drive_to_position_normalized speed", speed, 0, 127, "0..127 of top speed");
  driveToPositionSi(s, wrapDeg(yawDeg), x, y, normalizedToMps(speed), flags);
}

/**
 * Decelerating stop: the faster tread slows at the rate, the other keeps the ratio. The motors
 * brake no harder than they accelerate: a rate above MAX_TREAD_ACCEL_MPS2 is held to it.
 */
export function driveStop(s: BodyState, decelerationMps2: number = DEFAULT_STOP_DECEL_MPS2): void {
  const d = checkFinite("drive_stop deceleration", decelerationMps2, "give m/s^2");
  if (d <= 0) {
    throw new RangeError(`drive_stop deceleration must be > 0 m/s^2, got ${d}; default is 2`);
  }
  command(s, { kind: "stop", decelMps2: Math.min(d, MAX_TREAD_ACCEL_MPS2), announced: false });
}
