/** The control system type check of the body's commands (other checks: src/core/validate.ts). */
import { checkInteger } from "../../core/mod.ts";
import { CONTROL_SYSTEM_TYPES } from "../../protocol/mod.ts";

export function requireType(type: number): void {
  checkInteger(
    "control system type",
    type,
    0,
    CONTROL_SYSTEM_TYPES.length - 1,
    "0 stop, 1 raw motor, 2 tank, 3 drive with yaw, 4 RC, 5 XY position, 6 infrared, 7 magnetometer",
  );
}
