/**
 * The typed drive helpers: each turns friendly arguments (units in the names, signed speeds) into
 * the parameters of one movement command of section 9.4, validating them first, so bad input
 * fails with a RangeError naming the value before anything is queued. `Rvr.driveWithHeading` and
 * its siblings send the result through `Rvr.move` (the safety rules apply there).
 *
 * @module
 */
import { checkFinite, checkInteger } from "../core/validate.ts";
import type { RequestOf } from "../protocol/mod.ts";
import type { MovementCommand } from "./command_policy.ts";

/** What a movement command did. */
export interface MoveResult {
  readonly command: MovementCommand;
  /** Speed fields as requested (empty for commands without speed). */
  readonly requested: Readonly<Record<string, number>>;
  /** Speed fields as sent. */
  readonly applied: Readonly<Record<string, number>>;
  /** True when the speed limit reduced the command. */
  readonly limited: boolean;
  readonly speedLimitPercent: number;
  /** True when a newer drive command replaced this one before it was sent (nothing was sent). */
  readonly superseded: boolean;
}

/** Arguments of the drive helpers (units in the names). */
export type HeadingDrive = { speed: number; headingDeg: number; flags?: number };
export type RawMotorsDrive = { leftDuty: number; rightDuty: number };
export type TankSiDrive = { leftMps: number; rightMps: number };
export type TankNormalizedDrive = { left: number; right: number };
export type RcSiDrive = { yawRateDps: number; linearMps: number; slewLinear?: boolean };
export type RcNormalizedDrive = { yawRate: number; linear: number; slewLinear?: boolean };
export type YawSiDrive = { yawDeg: number; linearMps: number };
export type YawNormalizedDrive = { yawDeg: number; linear: number };
export type PositionSiDrive = {
  yawDeg: number;
  xM: number;
  yM: number;
  speedMps: number;
  flags?: number;
};
export type PositionNormalizedDrive = {
  yawDeg: number;
  xM: number;
  yM: number;
  speed: number;
  flags?: number;
};

/**
 * drive_with_heading: `speed` -255..255 of top speed (negative drives backwards: flag 0x01),
 * `headingDeg` 0-359 (left-hand rule: 90 = right), extra `flags` (0x02 boost, 0x04 fast turn).
 */
export function driveWithHeadingParams(
  p: HeadingDrive,
): RequestOf<"drive_with_heading"> {
  const speed = checkInteger(
    "driveWithHeading speed",
    p.speed,
    -255,
    255,
    "negative drives backwards",
  );
  const headingDeg = checkInteger(
    "driveWithHeading headingDeg",
    p.headingDeg,
    0,
    359,
    "0 forward, 90 right",
  );
  const flags = checkInteger("driveWithHeading flags", p.flags ?? 0, 0, 255, "see section 9.4");
  return {
    speed: Math.abs(speed),
    heading: headingDeg,
    flags: speed < 0 ? flags | 0x01 : flags,
  };
}

/** raw_motors: signed duty cycles -255..255 per side (0 = off, negative = reverse). Open loop. */
export function rawMotorsParams(
  p: RawMotorsDrive,
): RequestOf<"raw_motors"> {
  const l = checkInteger("driveRawMotors leftDuty", p.leftDuty, -255, 255, "negative = reverse");
  const r = checkInteger(
    "driveRawMotors rightDuty",
    p.rightDuty,
    -255,
    255,
    "negative = reverse",
  );
  const mode = (d: number) => (d === 0 ? 0 : d > 0 ? 1 : 2);
  return {
    left_mode: mode(l),
    left_duty_cycle: Math.abs(l),
    right_mode: mode(r),
    right_duty_cycle: Math.abs(r),
  };
}

/** drive_tank_si_units: tread velocities in m/s. */
export function tankSiParams(
  p: TankSiDrive,
): RequestOf<"drive_tank_si_units"> {
  return {
    left_velocity: checkFinite("driveTankSi leftMps", p.leftMps, "give m/s"),
    right_velocity: checkFinite("driveTankSi rightMps", p.rightMps, "give m/s"),
  };
}

/** drive_tank_normalized: tread velocities -127..127. */
export function tankNormalizedParams(
  p: TankNormalizedDrive,
): RequestOf<"drive_tank_normalized"> {
  return {
    left_velocity: checkInteger("driveTankNormalized left", p.left, -127, 127, "127 = top speed"),
    right_velocity: checkInteger(
      "driveTankNormalized right",
      p.right,
      -127,
      127,
      "127 = top speed",
    ),
  };
}

/** drive_rc_si_units: yaw rate deg/s (+ = left), linear m/s; `slewLinear` sets flag 0x01. */
export function rcSiParams(
  p: RcSiDrive,
): RequestOf<"drive_rc_si_units"> {
  return {
    yaw_angular_velocity: checkFinite("driveRcSi yawRateDps", p.yawRateDps, "give deg/s"),
    linear_velocity: checkFinite("driveRcSi linearMps", p.linearMps, "give m/s"),
    flags: p.slewLinear ? 0x01 : 0,
  };
}

/** drive_rc_normalized: yaw rate and linear -127..127; `slewLinear` sets flag 0x01. */
export function rcNormalizedParams(
  p: RcNormalizedDrive,
): RequestOf<"drive_rc_normalized"> {
  return {
    yaw_angular_velocity: checkInteger(
      "driveRcNormalized yawRate",
      p.yawRate,
      -127,
      127,
      "127 = 624 deg/s",
    ),
    linear_velocity: checkInteger(
      "driveRcNormalized linear",
      p.linear,
      -127,
      127,
      "127 = top speed",
    ),
    flags: p.slewLinear ? 0x01 : 0,
  };
}

/** drive_with_yaw_si: hold yaw `yawDeg` (+ = left) while driving `linearMps`. */
export function yawSiParams(
  p: YawSiDrive,
): RequestOf<"drive_with_yaw_si"> {
  return {
    yaw_angle: checkFinite("driveWithYawSi yawDeg", p.yawDeg, "give degrees"),
    linear_velocity: checkFinite("driveWithYawSi linearMps", p.linearMps, "give m/s"),
  };
}

/** drive_with_yaw_normalized: yaw in whole degrees, linear -127..127. */
export function yawNormalizedParams(
  p: YawNormalizedDrive,
): RequestOf<"drive_with_yaw_normalized"> {
  return {
    yaw_angle: checkInteger(
      "driveWithYawNormalized yawDeg",
      p.yawDeg,
      -32768,
      32767,
      "whole degrees",
    ),
    linear_velocity: checkInteger(
      "driveWithYawNormalized linear",
      p.linear,
      -127,
      127,
      "127 = top speed",
    ),
  };
}

/**
 * drive_to_position_si: drive to (xM, yM) in the locator frame at up to `speedMps`, end at
 * `yawDeg`. `flags`: bits 0-1 direction (0 forward, 1 force reverse, 2 auto reverse), bit 2
 * target relative to the current position.
 */
export function toPositionSiParams(
  p: PositionSiDrive,
): RequestOf<"drive_to_position_si"> {
  const speed = checkFinite("driveToPositionSi speedMps", p.speedMps, "give m/s");
  if (speed < 0) {
    throw new RangeError(
      `driveToPositionSi speedMps must be >= 0, got ${speed}; use flags bit 0 to drive backwards.`,
    );
  }
  return {
    yaw_angle: checkFinite("driveToPositionSi yawDeg", p.yawDeg, "give degrees"),
    x: checkFinite("driveToPositionSi xM", p.xM, "give metres"),
    y: checkFinite("driveToPositionSi yM", p.yM, "give metres"),
    linear_speed: speed,
    flags: checkInteger("driveToPositionSi flags", p.flags ?? 0, 0, 7, "see section 9.4"),
  };
}

/** drive_to_position_normalized: like drive_to_position_si with speed 0..127 and yaw in whole degrees. */
export function toPositionNormalizedParams(
  p: PositionNormalizedDrive,
): RequestOf<"drive_to_position_normalized"> {
  return {
    yaw_angle: checkInteger(
      "driveToPositionNormalized yawDeg",
      p.yawDeg,
      -32768,
      32767,
      "whole degrees",
    ),
    x: checkFinite("driveToPositionNormalized xM", p.xM, "give metres"),
    y: checkFinite("driveToPositionNormalized yM", p.yM, "give metres"),
    linear_speed: checkInteger(
      "driveToPositionNormalized speed",
      p.speed,
      0,
      127,
      "127 = top speed",
    ),
    flags: checkInteger("driveToPositionNormalized flags", p.flags ?? 0, 0, 7, "see section 9.4"),
  };
}
