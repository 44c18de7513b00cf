/**
 * What the body's sensors and locator report, read from its state. Body frame (IMU): x right,
 * y forward (nose), z up. Accelerometer in g, specific force, so a level robot at rest reads
 * (0, 0, 1). Gyroscope in deg/s about those axes (z + = turning left). The quaternion is the
 * rotation R = Rz(yaw) * Ry(roll) * Rx(pitch) (body to locator-level frame).
 *
 * Locator frame: reset_yaw with locator flag bit 0 clear turns the locator axes about the current
 * locator origin, so x/y values change with the new axes; reset_locator moves the origin only.
 */
import { wrapDeg } from "../../protocol/mod.ts";
import { ENCODER_TICKS_PER_METRE, STANDARD_GRAVITY_MPS2 } from "./constants.ts";
import { CONTROLLER_OF_KIND } from "./control.ts";
import {
  DEG,
  levelToBody,
  type Pose,
  type Quaternion,
  quaternionFromYawRollPitch,
  rotate,
  type Vec3,
} from "./geometry.ts";
import type { BodyState } from "./_state.ts";

/** World point of a locator-frame point. */
export function locatorToWorld(s: BodyState, x: number, y: number): { x: number; y: number } {
  const r = rotate(x, y, s.axesRad);
  return { x: s.originX + r.x, y: s.originY + r.y };
}
/** Locator-frame point of a world point. */
export function worldToLocator(s: BodyState, x: number, y: number): { x: number; y: number } {
  return rotate(x - s.originX, y - s.originY, -s.axesRad);
}
/** Locator yaw (deg) of a world heading (rad). */
export function worldHeadingToYawDeg(s: BodyState, headingRad: number): number {
  return wrapDeg((headingRad - s.yawZeroRad) / DEG);
}

/** Controller id of sec. 9.4 that is running now. */
export function activeControllerId(s: BodyState): number {
  const d = s.drive;
  return d.kind === "yaw" || d.kind === "rc" ? d.id : CONTROLLER_OF_KIND[d.kind];
}

/** Locator frame. */
export function pose(s: BodyState): Pose {
  const p = worldToLocator(s, s.x, s.y);
  return { x: p.x, y: p.y, yawDeg: worldHeadingToYawDeg(s, s.heading) };
}

/** m/s, locator frame. */
export function velocity(s: BodyState): { x: number; y: number } {
  const v = (s.vL + s.vR) / 2;
  return rotate(-Math.sin(s.heading) * v, Math.cos(s.heading) * v, -s.axesRad);
}

/** i32 ticks (ENCODER_TICKS_PER_METRE), signed, wrapping as i32. */
export function encoders(s: BodyState): { left: number; right: number } {
  return {
    left: Math.round(s.travelL * ENCODER_TICKS_PER_METRE) | 0,
    right: Math.round(s.travelR * ENCODER_TICKS_PER_METRE) | 0,
  };
}

/** g, body frame (x right, y forward, z up); specific force incl. gravity. */
export function accelerometer(s: BodyState): Vec3 {
  const f = levelToBody(
    { x: s.aLatMps2, y: s.aLongMps2, z: STANDARD_GRAVITY_MPS2 },
    s.pitchDeg,
    s.rollDeg,
  );
  // "+ 0" turns -0 into 0 for tidy readings.
  return {
    x: f.x / STANDARD_GRAVITY_MPS2 + 0,
    y: f.y / STANDARD_GRAVITY_MPS2 + 0,
    z: f.z / STANDARD_GRAVITY_MPS2 + 0,
  };
}

/** deg/s, body frame (small-angle rates; z + = turning left). */
export function gyroscope(s: BodyState): Vec3 {
  return {
    x: s.pitchRateDps + s.external.x,
    y: s.rollRateDps + s.external.y,
    z: s.yawRateDps,
  };
}

/** Unit quaternion of R = Rz(yaw) * Ry(roll) * Rx(pitch), locator yaw. */
export function quaternion(s: BodyState): Quaternion {
  return quaternionFromYawRollPitch(pose(s).yawDeg, s.rollDeg, s.pitchDeg);
}
