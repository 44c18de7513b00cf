/**
 * Facts of the drive device (docs/protocol.md section 9.4): speed and yaw-rate limits, the control
 * systems and their controllers, flag bits of the drive commands and of gyro_max, and which commands
 * move the robot (derived from the roles of the command table). Pure data.
 */
import { type RequestNameOfRole, requestsOfRole } from "./commands/mod.ts";

/** Top tread speed (SDK samples for tank drive): the full scale of SI velocities. */
export const TOP_SPEED_MPS = 1.555;
/** SI linear velocity commands saturate here. */
export const MAX_LINEAR_SI_MPS = 2;
/** SI yaw-rate commands saturate here (deg/s). */
export const MAX_YAW_RATE_DPS = 624;
/** Normalized commands: 127 maps to the top tread speed / top yaw rate. */
export const NORMALIZED_FULL_SCALE = 127;

/** Control-system types (index = type id). */
export const CONTROL_SYSTEM_TYPES = [
  "stop",
  "raw_motor",
  "tank",
  "drive_with_yaw",
  "rc",
  "xy_position",
  "infrared",
  "magnetometer",
] as const;
export type ControlSystemType = (typeof CONTROL_SYSTEM_TYPES)[number];
/** Controller ids. */
export const CONTROLLER_IDS = {
  deceleratingStop: 0,
  rawMotor: 1,
  tank: 2,
  yawAdvanced: 3,
  yawBasic: 4,
  rcRate: 5,
  rcSlew: 6,
  xyPosition: 7,
  infrared: 8,
  magnetometerCalibration: 9,
} as const;
/** Controllers allowed for each control-system type (index = type id). */
export const CONTROLLERS_FOR_TYPE: readonly (readonly number[])[] = [
  [0],
  [1],
  [2],
  [3, 4],
  [5, 6],
  [7],
  [8],
  [9],
];

/** drive_to_position flag bits 0-1. */
export const XY_DIRECTIONS = ["forward", "force_reverse", "auto_reverse"] as const;
export type XyDirection = (typeof XY_DIRECTIONS)[number];
/** drive_to_position flag bit 2: the target is relative to the current position. */
export const XY_FLAG_RELATIVE = 0x04;
/** drive_with_heading flag bits. */
export const HEADING_FLAG_REVERSE = 0x01;
export const HEADING_FLAG_FAST_TURN = 0x04;
/** RC flag bit 0: slew the linear velocity. */
export const RC_FLAG_SLEW_LINEAR = 0x01;
/** gyro_max flag bits (section 9.5). */
export const GYRO_MAX_FLAGS = {
  plusX: 0x01,
  minusX: 0x02,
  plusY: 0x04,
  minusY: 0x08,
  plusZ: 0x10,
  minusZ: 0x20,
} as const;

/**
 * Drive commands that keep the robot moving until the next one (they supersede each other): the
 * requests whose role is "drive" in the command table.
 */
export const CONTINUOUS_DRIVE_COMMANDS: readonly ContinuousDriveCommand[] = requestsOfRole("drive");
export type ContinuousDriveCommand = RequestNameOfRole<"drive">;

/** Movement commands that carry a speed. */
export const SPEED_LIMITED_COMMANDS = [
  ...CONTINUOUS_DRIVE_COMMANDS,
  "drive_to_position_si",
  "drive_to_position_normalized",
] as const satisfies readonly MovementCommand[];
export type SpeedLimitedCommand = (typeof SPEED_LIMITED_COMMANDS)[number];

/** Every command that makes the robot move: the requests whose role is "drive" or "move". */
export const MOVEMENT_COMMANDS: readonly MovementCommand[] = requestsOfRole("drive", "move");
export type MovementCommand = RequestNameOfRole<"drive" | "move">;

/** Commands that hand the drive to the stop controller. */
export const DRIVE_STOP_COMMANDS = [
  "drive_stop",
  "drive_stop_custom_decel",
] as const satisfies readonly RequestNameOfRole<"stop">[];
export type DriveStopCommand = (typeof DRIVE_STOP_COMMANDS)[number];
