/**
 * Rigid-body model of a Sphero RVR: a differential-drive (tank) robot with the drive controllers of
 * docs/protocol.md sec. 9.4 and the IMU / locator / encoder readings of sec. 9.5 and sec. 10.
 *
 * Pure physics in plain TypeScript: no timers. The simulator calls `step(dtMs)`. The parts live
 * beside this facade: constants.ts, geometry.ts (frames), control.ts (control laws),
 * drive_commands.ts, integration.ts and readouts.ts, all working on one state (_state.ts).
 */
import { CONTROL_SYSTEM_TYPES, CONTROLLERS_FOR_TYPE } from "../../protocol/mod.ts";
import {
  DEFAULT_SLEW_PARAMETERS,
  DEFAULT_STOP_DECEL_MPS2,
  INITIAL_DEFAULT_CONTROLLERS,
  SLEW_METHODS,
  type SlewParameters,
} from "./constants.ts";
import { checkFinite, checkInteger } from "../../core/mod.ts";
import { requireType } from "./_checks.ts";
import { command } from "./control.ts";
import * as drive from "./drive_commands.ts";
import type { Pose, Quaternion, Vec3 } from "./geometry.ts";
import { step } from "./integration.ts";
import * as read from "./readouts.ts";
import { type BodyEvent, type BodyOptions, type BodyState, createBodyState } from "./_state.ts";

/**
 * One RVR body. Drive-command arguments are the decoded request fields of sec. 8; values the robot
 * would answer bad_data_value to throw RangeError (the sim turns that into ERR 0x07).
 */
export class RvrBody {
  readonly #s: BodyState;

  constructor(options: BodyOptions = {}) {
    this.#s = createBodyState(options);
  }

  // ------------------------------------------------------------------------------- commands

  /** raw_motors: mode 0 off, 1 forward, 2 reverse; duty 0-255 open loop. */
  rawMotors(leftMode: number, leftDuty: number, rightMode: number, rightDuty: number): void {
    drive.rawMotors(this.#s, leftMode, leftDuty, rightMode, rightDuty);
  }
  /** drive_with_heading: speed 0-255 of top speed, left-hand heading (90 = right), flags. */
  driveWithHeading(speed: number, headingDeg: number, flags: number): void {
    drive.driveWithHeading(this.#s, speed, headingDeg, flags);
  }
  driveTankSi(leftMps: number, rightMps: number): void {
    drive.driveTankSi(this.#s, leftMps, rightMps);
  }
  driveTankNormalized(left: number, right: number): void {
    drive.driveTankNormalized(this.#s, left, right);
  }
  /** drive_rc_si_units: yaw rate deg/s (+ = left), linear m/s, flag bit 0 slews linear. */
  driveRcSi(yawRateDps: number, linearMps: number, flags: number): void {
    drive.driveRcSi(this.#s, yawRateDps, linearMps, flags);
  }
  driveRcNormalized(yawRate: number, linear: number, flags: number): void {
    drive.driveRcNormalized(this.#s, yawRate, linear, flags);
  }
  /** drive_with_yaw_si: hold a locator yaw (deg, + = left) while driving linear m/s. */
  driveWithYawSi(yawDeg: number, linearMps: number): void {
    drive.driveWithYawSi(this.#s, yawDeg, linearMps);
  }
  driveWithYawNormalized(yawDeg: number, linear: number): void {
    drive.driveWithYawNormalized(this.#s, yawDeg, linear);
  }
  /**
   * drive_to_position_si: target (x, y) in the locator frame (or relative to the current position,
   * locator axes, with flag bit 2), max speed m/s, final yaw deg. Flag bits 0-1: 0 forward, 1 force
   * reverse, 2 auto reverse (reverse when the target lies behind), 3 is reserved (RangeError).
   * Ends with an xy_position_drive_result event.
   */
  driveToPositionSi(yawDeg: number, x: number, y: number, speedMps: number, flags: number): void {
    drive.driveToPositionSi(this.#s, yawDeg, x, y, speedMps, flags);
  }
  driveToPositionNormalized(
    yawDeg: number,
    x: number,
    y: number,
    speed: number,
    flags: number,
  ): void {
    drive.driveToPositionNormalized(this.#s, yawDeg, x, y, speed, flags);
  }
  /**
   * Decelerating stop: the faster tread slows at the rate, the other keeps the ratio. The motors
   * brake no harder than they accelerate: a rate above MAX_TREAD_ACCEL_MPS2 is held to it.
   */
  driveStop(decelerationMps2: number = DEFAULT_STOP_DECEL_MPS2): void {
    drive.driveStop(this.#s, decelerationMps2);
  }

  /** The current direction becomes yaw 0; with locator flag bit 0 clear the x/y axes turn too. */
  resetYaw(): void {
    this.#s.yawZeroRad = this.#s.heading;
    if ((this.#s.locatorFlags & 0x01) === 0) this.#s.axesRad = this.#s.heading;
  }

  /** x, y := 0 at the current position (axes unchanged). */
  resetLocator(): void {
    this.#s.originX = this.#s.x;
    this.#s.originY = this.#s.y;
  }

  /** Bit 0 auto_calibrate: keep the x/y axes on reset_yaw. */
  setLocatorFlags(flags: number): void {
    this.#s.locatorFlags = checkInteger("set_locator_flags flags", flags, 0, 255);
  }
  get locatorFlags(): number {
    return this.#s.locatorFlags;
  }

  setControlSystemTimeout(ms: number): void {
    this.#s.timeoutMs = checkInteger(
      "control system timeout",
      ms,
      1,
      65535,
      "give milliseconds; restore_default_control_system_timeout goes back to 2000",
    );
  }
  restoreDefaultControlSystemTimeout(): void {
    this.#s.timeoutMs = this.#s.defaultTimeoutMs;
  }
  get controlTimeoutMs(): number {
    return this.#s.timeoutMs;
  }

  setSlewParameters(p: SlewParameters): void {
    const a = checkFinite("slew a", p.a, "coefficient of v^2 in deg/s");
    const b = checkFinite("slew b", p.b, "coefficient of v in deg/s");
    const c = checkFinite("slew c", p.c, "constant in deg/s");
    const acc = checkFinite("slew linear acceleration", p.linearAcceleration, "give m/s^2");
    if (acc <= 0) {
      throw new RangeError(`slew linear acceleration must be > 0 m/s^2, got ${acc}`);
    }
    if (!SLEW_METHODS.includes(p.method as 0 | 1)) {
      throw new RangeError(
        `slew method must be 0 (constant) or 1 (proportional), got ${p.method}`,
      );
    }
    this.#s.slew = { a, b, c, linearAcceleration: acc, method: p.method };
  }
  getSlewParameters(): SlewParameters {
    return { ...this.#s.slew };
  }
  restoreDefaultSlewParameters(): void {
    this.#s.slew = { ...DEFAULT_SLEW_PARAMETERS };
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
    this.#s.defaults[type] = controllerId;
  }
  getDefaultControlSystem(type: number): number {
    requireType(type);
    return this.#s.defaults[type];
  }
  restoreInitialDefaultControlSystems(): void {
    this.#s.defaults = [...INITIAL_DEFAULT_CONTROLLERS];
  }

  /** IR follow/evade controller: steer toward / away from a world point; null ends it (stop). */
  setInfraredTarget(mode: "follow" | "evade", target: { x: number; y: number } | null): void {
    if (mode !== "follow" && mode !== "evade") {
      throw new RangeError(`infrared mode must be "follow" or "evade", got ${String(mode)}`);
    }
    const d = this.#s.drive;
    if (target === null) {
      if (d.kind === "ir") {
        command(this.#s, { kind: "stop", decelMps2: DEFAULT_STOP_DECEL_MPS2, announced: false });
      }
      return;
    }
    const tx = checkFinite("infrared target x", target.x, "world metres");
    const ty = checkFinite("infrared target y", target.y, "world metres");
    if (d.kind === "ir" && d.mode === mode) {
      d.targetX = tx;
      d.targetY = ty;
      return;
    }
    command(this.#s, { kind: "ir", mode, targetX: tx, targetY: ty });
  }

  /** Magnetometer calibration (controller 9): one full turn in place, then stop. */
  startMagnetometerCalibration(): void {
    command(this.#s, { kind: "mag", turnedRad: 0 });
  }
  get isCalibratingMagnetometer(): boolean {
    return this.#s.drive.kind === "mag";
  }

  /** Stops everything at once and enters the stop controller (no robot_has_stopped event). */
  halt(): void {
    command(this.#s, { kind: "stop", decelMps2: DEFAULT_STOP_DECEL_MPS2, announced: true });
    this.#s.vL = 0;
    this.#s.vR = 0;
    this.#s.linearCmdMps = 0;
    this.#s.aLongMps2 = 0;
    this.#s.aLatMps2 = 0;
    this.#s.yawRateDps = 0;
  }

  /** Test/fault knob: block a tread so it stalls (motor_stall event). */
  setTreadBlocked(side: "left" | "right", blocked: boolean): void {
    if (side !== "left" && side !== "right") {
      throw new RangeError(`tread side must be "left" or "right", got ${String(side)}`);
    }
    this.#s.blocked[side] = blocked;
  }

  /**
   * Test/fault knob: an external rotation (deg/s, body axes), e.g. the robot lifted and spun by
   * hand. z turns the body (heading integrates it); x and y only show in the gyroscope (the
   * attitude model stays level). Exceeding GYRO_RANGE_DPS raises gyro_max. null clears it.
   */
  setExternalRotation(ratesDps: Vec3 | null): void {
    if (ratesDps === null) {
      this.#s.external = { x: 0, y: 0, z: 0 };
      return;
    }
    this.#s.external = {
      x: checkFinite("external rotation x", ratesDps.x, "deg/s"),
      y: checkFinite("external rotation y", ratesDps.y, "deg/s"),
      z: checkFinite("external rotation z", ratesDps.z, "deg/s"),
    };
  }

  // ------------------------------------------------------------------------------- frames

  /** World point of a locator-frame point. */
  locatorToWorld(x: number, y: number): { x: number; y: number } {
    return read.locatorToWorld(this.#s, x, y);
  }
  /** Locator-frame point of a world point. */
  worldToLocator(x: number, y: number): { x: number; y: number } {
    return read.worldToLocator(this.#s, x, y);
  }
  /** Locator yaw (deg) of a world heading (rad). */
  worldHeadingToYawDeg(headingRad: number): number {
    return read.worldHeadingToYawDeg(this.#s, headingRad);
  }

  // ------------------------------------------------------------------------------- physics

  /** Advance the physics by dtMs; returns what happened (events in order). */
  step(dtMs: number): BodyEvent[] {
    return step(this.#s, dtMs);
  }

  // ------------------------------------------------------------------------------- readings

  /** Controller id of sec. 9.4 that is running now. */
  get activeControllerId(): number {
    return read.activeControllerId(this.#s);
  }
  /** Stop controller active and at standstill. */
  get isStopped(): boolean {
    return this.#s.drive.kind === "stop" && this.#s.vL === 0 && this.#s.vR === 0;
  }
  get isMoving(): boolean {
    return this.#s.vL !== 0 || this.#s.vR !== 0 || this.#s.external.z !== 0;
  }
  /** Simulated time since construction (sum of step() arguments), ms. */
  get elapsedMs(): number {
    return this.#s.nowMs;
  }
  /** Locator frame. */
  get pose(): Pose {
    return read.pose(this.#s);
  }
  get worldPose(): { x: number; y: number; headingRad: number } {
    return { x: this.#s.x, y: this.#s.y, headingRad: this.#s.heading };
  }
  /** m/s, locator frame. */
  get velocity(): { x: number; y: number } {
    return read.velocity(this.#s);
  }
  get speedMps(): number {
    return Math.abs((this.#s.vL + this.#s.vR) / 2);
  }
  get treadSpeedMps(): { left: number; right: number } {
    return { left: this.#s.vL, right: this.#s.vR };
  }
  /** i32 ticks (ENCODER_TICKS_PER_METRE), signed, wrapping as i32. */
  get encoders(): { left: number; right: number } {
    return read.encoders(this.#s);
  }
  /** Tread travel in metres since construction (not wrapped). */
  get treadTravelM(): { left: number; right: number } {
    return { left: this.#s.travelL, right: this.#s.travelR };
  }
  get imu(): { pitchDeg: number; rollDeg: number; yawDeg: number } {
    return { pitchDeg: this.#s.pitchDeg, rollDeg: this.#s.rollDeg, yawDeg: this.pose.yawDeg };
  }
  /** g, body frame (x right, y forward, z up); specific force incl. gravity. */
  get accelerometer(): Vec3 {
    return read.accelerometer(this.#s);
  }
  /** deg/s, body frame (small-angle rates; z + = turning left). */
  get gyroscope(): Vec3 {
    return read.gyroscope(this.#s);
  }
  /** Unit quaternion of R = Rz(yaw) * Ry(roll) * Rx(pitch), locator yaw. */
  get quaternion(): Quaternion {
    return read.quaternion(this.#s);
  }
  get motorCurrentA(): { left: number; right: number } {
    return { left: this.#s.currentL, right: this.#s.currentR };
  }
  get isTreadBlocked(): { left: boolean; right: boolean } {
    return { ...this.#s.blocked };
  }
}
