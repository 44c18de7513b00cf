/**
 * Angles: the two conventions the RVR uses, and the one conversion between them. Pure (no Deno,
 * no DOM): the server, the simulator's callers and the dashboard in the browser import it.
 *
 * - **yaw** (the IMU's, `yaw_deg`): right-hand rule, + = left (counter-clockwise seen from
 *   above), 0 = forward at the last reset_yaw, -180..180 as the robot reports it.
 * - **heading** (`drive_with_heading`'s, `heading_deg`): clockwise like a compass, 0 = forward,
 *   90 = right, 270 = left, in [0, 360).
 *
 * docs/protocol.md section 9.4.
 *
 * @module
 */

/** Options of {@link headingFromYaw}. */
export interface HeadingOptions {
  /** Round to this many decimals (0-6); a heading that rounds to 360 is 0. Default: no rounding. */
  decimals?: number;
}

/**
 * The `drive_with_heading` heading, in [0, 360), of an IMU yaw (+ = left): `(360 - yaw) mod 360`.
 * Never -0. RangeError for a yaw that is not a finite number or bad `decimals`.
 */
export function headingFromYaw(yawDeg: number, options: HeadingOptions = {}): number {
  if (typeof yawDeg !== "number" || !Number.isFinite(yawDeg)) {
    throw new RangeError(
      `A yaw must be a finite number of degrees, got ${String(yawDeg)}; pass the IMU's yaw_deg.`,
    );
  }
  let h = (360 - yawDeg) % 360;
  if (h < 0) h += 360;
  const decimals = options.decimals;
  if (decimals !== undefined) {
    if (!Number.isInteger(decimals) || decimals < 0 || decimals > 6) {
      throw new RangeError(
        `decimals must be an integer from 0 to 6, got ${String(decimals)}; e.g. 2 for 0.01 deg.`,
      );
    }
    const f = 10 ** decimals;
    h = Math.round(h * f) / f;
  }
  return h >= 360 || h === 0 ? 0 : h;
}

/**
 * Wraps an angle in degrees to [-180, 180). {@link wrap180} is the same map computed another way
 * (its results can differ in the last bit); the simulator's read-outs use this one, the robot's
 * moves that one, each as its tests pin it bit for bit. Folding them into one is a behaviour change
 * to make with both sides' tests.
 */
export function wrapDeg(deg: number): number {
  const r = (deg + 180) % 360;
  return (r < 0 ? r + 360 : r) - 180;
}

/** The yaw (deg, + = left) that a `drive_with_heading` heading (deg, + = right) asks for. */
export function yawDegOfHeading(headingDeg: number): number {
  return -(headingDeg % 360);
}

/** Degrees into [-180, 180) (never -0): a yaw difference the short way round. */
export function wrap180(deg: number): number {
  const r = ((deg + 180) % 360 + 360) % 360 - 180;
  return r + 0; // -0 -> 0
}

/**
 * The yaw (-180..180, + = left) whose direction is the locator vector (dx, dy): +x right, +y
 * forward at the last reset, so (0, 1) is yaw 0 and (1, 0), to the right, is yaw -90.
 */
export function bearingYaw(dx: number, dy: number): number {
  return wrap180(Math.atan2(-dx, dy) * 180 / Math.PI);
}
