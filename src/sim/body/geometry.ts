/**
 * Geometry of the body model. Frames (all right-handed):
 * - World frame: metres, headings in radians, counter-clockwise (left) positive, heading 0 = +y.
 *   A robot with heading h drives along (-sin h, cos h).
 * - Locator frame (what the robot reports): origin and axes taken at reset_locator / reset_yaw, +x
 *   right, +y forward at reset, yaw in degrees (+ = CCW/left), reported in [-180, 180).
 * - Body frame (IMU): x right, y forward (nose), z up.
 * - Attitude: yaw (about z), roll (about the body y axis, + = right side down, range +-90) and pitch
 *   (about the body x axis, + = nose up, range +-180), composed R = Rz(yaw) * Ry(roll) * Rx(pitch),
 *   so roll is the middle Euler angle, matching the IMU ranges of sec. 10.2.
 */

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

/** Radians per degree. */
export const DEG = Math.PI / 180;

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
export const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
export const approach = (current: number, target: number, maxDelta: number): number => {
  const d = target - current;
  return Math.abs(d) <= maxDelta ? target : current + Math.sign(d) * maxDelta;
};
