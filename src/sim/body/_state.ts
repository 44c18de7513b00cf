/**
 * The mutable state of one RVR body, shared by its control laws (control.ts), its integration
 * (integration.ts) and its read-outs (readouts.ts). Only RvrBody owns one.
 */
import {
  DEFAULT_CONTROL_TIMEOUT_MS,
  DEFAULT_SLEW_PARAMETERS,
  DEFAULT_STOP_DECEL_MPS2,
  INITIAL_DEFAULT_CONTROLLERS,
  type SlewParameters,
} from "./constants.ts";
import { checkFinite, checkInteger } from "../../core/mod.ts";
import { type Vec3, wrapRad } from "./geometry.ts";

export type BodyEvent =
  | { type: "xy_position_drive_result"; success: boolean }
  | { type: "robot_has_stopped" }
  | { type: "motor_stall"; motorIndex: 0 | 1; isTriggered: boolean }
  | { type: "gyro_max"; flags: number };

export interface BodyOptions {
  /** Default control-system timeout (ms) after which a drive controller stops: 2000. */
  controlTimeoutMs?: number;
  /** Initial world pose. */
  worldPose?: { x: number; y: number; headingRad?: number };
}

/** The running drive controller and its own state. */
export type Drive =
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

export interface StallState {
  blockedMs: number;
  triggered: boolean;
}

export interface BodyState {
  // World pose.
  x: number;
  y: number;
  heading: number;
  // Locator frame: origin (world), world heading of the locator +y axis, world heading of yaw 0.
  originX: number;
  originY: number;
  axesRad: number;
  yawZeroRad: number;
  locatorFlags: number;
  // Treads.
  vL: number;
  vR: number;
  travelL: number;
  travelR: number;
  blocked: { left: boolean; right: boolean };
  stall: [StallState, StallState];
  currentL: number;
  currentR: number;
  // IMU.
  aLongMps2: number;
  aLatMps2: number;
  pitchDeg: number;
  rollDeg: number;
  pitchRateDps: number;
  rollRateDps: number;
  yawRateDps: number;
  external: Vec3;
  gyroMaxFlags: number;
  // Control.
  drive: Drive;
  linearCmdMps: number;
  nowMs: number;
  lastCommandMs: number;
  defaultTimeoutMs: number;
  timeoutMs: number;
  slew: SlewParameters;
  defaults: number[];
  /** Events raised between steps (a replaced XY drive), handed out by the next step. */
  pending: BodyEvent[];
}

/** A body at rest at `options.worldPose`, its locator frame and yaw zero taken there. */
export function createBodyState(options: BodyOptions): BodyState {
  const timeout = options.controlTimeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS;
  checkInteger("controlTimeoutMs", timeout, 1, 65535, "use 1..65535 ms (default 2000)");
  const p = options.worldPose ?? { x: 0, y: 0 };
  const x = checkFinite("worldPose.x", p.x, "give metres");
  const y = checkFinite("worldPose.y", p.y, "give metres");
  const heading = wrapRad(checkFinite("worldPose.headingRad", p.headingRad ?? 0, "radians"));
  return {
    x,
    y,
    heading,
    originX: x,
    originY: y,
    axesRad: heading,
    yawZeroRad: heading,
    locatorFlags: 0,
    vL: 0,
    vR: 0,
    travelL: 0,
    travelR: 0,
    blocked: { left: false, right: false },
    stall: [
      { blockedMs: 0, triggered: false },
      { blockedMs: 0, triggered: false },
    ],
    currentL: 0,
    currentR: 0,
    aLongMps2: 0,
    aLatMps2: 0,
    pitchDeg: 0,
    rollDeg: 0,
    pitchRateDps: 0,
    rollRateDps: 0,
    yawRateDps: 0,
    external: { x: 0, y: 0, z: 0 },
    gyroMaxFlags: 0,
    drive: { kind: "stop", decelMps2: DEFAULT_STOP_DECEL_MPS2, announced: true },
    linearCmdMps: 0,
    nowMs: 0,
    lastCommandMs: 0,
    defaultTimeoutMs: timeout,
    timeoutMs: timeout,
    slew: { ...DEFAULT_SLEW_PARAMETERS },
    defaults: [...INITIAL_DEFAULT_CONTROLLERS],
    pending: [],
  };
}
