/**
 * Movement tools: continuous drives (drive_with_heading, drive_tank, drive_rc, drive_raw_motors:
 * movement_drives.ts), moves that take time (drive_to_position, drive_forward, drive_backward,
 * pivot: progress notifications, stop on cancellation; movement_moves.ts), stops (stop,
 * emergency_stop, clear_emergency_stop: movement_stops.ts) and the reference frame (reset_yaw,
 * reset_locator: movement_frame.ts), listed in that order.
 *
 * @module
 */
import { driveRawMotors, driveRc, driveTank, driveWithHeading } from "./movement_drives.ts";
import { resetLocator, resetYaw } from "./movement_frame.ts";
import { driveBackward, driveForward, driveToPosition, pivot } from "./movement_moves.ts";
import { clearEmergencyStop, emergencyStop, stop } from "./movement_stops.ts";

export { MOVEMENT_RULES, moveResultShape, moveResultView } from "./movement_drives.ts";

export const MOVEMENT_TOOLS = [
  driveWithHeading,
  driveTank,
  driveRc,
  driveRawMotors,
  driveToPosition,
  driveForward,
  driveBackward,
  pivot,
  stop,
  emergencyStop,
  clearEmergencyStop,
  resetYaw,
  resetLocator,
] as const;
