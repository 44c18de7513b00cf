/**
 * Rigid-body model of a Sphero RVR: a differential-drive (tank) robot with the drive controllers of
 * rvr-protocol.md sec. 9.4 and the IMU / locator / encoder readings of sec. 9.5 and sec. 10.
 *
 * Pure physics in plain TypeScript: no timers. The simulator calls `step(dtMs)`; each call is split
 * into sub-steps of at most MAX_SUBSTEP_MS so results hardly depend on the caller's step size.
 *
 * Frames (all right-handed):
 * - World frame: metres, headings in radians, counter-clockwise (left) positive, heading 0 = +y.
 *   A robot with heading h drives along (-sin h, cos h).
 * - Locator frame (what the robot reports): origin and axes taken at reset_locator / reset_yaw, +x
 *   right, +y forward at reset, yaw in degrees (+ = CCW/left), reported in [-180, 180).
 * - Body frame (IMU): x right, y forward (nose), z up. Accelerometer in g, specific force, so a level
 *   robot at rest reads (0, 0, 1). Gyroscope in deg/s about those axes (z + = turning left).
 * - Attitude: yaw (about z), roll (about the body y axis, + = right side down, range +-90) and pitch
 *   (about the body x axis, + = nose up, range +-180), composed R = Rz(yaw) * Ry(roll) * Rx(pitch),
 *   so roll is the middle Euler angle, matching the IMU ranges of sec. 10.2. The quaternion is that
 *   same rotation (body to locator-level frame). Pitch and roll come from a soft suspension: the body
 *   tips PITCH_DEG_PER_MPS2 per m/s^2 of longitudinal acceleration (nose up when speeding up) and
 *   ROLL_DEG_PER_MPS2 per m/s^2 of centripetal acceleration (leaning out of the turn), with a
 *   SUSPENSION_TIME_CONSTANT_S lag.
 *
 * Controllers (sec. 9.4 ids; choices marked [?] in the constants):
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
 * - XY position (7): auto reverse is decided when the command arrives; the relative flag adds the
 *   target to the current locator position (locator axes). It turns in place while the bearing is
 *   off by XY_DRIVE_WINDOW_DEG, drives on a sqrt(2*a*d) speed profile, and within
 *   XY_POSITION_TOLERANCE_M turns to the final yaw, then reports success and hands over to the
 *   stop controller (no robot_has_stopped then). Any other drive command, drive_stop or halt ends
 *   it with success false (reported by the next step()). Max speed 0 fails at once.
 * - Control timeout: raw, tank, yaw and RC controllers fall back to the decelerating stop (2 m/s^2)
 *   when no drive command arrives within the timeout; XY, IR follow/evade and magnetometer
 *   calibration run until done.
 * - Stop (0): the faster tread slows at the rate (at most MAX_TREAD_ACCEL_MPS2: the motors brake
 *   no harder than they accelerate), the other keeps the ratio; robot_has_stopped once
 *   at standstill (also when drive_stop arrives at standstill). halt() zeroes everything silently.
 * - reset_yaw with locator flag bit 0 clear turns the locator axes about the current locator
 *   origin, so x/y values change with the new axes; reset_locator moves the origin only.
 */
import { getLogger } from "@logtape/logtape";

const log = getLogger(["rvr", "sim"]);

export interface Vec3 {
  x: number;
  y: number;
  z: number;
}
export interface Quaternion {
  w: number;
  x: number;
  y: number;
  z: number;
}
export interface Pose {
  x: number;
  y: number;
  yawDeg: number;
}
export type BodyEvent =
  | { type: "xy_position_drive_result"; success: boolean }
  | { type: "robot_has_stopped" }
  | { type: "motor_stall"; motorIndex: 0 | 1; isTriggered: boolean }
  | { type: "gyro_max"; flags: number };
export interface SlewParameters {
  a: number;
  b: number;
  c: number;
  linearAcceleration: number;
  method: number;
}
export interface BodyOptions {
  /** Default control-system timeout (ms) after which a drive controller stops: 2000. */
  controlTimeoutMs?: number;
  /** Initial world pose. */
  worldPose?: { x: number; y: number; headingRad?: number };
}

// ---------------------------------------------------------------------------------------------
// Constants (sources: rvr-protocol.md sec. 9.4 [DOC]/[SDK]; values marked [?] are reasoned choices)

/** Distance between the tread centre lines [?] (RVR is about 0.22 m wide over the treads). */
export const TRACK_WIDTH_M = 0.2;
/** Top tread speed quoted by the SDK samples for tank drive. */
export const MAX_TREAD_SPEED_MPS = 1.555;
/** SI linear velocity commands saturate here [DOC]; the treads still cap at MAX_TREAD_SPEED_MPS. */
export const MAX_LINEAR_SI_MPS = 2;
/** SI yaw-rate commands saturate here [DOC]. */
export const MAX_YAW_RATE_DPS = 624;
/** Normalized commands: 127 maps to the top tread speed / top yaw rate. */
export const NORMALIZED_FULL_SCALE = 127;
/** Gyroscope full scale; beyond it a gyro_max event is raised (sec. 9.5). */
export const GYRO_RANGE_DPS = 2000;
/**
 * Encoder resolution [?]: assumes a 12-line quadrature motor encoder (48 counts/rev), a 40:1
 * gearbox and 0.2 m of tread travel per sprocket revolution, i.e. 48 * 40 / 0.2 = 9600 ticks/m.
 */
export const ENCODER_TICKS_PER_METRE = 9600;
/** Physical acceleration limit of one tread (motor torque) [?]. */
export const MAX_TREAD_ACCEL_MPS2 = 5;
/** Default control-system timeout (sec. 9.4). */
export const DEFAULT_CONTROL_TIMEOUT_MS = 2000;
/** drive_stop deceleration (sec. 9.4). */
export const DEFAULT_STOP_DECEL_MPS2 = 2;
/** Slew defaults: yaw-rate cap a*v^2 + b*v + c [DOC]; linear acceleration 3 m/s^2 [?]. */
export const DEFAULT_SLEW_PARAMETERS: Readonly<SlewParameters> = Object.freeze({
  a: -177.78,
  b: 533.33,
  c: 200,
  linearAcceleration: 3,
  method: 0,
});
/** Linear velocity slew methods: 0 constant acceleration, 1 proportional (see slewLinear). */
export const SLEW_METHODS = [0, 1] as const;
/** Method 1: the slewed speed closes SLEW_PROPORTIONAL_GAIN_PER_S of its error per second. */
export const SLEW_PROPORTIONAL_GAIN_PER_S = 4;
/** raw_motors: duty (0-255) needed to overcome static friction [?]. */
export const RAW_MOTOR_FRICTION_DUTY = 24;
/** raw_motors: open-loop speed response time constant [?]. */
export const RAW_MOTOR_TIME_CONSTANT_S = 0.12;
/** Yaw controllers: deg/s of yaw rate per degree of yaw error. */
export const YAW_GAIN_PER_S = 6;
/** Advanced yaw controller: when started at standstill it turns within this before driving. */
export const TURN_FIRST_TOLERANCE_DEG = 5;
/** XY position controller: arrival radius and final-yaw tolerance. */
export const XY_POSITION_TOLERANCE_M = 0.02;
export const XY_YAW_TOLERANCE_DEG = 1;
/** XY controller: crawl speed used near the target so it arrives in finite time. */
export const XY_MIN_SPEED_MPS = 0.04;
/** XY controller: it turns in place while the bearing to the target is off by this or more. */
export const XY_DRIVE_WINDOW_DEG = 30;
/** IR follow: keep this gap to the broadcaster; IR evade: flee while closer than the range. */
export const IR_FOLLOW_GAP_M = 0.4;
export const IR_EVADE_RANGE_M = 1.0;
export const IR_MAX_SPEED_MPS = 0.8;
export const IR_SPEED_GAIN_PER_S = 1.5;
/** Magnetometer calibration: one full turn in place at this rate. */
export const MAG_CALIBRATION_RATE_DPS = 90;
/** A blocked tread whose controller demands more than this for STALL_DETECT_MS stalls. */
export const STALL_DEMAND_MPS = 0.05;
export const STALL_DETECT_MS = 250;
/** Motor current model (per motor) [?]: idle + speed + acceleration terms; stall current. */
export const MOTOR_IDLE_CURRENT_A = 0.08;
export const MOTOR_CURRENT_PER_MPS = 0.35;
export const MOTOR_CURRENT_PER_MPS2 = 0.12;
export const MOTOR_STALL_CURRENT_A = 2.3;
/** Suspension model (see the file comment). */
export const PITCH_DEG_PER_MPS2 = 0.8;
export const ROLL_DEG_PER_MPS2 = 0.8;
export const SUSPENSION_TIME_CONSTANT_S = 0.08;
/** Standard gravity, m/s^2 per g. */
export const STANDARD_GRAVITY_MPS2 = 9.80665;
/** Largest internal integration step. */
export const MAX_SUBSTEP_MS = 5;

/** Control-system types of sec. 9.4 (index = type id). */
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
/** Controller ids of sec. 9.4. */
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
const INITIAL_DEFAULT_CONTROLLERS: readonly number[] = [0, 1, 2, 3, 5, 7, 8, 9];

/** XY flag bits 0-1 (sec. 9.4). */
export const XY_DIRECTIONS = ["forward", "force_reverse", "auto_reverse"] as const;
export type XyDirection = (typeof XY_DIRECTIONS)[number];
export const XY_FLAG_RELATIVE = 0x04;
/** drive_with_heading flag bits (sec. 9.4). */
export const HEADING_FLAG_REVERSE = 0x01;
export const HEADING_FLAG_FAST_TURN = 0x04;
/** RC flag bit 0: slew the linear velocity. */
export const RC_FLAG_SLEW_LINEAR = 0x01;
/** gyro_max flag bits (sec. 9.5). */
export const GYRO_MAX_FLAGS = {
  plusX: 0x01,
  minusX: 0x02,
  plusY: 0x04,
  minusY: 0x08,
  plusZ: 0x10,
  minusZ: 0x20,
} as const;

// ---------------------------------------------------------------------------------------------
// Small maths helpers (exported: world.ts and the tests use them)

const DEG = Math.PI / 180;

/** Wraps an angle in degrees to [-180, 180). */
export function wrapDeg(deg: number): number {
  const r = (deg + 180) % 360;
  return (r < 0 ? r + 360 : r) - 180;
}
/** Wraps an angle in radians to [-pi, pi). */
export function wrapRad(rad: number): number {
  const r = (rad + Math.PI) % (2 * Math.PI);
  return (r < 0 ? r + 2 * Math.PI : r) - Math.PI;
}
/** World heading (rad, CCW from +y) of the direction (dx, dy). */
export function headingOf(dx: number, dy: number): number {
  return Math.atan2(-dx, dy);
}
/** Rotates (x, y) counter-clockwise by rad. */
export function rotate(x: number, y: number, rad: number): { x: number; y: number } {
  const c = Math.cos(rad);
  const s = Math.sin(rad);
  return { x: x * c - y * s, y: x * s + y * c };
}
/**
 * Expresses a vector given in the level (yaw-only) frame in the tilted body frame:
 * v_body = Rx(pitch)^T * Ry(roll)^T * v_level.
 */
export function levelToBody(v: Vec3, pitchDeg: number, rollDeg: number): Vec3 {
  const cr = Math.cos(rollDeg * DEG);
  const sr = Math.sin(rollDeg * DEG);
  const cp = Math.cos(pitchDeg * DEG);
  const sp = Math.sin(pitchDeg * DEG);
  // Ry^T
  const x1 = cr * v.x - sr * v.z;
  const y1 = v.y;
  const z1 = sr * v.x + cr * v.z;
  // Rx^T
  return { x: x1, y: cp * y1 + sp * z1, z: -sp * y1 + cp * z1 };
}
/** Quaternion of R = Rz(yaw) * Ry(roll) * Rx(pitch), unit norm. */
export function quaternionFromYawRollPitch(
  yawDeg: number,
  rollDeg: number,
  pitchDeg: number,
): Quaternion {
  const hz = (yawDeg * DEG) / 2;
  const hy = (rollDeg * DEG) / 2;
  const hx = (pitchDeg * DEG) / 2;
  const qz = { w: Math.cos(hz), x: 0, y: 0, z: Math.sin(hz) };
  const qy = { w: Math.cos(hy), x: 0, y: Math.sin(hy), z: 0 };
  const qx = { w: Math.cos(hx), x: Math.sin(hx), y: 0, z: 0 };
  const q = quatMul(quatMul(qz, qy), qx);
  const n = Math.hypot(q.w, q.x, q.y, q.z);
  return { w: q.w / n, x: q.x / n, y: q.y / n, z: q.z / n };
}
function quatMul(a: Quaternion, b: Quaternion): Quaternion {
  return {
    w: a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z,
    x: a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
    y: a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
    z: a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w,
  };
}

function requireFinite(name: string, value: number, hint: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new RangeError(`${name} must be a finite number, got ${value}; ${hint}`);
  }
  return value;
}
function requireInt(name: string, value: number, min: number, max: number, hint = ""): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `${name} must be an integer in ${min}..${max}, got ${value}${hint ? `; ${hint}` : ""}`,
    );
  }
  return value;
}
const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
const approach = (current: number, target: number, maxDelta: number): number => {
  const d = target - current;
  return Math.abs(d) <= maxDelta ? target : current + Math.sign(d) * maxDelta;
};

// ---------------------------------------------------------------------------------------------
// Controllers

type Drive =
  | { kind: "stop"; decelMps2: number; announced: boolean }
  | { kind: "raw"; leftTargetMps: number; rightTargetMps: number }
  | { kind: "tank"; leftMps: number; rightMps: number }
  | {
    kind: "yaw";
    id: number;
    /** Target yaw in world radians. */
    headingRad: number;
    linearMps: number;
    turnFirst: boolean;
    fastTurn: boolean;
  }
  | { kind: "rc"; id: number; yawRateDps: number; linearMps: number; slew: boolean }
  | {
    kind: "xy";
    targetX: number;
    targetY: number;
    finalHeadingRad: number;
    maxSpeedMps: number;
    reverse: boolean;
    phase: "drive" | "turn";
  }
  | { kind: "ir"; mode: "follow" | "evade"; targetX: number; targetY: number }
  | { kind: "mag"; turnedRad: number };

/** Controller id of each controller kind (yaw and rc carry their own id). */
const CONTROLLER_OF_KIND: Readonly<Record<Drive["kind"], number>> = {
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
const TIMED_KINDS: ReadonlySet<Drive["kind"]> = new Set(["raw", "tank", "yaw", "rc"]);

interface StallState {
  blockedMs: number;
  triggered: boolean;
}

/**
 * One RVR body. Drive-command arguments are the decoded request fields of sec. 8; values the robot
 * would answer bad_data_value to throw RangeError (the sim turns that into ERR 0x07).
 */
export class RvrBody {
  // World pose.
  #x: number;
  #y: number;
  #heading: number;
  // Locator frame: origin (world), world heading of the locator +y axis, world heading of yaw 0.
  #originX: number;
  #originY: number;
  #axesRad: number;
  #yawZeroRad: number;
  #locatorFlags = 0;
  // Treads.
  #vL = 0;
  #vR = 0;
  #travelL = 0;
  #travelR = 0;
  #blocked = { left: false, right: false };
  #stall: [StallState, StallState] = [
    { blockedMs: 0, triggered: false },
    { blockedMs: 0, triggered: false },
  ];
  #currentL = 0;
  #currentR = 0;
  // IMU.
  #aLongMps2 = 0;
  #aLatMps2 = 0;
  #pitchDeg = 0;
  #rollDeg = 0;
  #pitchRateDps = 0;
  #rollRateDps = 0;
  #yawRateDps = 0;
  #external: Vec3 = { x: 0, y: 0, z: 0 };
  #gyroMaxFlags = 0;
  // Control.
  #drive: Drive = { kind: "stop", decelMps2: DEFAULT_STOP_DECEL_MPS2, announced: true };
  #linearCmdMps = 0;
  #nowMs = 0;
  #lastCommandMs = 0;
  #defaultTimeoutMs: number;
  #timeoutMs: number;
  #slew: SlewParameters = { ...DEFAULT_SLEW_PARAMETERS };
  #defaults: number[] = [...INITIAL_DEFAULT_CONTROLLERS];
  #pending: BodyEvent[] = [];

  constructor(options: BodyOptions = {}) {
    const timeout = options.controlTimeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS;
    requireInt("controlTimeoutMs", timeout, 1, 65535, "use 1..65535 ms (default 2000)");
    this.#defaultTimeoutMs = timeout;
    this.#timeoutMs = timeout;
    const p = options.worldPose ?? { x: 0, y: 0 };
    this.#x = requireFinite("worldPose.x", p.x, "give metres");
    this.#y = requireFinite("worldPose.y", p.y, "give metres");
    this.#heading = wrapRad(requireFinite("worldPose.headingRad", p.headingRad ?? 0, "radians"));
    this.#originX = this.#x;
    this.#originY = this.#y;
    this.#axesRad = this.#heading;
    this.#yawZeroRad = this.#heading;
  }

  // ------------------------------------------------------------------------------- commands

  /** raw_motors: mode 0 off, 1 forward, 2 reverse; duty 0-255 open loop. */
  rawMotors(leftMode: number, leftDuty: number, rightMode: number, rightDuty: number): void {
    const hint = "mode is 0 off, 1 forward, 2 reverse";
    requireInt("raw_motors left mode", leftMode, 0, 2, hint);
    requireInt("raw_motors right mode", rightMode, 0, 2, hint);
    requireInt("raw_motors left duty", leftDuty, 0, 255);
    requireInt("raw_motors right duty", rightDuty, 0, 255);
    const target = (mode: number, duty: number): number => {
      if (mode === 0) return 0;
      const frac = Math.max(0, (duty - RAW_MOTOR_FRICTION_DUTY) / (255 - RAW_MOTOR_FRICTION_DUTY));
      return (mode === 1 ? 1 : -1) * frac * MAX_TREAD_SPEED_MPS;
    };
    this.#command({
      kind: "raw",
      leftTargetMps: target(leftMode, leftDuty),
      rightTargetMps: target(rightMode, rightDuty),
    });
  }

  /** drive_with_heading: speed 0-255 of top speed, left-hand heading (90 = right), flags. */
  driveWithHeading(speed: number, headingDeg: number, flags: number): void {
    requireInt("drive_with_heading speed", speed, 0, 255);
    requireInt("drive_with_heading heading", headingDeg, 0, 65535, "degrees, 0-359");
    requireInt("drive_with_heading flags", flags, 0, 255);
    const magnitude = (speed / 255) * MAX_TREAD_SPEED_MPS;
    const linear = flags & HEADING_FLAG_REVERSE ? -magnitude : magnitude;
    // Left-hand heading: yaw = -heading.
    this.#startYaw(-(headingDeg % 360), linear, (flags & HEADING_FLAG_FAST_TURN) !== 0);
  }

  driveTankSi(leftMps: number, rightMps: number): void {
    const l = requireFinite("drive_tank_si_units left", leftMps, "give m/s");
    const r = requireFinite("drive_tank_si_units right", rightMps, "give m/s");
    const lim = (v: number) =>
      clamp(
        clamp(v, -MAX_LINEAR_SI_MPS, MAX_LINEAR_SI_MPS),
        -MAX_TREAD_SPEED_MPS,
        MAX_TREAD_SPEED_MPS,
      );
    this.#command({ kind: "tank", leftMps: lim(l), rightMps: lim(r) });
  }

  driveTankNormalized(left: number, right: number): void {
    requireInt("drive_tank_normalized left", left, -128, 127);
    requireInt("drive_tank_normalized right", right, -128, 127);
    this.driveTankSi(normalizedToMps(left), normalizedToMps(right));
  }

  /** drive_rc_si_units: yaw rate deg/s (+ = left), linear m/s, flag bit 0 slews linear. */
  driveRcSi(yawRateDps: number, linearMps: number, flags: number): void {
    const w = requireFinite("drive_rc_si_units yaw rate", yawRateDps, "give deg/s");
    const v = requireFinite("drive_rc_si_units linear", linearMps, "give m/s");
    requireInt("drive_rc_si_units flags", flags, 0, 255);
    const id = flags & RC_FLAG_SLEW_LINEAR ? CONTROLLER_IDS.rcSlew : this.#defaults[4];
    this.#command({
      kind: "rc",
      id,
      yawRateDps: clamp(w, -MAX_YAW_RATE_DPS, MAX_YAW_RATE_DPS),
      linearMps: clamp(v, -MAX_LINEAR_SI_MPS, MAX_LINEAR_SI_MPS),
      slew: id === CONTROLLER_IDS.rcSlew,
    });
  }

  driveRcNormalized(yawRate: number, linear: number, flags: number): void {
    requireInt("drive_rc_normalized yaw rate", yawRate, -128, 127);
    requireInt("drive_rc_normalized linear", linear, -128, 127);
    const w = (clamp(yawRate, -127, 127) / NORMALIZED_FULL_SCALE) * MAX_YAW_RATE_DPS;
    this.driveRcSi(w, normalizedToMps(linear), flags);
  }

  /** drive_with_yaw_si: hold a locator yaw (deg, + = left) while driving linear m/s. */
  driveWithYawSi(yawDeg: number, linearMps: number): void {
    const yaw = requireFinite("drive_with_yaw_si yaw", yawDeg, "give degrees");
    const v = requireFinite("drive_with_yaw_si linear", linearMps, "give m/s");
    this.#startYaw(yaw, clamp(v, -MAX_LINEAR_SI_MPS, MAX_LINEAR_SI_MPS), false);
  }

  driveWithYawNormalized(yawDeg: number, linear: number): void {
    requireInt("drive_with_yaw_normalized yaw", yawDeg, -32768, 32767, "degrees (i16)");
    requireInt("drive_with_yaw_normalized linear", linear, -128, 127);
    this.driveWithYawSi(yawDeg, normalizedToMps(linear));
  }

  /**
   * drive_to_position_si: target (x, y) in the locator frame (or relative to the current position,
   * locator axes, with flag bit 2), max speed m/s, final yaw deg. Flag bits 0-1: 0 forward, 1 force
   * reverse, 2 auto reverse (reverse when the target lies behind), 3 is reserved (RangeError).
   * Ends with an xy_position_drive_result event.
   */
  driveToPositionSi(yawDeg: number, x: number, y: number, speedMps: number, flags: number): void {
    const yaw = requireFinite("drive_to_position yaw", yawDeg, "give degrees");
    const tx = requireFinite("drive_to_position x", x, "give metres");
    const ty = requireFinite("drive_to_position y", y, "give metres");
    const speed = requireFinite("drive_to_position speed", speedMps, "give m/s");
    if (speed < 0) {
      throw new RangeError(
        `drive_to_position speed must be >= 0 m/s, got ${speed}; use flags for reverse`,
      );
    }
    requireInt("drive_to_position flags", flags, 0, 255);
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
      const here = this.pose;
      lx += here.x;
      ly += here.y;
    }
    const w = this.locatorToWorld(lx, ly);
    const dist = Math.hypot(w.x - this.#x, w.y - this.#y);
    let reverse = direction === 1;
    if (direction === 2 && dist > XY_POSITION_TOLERANCE_M) {
      const err = wrapRad(headingOf(w.x - this.#x, w.y - this.#y) - this.#heading);
      reverse = Math.abs(err) > Math.PI / 2;
    }
    this.#command({
      kind: "xy",
      targetX: w.x,
      targetY: w.y,
      finalHeadingRad: wrapRad(this.#yawZeroRad + yaw * DEG),
      maxSpeedMps: Math.min(speed, MAX_LINEAR_SI_MPS),
      reverse,
      phase: dist <= XY_POSITION_TOLERANCE_M ? "turn" : "drive",
    });
  }

  driveToPositionNormalized(
    yawDeg: number,
    x: number,
    y: number,
    speed: number,
    flags: number,
  ): void {
    requireInt("drive_to_position_normalized yaw", yawDeg, -32768, 32767, "degrees (i16)");
    requireInt("drive_to_position_normalized speed", speed, 0, 127, "0..127 of top speed");
    this.driveToPositionSi(wrapDeg(yawDeg), x, y, normalizedToMps(speed), flags);
  }

  /**
   * Decelerating stop: the faster tread slows at the rate, the other keeps the ratio. The motors
   * brake no harder than they accelerate: a rate above MAX_TREAD_ACCEL_MPS2 is held to it.
   */
  driveStop(decelerationMps2: number = DEFAULT_STOP_DECEL_MPS2): void {
    const d = requireFinite("drive_stop deceleration", decelerationMps2, "give m/s^2");
    if (d <= 0) {
      throw new RangeError(`drive_stop deceleration must be > 0 m/s^2, got ${d}; default is 2`);
    }
    this.#command({ kind: "stop", decelMps2: Math.min(d, MAX_TREAD_ACCEL_MPS2), announced: false });
  }

  /** The current direction becomes yaw 0; with locator flag bit 0 clear the x/y axes turn too. */
  resetYaw(): void {
    this.#yawZeroRad = this.#heading;
    if ((this.#locatorFlags & 0x01) === 0) this.#axesRad = this.#heading;
  }

  /** x, y := 0 at the current position (axes unchanged). */
  resetLocator(): void {
    this.#originX = this.#x;
    this.#originY = this.#y;
  }

  /** Bit 0 auto_calibrate: keep the x/y axes on reset_yaw. */
  setLocatorFlags(flags: number): void {
    this.#locatorFlags = requireInt("set_locator_flags flags", flags, 0, 255);
  }
  get locatorFlags(): number {
    return this.#locatorFlags;
  }

  setControlSystemTimeout(ms: number): void {
    this.#timeoutMs = requireInt(
      "control system timeout",
      ms,
      1,
      65535,
      "give milliseconds; restore_default_control_system_timeout goes back to 2000",
    );
  }
  restoreDefaultControlSystemTimeout(): void {
    this.#timeoutMs = this.#defaultTimeoutMs;
  }
  get controlTimeoutMs(): number {
    return this.#timeoutMs;
  }

  setSlewParameters(p: SlewParameters): void {
    const a = requireFinite("slew a", p.a, "coefficient of v^2 in deg/s");
    const b = requireFinite("slew b", p.b, "coefficient of v in deg/s");
    const c = requireFinite("slew c", p.c, "constant in deg/s");
    const acc = requireFinite("slew linear acceleration", p.linearAcceleration, "give m/s^2");
    if (acc <= 0) {
      throw new RangeError(`slew linear acceleration must be > 0 m/s^2, got ${acc}`);
    }
    if (!SLEW_METHODS.includes(p.method as 0 | 1)) {
      throw new RangeError(
        `slew method must be 0 (constant) or 1 (proportional), got ${p.method}`,
      );
    }
    this.#slew = { a, b, c, linearAcceleration: acc, method: p.method };
  }
  getSlewParameters(): SlewParameters {
    return { ...this.#slew };
  }
  restoreDefaultSlewParameters(): void {
    this.#slew = { ...DEFAULT_SLEW_PARAMETERS };
  }

  setDefaultControlSystem(type: number, controllerId: number): void {
    requireType(type);
    const allowed = CONTROLLERS_FOR_TYPE[type];
    if (!allowed.includes(controllerId)) {
      throw new RangeError(
        `controller ${controllerId} is not valid for control system type ${type} ` +
          `(${CONTROL_SYSTEM_TYPES[type]}); use ${allowed.join(" or ")}`,
      );
    }
    this.#defaults[type] = controllerId;
  }
  getDefaultControlSystem(type: number): number {
    requireType(type);
    return this.#defaults[type];
  }
  restoreInitialDefaultControlSystems(): void {
    this.#defaults = [...INITIAL_DEFAULT_CONTROLLERS];
  }

  /** IR follow/evade controller: steer toward / away from a world point; null ends it (stop). */
  setInfraredTarget(mode: "follow" | "evade", target: { x: number; y: number } | null): void {
    if (mode !== "follow" && mode !== "evade") {
      throw new RangeError(`infrared mode must be "follow" or "evade", got ${String(mode)}`);
    }
    const d = this.#drive;
    if (target === null) {
      if (d.kind === "ir") {
        this.#command({ kind: "stop", decelMps2: DEFAULT_STOP_DECEL_MPS2, announced: false });
      }
      return;
    }
    const tx = requireFinite("infrared target x", target.x, "world metres");
    const ty = requireFinite("infrared target y", target.y, "world metres");
    if (d.kind === "ir" && d.mode === mode) {
      d.targetX = tx;
      d.targetY = ty;
      return;
    }
    this.#command({ kind: "ir", mode, targetX: tx, targetY: ty });
  }

  /** Magnetometer calibration (controller 9): one full turn in place, then stop. */
  startMagnetometerCalibration(): void {
    this.#command({ kind: "mag", turnedRad: 0 });
  }
  get isCalibratingMagnetometer(): boolean {
    return this.#drive.kind === "mag";
  }

  /** Stops everything at once and enters the stop controller (no robot_has_stopped event). */
  halt(): void {
    this.#command({ kind: "stop", decelMps2: DEFAULT_STOP_DECEL_MPS2, announced: true });
    this.#vL = 0;
    this.#vR = 0;
    this.#linearCmdMps = 0;
    this.#aLongMps2 = 0;
    this.#aLatMps2 = 0;
    this.#yawRateDps = 0;
  }

  /** Test/fault knob: block a tread so it stalls (motor_stall event). */
  setTreadBlocked(side: "left" | "right", blocked: boolean): void {
    if (side !== "left" && side !== "right") {
      throw new RangeError(`tread side must be "left" or "right", got ${String(side)}`);
    }
    this.#blocked[side] = blocked;
  }

  /**
   * Test/fault knob: an external rotation (deg/s, body axes), e.g. the robot lifted and spun by
   * hand. z turns the body (heading integrates it); x and y only show in the gyroscope (the
   * attitude model stays level). Exceeding GYRO_RANGE_DPS raises gyro_max. null clears it.
   */
  setExternalRotation(ratesDps: Vec3 | null): void {
    if (ratesDps === null) {
      this.#external = { x: 0, y: 0, z: 0 };
      return;
    }
    this.#external = {
      x: requireFinite("external rotation x", ratesDps.x, "deg/s"),
      y: requireFinite("external rotation y", ratesDps.y, "deg/s"),
      z: requireFinite("external rotation z", ratesDps.z, "deg/s"),
    };
  }

  // ------------------------------------------------------------------------------- frames

  /** World point of a locator-frame point. */
  locatorToWorld(x: number, y: number): { x: number; y: number } {
    const r = rotate(x, y, this.#axesRad);
    return { x: this.#originX + r.x, y: this.#originY + r.y };
  }
  /** Locator-frame point of a world point. */
  worldToLocator(x: number, y: number): { x: number; y: number } {
    return rotate(x - this.#originX, y - this.#originY, -this.#axesRad);
  }
  /** Locator yaw (deg) of a world heading (rad). */
  worldHeadingToYawDeg(headingRad: number): number {
    return wrapDeg((headingRad - this.#yawZeroRad) / DEG);
  }

  // ------------------------------------------------------------------------------- physics

  /** Advance the physics by dtMs; returns what happened (events in order). */
  step(dtMs: number): BodyEvent[] {
    if (!Number.isFinite(dtMs) || dtMs < 0) {
      throw new RangeError(`step dtMs must be a finite number >= 0, got ${dtMs}`);
    }
    const events = this.#pending;
    this.#pending = [];
    if (dtMs === 0) return events;
    const n = Math.ceil(dtMs / MAX_SUBSTEP_MS);
    const h = dtMs / n / 1000;
    for (let i = 0; i < n; i++) this.#substep(h, events);
    return events;
  }

  #substep(h: number, events: BodyEvent[]): void {
    this.#nowMs += h * 1000;
    const d0 = this.#drive;
    if (TIMED_KINDS.has(d0.kind) && this.#nowMs - this.#lastCommandMs >= this.#timeoutMs) {
      log.debug("Control system timeout after {timeoutMs} ms: stopping", {
        timeoutMs: this.#timeoutMs,
      });
      this.#drive = { kind: "stop", decelMps2: DEFAULT_STOP_DECEL_MPS2, announced: false };
    }
    const prevL = this.#vL;
    const prevR = this.#vR;
    const prevV = (prevL + prevR) / 2;
    const demand = this.#control(h, events);

    if (this.#blocked.left) this.#vL = 0;
    if (this.#blocked.right) this.#vR = 0;

    // Integrate the pose. Tread speeds change linearly within a sub-step (acceleration-limited),
    // so their average is exact for the travel; the position uses the midpoint heading.
    const vL = this.#vL;
    const vR = this.#vR;
    const v = (vL + vR) / 2;
    const wBody = (vR - vL) / TRACK_WIDTH_M;
    const w = wBody + this.#external.z * DEG;
    const avgL = (vL + prevL) / 2;
    const avgR = (vR + prevR) / 2;
    const wAvg = (avgR - avgL) / TRACK_WIDTH_M + this.#external.z * DEG;
    const mid = this.#heading + (wAvg * h) / 2;
    this.#x += -Math.sin(mid) * ((avgL + avgR) / 2) * h;
    this.#y += Math.cos(mid) * ((avgL + avgR) / 2) * h;
    this.#heading = wrapRad(this.#heading + wAvg * h);
    this.#travelL += avgL * h;
    this.#travelR += avgR * h;
    if (this.#drive.kind === "mag") this.#drive.turnedRad += Math.abs(wAvg * h);

    // IMU: accelerations, suspension tilt, rates.
    this.#aLongMps2 = (v - prevV) / h;
    this.#aLatMps2 = -v * wBody; // toward +x (right); a left turn pulls toward -x
    this.#yawRateDps = w / DEG;
    const k = 1 - Math.exp(-h / SUSPENSION_TIME_CONSTANT_S);
    const pitch = this.#pitchDeg + (PITCH_DEG_PER_MPS2 * this.#aLongMps2 - this.#pitchDeg) * k;
    const roll = this.#rollDeg + (ROLL_DEG_PER_MPS2 * -this.#aLatMps2 - this.#rollDeg) * k;
    this.#pitchRateDps = (pitch - this.#pitchDeg) / h;
    this.#rollRateDps = (roll - this.#rollDeg) / h;
    this.#pitchDeg = pitch;
    this.#rollDeg = roll;

    // Motor currents.
    const current = (vNow: number, vPrev: number, dem: number, blocked: boolean): number => {
      if (blocked && Math.abs(dem) > STALL_DEMAND_MPS) {
        return 0.3 + (MOTOR_STALL_CURRENT_A - 0.3) * Math.min(1, Math.abs(dem) / 0.5);
      }
      if (dem === 0 && vNow === 0 && vPrev === 0) return 0;
      return MOTOR_IDLE_CURRENT_A + MOTOR_CURRENT_PER_MPS * Math.abs(vNow) +
        MOTOR_CURRENT_PER_MPS2 * Math.abs((vNow - vPrev) / h);
    };
    this.#currentL = current(vL, prevL, demand.left, this.#blocked.left);
    this.#currentR = current(vR, prevR, demand.right, this.#blocked.right);

    // Stall detection.
    this.#checkStall(0, this.#blocked.left, demand.left, h, events);
    this.#checkStall(1, this.#blocked.right, demand.right, h, events);

    // Gyro range.
    const g = this.gyroscope;
    let flags = 0;
    if (g.x > GYRO_RANGE_DPS) flags |= GYRO_MAX_FLAGS.plusX;
    if (g.x < -GYRO_RANGE_DPS) flags |= GYRO_MAX_FLAGS.minusX;
    if (g.y > GYRO_RANGE_DPS) flags |= GYRO_MAX_FLAGS.plusY;
    if (g.y < -GYRO_RANGE_DPS) flags |= GYRO_MAX_FLAGS.minusY;
    if (g.z > GYRO_RANGE_DPS) flags |= GYRO_MAX_FLAGS.plusZ;
    if (g.z < -GYRO_RANGE_DPS) flags |= GYRO_MAX_FLAGS.minusZ;
    if (flags & ~this.#gyroMaxFlags) events.push({ type: "gyro_max", flags });
    this.#gyroMaxFlags = flags;

    // Stop controller reached standstill.
    const d = this.#drive;
    if (d.kind === "stop" && !d.announced && this.#vL === 0 && this.#vR === 0) {
      d.announced = true;
      events.push({ type: "robot_has_stopped" });
    }
  }

  #checkStall(index: 0 | 1, blocked: boolean, dem: number, h: number, events: BodyEvent[]) {
    const s = this.#stall[index];
    if (blocked && Math.abs(dem) > STALL_DEMAND_MPS) {
      s.blockedMs += h * 1000;
      if (!s.triggered && s.blockedMs >= STALL_DETECT_MS) {
        s.triggered = true;
        events.push({ type: "motor_stall", motorIndex: index, isTriggered: true });
      }
    } else {
      s.blockedMs = 0;
      if (s.triggered) {
        s.triggered = false;
        events.push({ type: "motor_stall", motorIndex: index, isTriggered: false });
      }
    }
  }

  /** Runs the active controller for one sub-step; updates tread speeds; returns tread demand. */
  #control(h: number, events: BodyEvent[]): { left: number; right: number } {
    const d = this.#drive;
    const maxStep = MAX_TREAD_ACCEL_MPS2 * h;
    switch (d.kind) {
      case "stop": {
        const fastest = Math.max(Math.abs(this.#vL), Math.abs(this.#vR));
        if (fastest <= d.decelMps2 * h) {
          this.#vL = 0;
          this.#vR = 0;
        } else {
          const scale = (fastest - d.decelMps2 * h) / fastest;
          this.#vL *= scale;
          this.#vR *= scale;
        }
        this.#linearCmdMps = (this.#vL + this.#vR) / 2;
        return { left: 0, right: 0 };
      }
      case "raw": {
        const k = 1 - Math.exp(-h / RAW_MOTOR_TIME_CONSTANT_S);
        const lag = (v: number, t: number) => approach(v, v + (t - v) * k, maxStep);
        this.#vL = lag(this.#vL, d.leftTargetMps);
        this.#vR = lag(this.#vR, d.rightTargetMps);
        return { left: d.leftTargetMps, right: d.rightTargetMps };
      }
      case "tank": {
        this.#vL = approach(this.#vL, d.leftMps, maxStep);
        this.#vR = approach(this.#vR, d.rightMps, maxStep);
        return { left: d.leftMps, right: d.rightMps };
      }
      case "yaw": {
        const errDeg = wrapRad(d.headingRad - this.#heading) / DEG;
        if (d.turnFirst && Math.abs(errDeg) < TURN_FIRST_TOLERANCE_DEG) d.turnFirst = false;
        const linear = d.turnFirst ? 0 : d.linearMps;
        const cap = d.fastTurn ? MAX_YAW_RATE_DPS : this.#yawCapDps();
        return this.#driveVw(h, linear, clamp(YAW_GAIN_PER_S * errDeg, -cap, cap), true);
      }
      case "rc": {
        const cap = d.slew ? Math.min(MAX_YAW_RATE_DPS, this.#yawCapDps()) : MAX_YAW_RATE_DPS;
        return this.#driveVw(h, d.linearMps, clamp(d.yawRateDps, -cap, cap), d.slew);
      }
      case "xy":
        return this.#controlXy(d, h, events);
      case "ir": {
        const dx = d.targetX - this.#x;
        const dy = d.targetY - this.#y;
        const dist = Math.hypot(dx, dy);
        const toward = headingOf(dx, dy);
        const want = d.mode === "follow" ? toward : wrapRad(toward + Math.PI);
        const errDeg = wrapRad(want - this.#heading) / DEG;
        let speed = 0;
        if (d.mode === "follow") speed = IR_SPEED_GAIN_PER_S * (dist - IR_FOLLOW_GAP_M);
        else if (dist < IR_EVADE_RANGE_M) speed = IR_SPEED_GAIN_PER_S * (IR_EVADE_RANGE_M - dist);
        speed = clamp(speed, 0, IR_MAX_SPEED_MPS) * Math.max(0, Math.cos(errDeg * DEG));
        const cap = this.#yawCapDps();
        const turning = d.mode === "follow" || dist < IR_EVADE_RANGE_M;
        const yawRate = turning ? clamp(YAW_GAIN_PER_S * errDeg, -cap, cap) : 0;
        return this.#driveVw(h, speed, yawRate, true);
      }
      case "mag": {
        if (d.turnedRad >= 2 * Math.PI) {
          this.#drive = { kind: "stop", decelMps2: DEFAULT_STOP_DECEL_MPS2, announced: true };
          return this.#control(h, events);
        }
        return this.#driveVw(h, 0, MAG_CALIBRATION_RATE_DPS, false);
      }
    }
  }

  #controlXy(
    d: Extract<Drive, { kind: "xy" }>,
    h: number,
    events: BodyEvent[],
  ): { left: number; right: number } {
    const cap = this.#yawCapDps();
    if (d.phase === "drive") {
      const dx = d.targetX - this.#x;
      const dy = d.targetY - this.#y;
      const dist = Math.hypot(dx, dy);
      if (dist <= XY_POSITION_TOLERANCE_M) {
        d.phase = "turn";
      } else if (d.maxSpeedMps <= 0) {
        // Cannot move toward a target at speed 0: report failure and stop.
        this.#drive = { kind: "stop", decelMps2: DEFAULT_STOP_DECEL_MPS2, announced: true };
        events.push({ type: "xy_position_drive_result", success: false });
        return this.#control(h, events);
      } else {
        const sign = d.reverse ? -1 : 1;
        const decel = 0.8 * Math.min(this.#slew.linearAcceleration, MAX_TREAD_ACCEL_MPS2);
        let speed = Math.min(d.maxSpeedMps, MAX_TREAD_SPEED_MPS, Math.sqrt(2 * decel * dist));
        speed = Math.max(speed, Math.min(XY_MIN_SPEED_MPS, d.maxSpeedMps));
        // Turn in place while the target is off by XY_DRIVE_WINDOW_DEG or more, then drive,
        // slowing in proportion to the remaining heading error.
        const want = wrapRad(headingOf(dx, dy) + (d.reverse ? Math.PI : 0));
        const errDeg = wrapRad(want - this.#heading) / DEG;
        const factor = Math.max(0, 1 - Math.abs(errDeg) / XY_DRIVE_WINDOW_DEG);
        return this.#driveVw(
          h,
          sign * speed * factor,
          clamp(YAW_GAIN_PER_S * errDeg, -cap, cap),
          true,
        );
      }
    }
    // Final turn.
    const errDeg = wrapRad(d.finalHeadingRad - this.#heading) / DEG;
    if (
      Math.abs(errDeg) < XY_YAW_TOLERANCE_DEG && Math.abs(this.#vL) < 0.01 &&
      Math.abs(this.#vR) < 0.01
    ) {
      this.#drive = { kind: "stop", decelMps2: DEFAULT_STOP_DECEL_MPS2, announced: true };
      events.push({ type: "xy_position_drive_result", success: true });
      return this.#control(h, events);
    }
    return this.#driveVw(h, 0, clamp(YAW_GAIN_PER_S * errDeg, -cap, cap), true);
  }

  /** Yaw-rate cap of the slew parameters at the current speed, deg/s. */
  #yawCapDps(): number {
    const v = Math.abs((this.#vL + this.#vR) / 2);
    const { a, b, c } = this.#slew;
    return clamp(a * v * v + b * v + c, 10, MAX_YAW_RATE_DPS);
  }

  /** Drives a (linear, yaw rate) target through the linear slew and the tread limits. */
  #driveVw(
    h: number,
    linearMps: number,
    yawRateDps: number,
    slew: boolean,
  ): { left: number; right: number } {
    if (slew) {
      const err = linearMps - this.#linearCmdMps;
      const rate = this.#slew.method === 1
        ? Math.min(this.#slew.linearAcceleration, SLEW_PROPORTIONAL_GAIN_PER_S * Math.abs(err))
        : this.#slew.linearAcceleration;
      this.#linearCmdMps = approach(this.#linearCmdMps, linearMps, rate * h);
    } else {
      this.#linearCmdMps = linearMps;
    }
    const half = (yawRateDps * DEG * TRACK_WIDTH_M) / 2;
    let left = this.#linearCmdMps - half;
    let right = this.#linearCmdMps + half;
    const top = Math.max(Math.abs(left), Math.abs(right));
    if (top > MAX_TREAD_SPEED_MPS) {
      left *= MAX_TREAD_SPEED_MPS / top;
      right *= MAX_TREAD_SPEED_MPS / top;
    }
    const maxStep = MAX_TREAD_ACCEL_MPS2 * h;
    this.#vL = approach(this.#vL, left, maxStep);
    this.#vR = approach(this.#vR, right, maxStep);
    return { left, right };
  }

  #startYaw(yawDeg: number, linearMps: number, fastTurn: boolean): void {
    const headingRad = wrapRad(this.#yawZeroRad + yawDeg * DEG);
    const id = this.#defaults[3];
    const stopped = Math.abs(this.#vL + this.#vR) / 2 < 0.05;
    const errDeg = Math.abs(wrapRad(headingRad - this.#heading) / DEG);
    const turnFirst = id === CONTROLLER_IDS.yawAdvanced && stopped &&
      errDeg > TURN_FIRST_TOLERANCE_DEG;
    const d = this.#drive;
    if (d.kind === "yaw" && d.id === id) {
      // Same controller: keep an unfinished turn-first phase; update the target.
      d.turnFirst = (d.turnFirst || turnFirst) && errDeg > TURN_FIRST_TOLERANCE_DEG;
      d.headingRad = headingRad;
      d.linearMps = linearMps;
      d.fastTurn = fastTurn;
      this.#lastCommandMs = this.#nowMs;
      return;
    }
    this.#command({ kind: "yaw", id, headingRad, linearMps, turnFirst, fastTurn });
  }

  /** Switches controller; an unfinished XY drive reports failure. */
  #command(next: Drive): void {
    const prev = this.#drive;
    if (prev.kind === "xy") {
      this.#pending.push({ type: "xy_position_drive_result", success: false });
    }
    if (prev.kind === "stop" || prev.kind === "raw" || prev.kind === "tank") {
      this.#linearCmdMps = (this.#vL + this.#vR) / 2;
    }
    this.#drive = next;
    this.#lastCommandMs = this.#nowMs;
  }

  // ------------------------------------------------------------------------------- readings

  /** Controller id of sec. 9.4 that is running now. */
  get activeControllerId(): number {
    const d = this.#drive;
    return d.kind === "yaw" || d.kind === "rc" ? d.id : CONTROLLER_OF_KIND[d.kind];
  }
  /** Stop controller active and at standstill. */
  get isStopped(): boolean {
    return this.#drive.kind === "stop" && this.#vL === 0 && this.#vR === 0;
  }
  get isMoving(): boolean {
    return this.#vL !== 0 || this.#vR !== 0 || this.#external.z !== 0;
  }
  /** Simulated time since construction (sum of step() arguments), ms. */
  get elapsedMs(): number {
    return this.#nowMs;
  }
  /** Locator frame. */
  get pose(): Pose {
    const p = this.worldToLocator(this.#x, this.#y);
    return { x: p.x, y: p.y, yawDeg: this.worldHeadingToYawDeg(this.#heading) };
  }
  get worldPose(): { x: number; y: number; headingRad: number } {
    return { x: this.#x, y: this.#y, headingRad: this.#heading };
  }
  /** m/s, locator frame. */
  get velocity(): { x: number; y: number } {
    const v = (this.#vL + this.#vR) / 2;
    return rotate(-Math.sin(this.#heading) * v, Math.cos(this.#heading) * v, -this.#axesRad);
  }
  get speedMps(): number {
    return Math.abs((this.#vL + this.#vR) / 2);
  }
  get treadSpeedMps(): { left: number; right: number } {
    return { left: this.#vL, right: this.#vR };
  }
  /** i32 ticks (ENCODER_TICKS_PER_METRE), signed, wrapping as i32. */
  get encoders(): { left: number; right: number } {
    return {
      left: Math.round(this.#travelL * ENCODER_TICKS_PER_METRE) | 0,
      right: Math.round(this.#travelR * ENCODER_TICKS_PER_METRE) | 0,
    };
  }
  /** Tread travel in metres since construction (not wrapped). */
  get treadTravelM(): { left: number; right: number } {
    return { left: this.#travelL, right: this.#travelR };
  }
  get imu(): { pitchDeg: number; rollDeg: number; yawDeg: number } {
    return { pitchDeg: this.#pitchDeg, rollDeg: this.#rollDeg, yawDeg: this.pose.yawDeg };
  }
  /** g, body frame (x right, y forward, z up); specific force incl. gravity. */
  get accelerometer(): Vec3 {
    const f = levelToBody(
      { x: this.#aLatMps2, y: this.#aLongMps2, z: STANDARD_GRAVITY_MPS2 },
      this.#pitchDeg,
      this.#rollDeg,
    );
    // "+ 0" turns -0 into 0 for tidy readings.
    return {
      x: f.x / STANDARD_GRAVITY_MPS2 + 0,
      y: f.y / STANDARD_GRAVITY_MPS2 + 0,
      z: f.z / STANDARD_GRAVITY_MPS2 + 0,
    };
  }
  /** deg/s, body frame (small-angle rates; z + = turning left). */
  get gyroscope(): Vec3 {
    return {
      x: this.#pitchRateDps + this.#external.x,
      y: this.#rollRateDps + this.#external.y,
      z: this.#yawRateDps,
    };
  }
  /** Unit quaternion of R = Rz(yaw) * Ry(roll) * Rx(pitch), locator yaw. */
  get quaternion(): Quaternion {
    return quaternionFromYawRollPitch(this.pose.yawDeg, this.#rollDeg, this.#pitchDeg);
  }
  get motorCurrentA(): { left: number; right: number } {
    return { left: this.#currentL, right: this.#currentR };
  }
  get isTreadBlocked(): { left: boolean; right: boolean } {
    return { ...this.#blocked };
  }
}

function normalizedToMps(n: number): number {
  return (clamp(n, -NORMALIZED_FULL_SCALE, NORMALIZED_FULL_SCALE) / NORMALIZED_FULL_SCALE) *
    MAX_TREAD_SPEED_MPS;
}

function requireType(type: number): void {
  requireInt(
    "control system type",
    type,
    0,
    CONTROL_SYSTEM_TYPES.length - 1,
    "0 stop, 1 raw motor, 2 tank, 3 drive with yaw, 4 RC, 5 XY position, 6 infrared, 7 magnetometer",
  );
}
