/** Range checks of the body's commands: RangeError naming the value, the range and a hint. */
import { CONTROL_SYSTEM_TYPES } from "../../protocol/mod.ts";

export function requireFinite(name: string, value: number, hint: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new RangeError(`${name} must be a finite number, got ${value}; ${hint}`);
  }
  return value;
}
export function requireInt(
  name: string,
  value: number,
  min: number,
  max: number,
  hint = "",
): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `${name} must be an integer in ${min}..${max}, got ${value}${hint ? `; ${hint}` : ""}`,
    );
  }
  return value;
}

export function requireType(type: number): void {
  requireInt(
    "control system type",
    type,
    0,
    CONTROL_SYSTEM_TYPES.length - 1,
    "0 stop, 1 raw motor, 2 tank, 3 drive with yaw, 4 RC, 5 XY position, 6 infrared, 7 magnetometer",
  );
}
