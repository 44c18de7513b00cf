/**
 * Reading the telemetry state for display: defensive dotted-path getters (the state comes off the
 * wire) and the derived values the page shows. Pure (no DOM).
 *
 * @module
 */
import { headingFromYaw } from "../../protocol/angles.ts";

/** The degree sign. */
export const DEG = "\u00b0";

/** The value at a dotted path of `obj`, or undefined. */
export function get(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** The finite number at a dotted path of `obj`, or null. */
export function num(obj: unknown, dotted: string): number | null {
  const v = get(obj, dotted);
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** `v` with `digits` decimals and a unit, or "-" for null. */
export function fmt(v: number | null, digits: number, unit = ""): string {
  return v === null ? "-" : v.toFixed(digits) + unit;
}

/** The heading (0 forward, 90 right): the state's, else derived from its yaw. */
export function headingOf(s: unknown): number | null {
  const h = num(s, "pose.heading_deg");
  if (h !== null) return h;
  const yaw = num(s, "pose.yaw_deg") ?? num(s, "imu.yaw_deg");
  return yaw === null ? null : headingFromYaw(yaw);
}

/** The yaw (+ = left): the pose's, the IMU's, else the negated heading. */
export function yawOf(s: unknown): number | null {
  const yaw = num(s, "pose.yaw_deg") ?? num(s, "imu.yaw_deg");
  if (yaw !== null) return yaw;
  const h = num(s, "pose.heading_deg");
  return h === null ? null : -h;
}

/** The speed: the state's, else the length of its velocity. */
export function speedOf(s: unknown): number | null {
  const v = num(s, "speed_mps");
  if (v !== null) return v;
  const vx = num(s, "velocity.x_mps");
  const vy = num(s, "velocity.y_mps");
  return vx === null || vy === null ? null : Math.sqrt(vx * vx + vy * vy);
}

/** True when `changes` (a delta's; null = a full frame) touches `prefix` or a path under it. */
export function touches(changes: Record<string, unknown> | null, prefix: string): boolean {
  if (changes === null) return true;
  for (const k in changes) {
    if (k === prefix || k.startsWith(prefix + ".")) return true;
  }
  return false;
}
