/**
 * The robot layer's own errors: a move ended by a stop, movement refused on a critical battery,
 * and the safety layer's wording of the e-stop refusal.
 *
 * @module
 */
import { EmergencyStopActiveError } from "../core/mod.ts";

/** The start of the message of every `EmergencyStopActiveError` the safety layer throws. */
export const ESTOP_ACTIVE_MESSAGE = "emergency stop is active: call clear_emergency_stop first";

/** A move (e.g. a distance drive) ended because the robot was stopped. */
export class MotionStoppedError extends Error {
  override name = "MotionStoppedError";
  /** What stopped it: "stop", "watchdog", "stall", "emergency_stop", "disconnect", ... */
  readonly reason: string;

  constructor(reason: string) {
    super(
      `The move was cancelled: the robot was stopped (${reason}). Send a new movement command ` +
        `when it is safe to continue.`,
    );
    this.reason = reason;
  }
}

/** Movement refused because the battery voltage state is critical. */
export class BatteryCriticalError extends Error {
  override name = "BatteryCriticalError";
  readonly commandName: string;
  /** Last known charge 0-100, or null. */
  readonly batteryPercent: number | null;

  constructor(commandName: string, batteryPercent: number | null) {
    const charge = batteryPercent === null ? "" : ` (${batteryPercent} % left)`;
    super(
      `battery is critical: command "${commandName}" was refused${charge}. Driving on a critical ` +
        `battery can brown the robot out mid-move. Charge or swap the battery; movement is ` +
        `allowed again as soon as the robot reports the battery state is no longer critical.`,
    );
    this.commandName = commandName;
    this.batteryPercent = batteryPercent;
  }
}

/** The e-stop error with the safety layer's message (the tool to call comes first). */
export function emergencyStopError(
  commandName: string,
  reason: string,
  latchedAt: number,
): EmergencyStopActiveError {
  const error = new EmergencyStopActiveError(commandName, reason, latchedAt);
  error.message = `${ESTOP_ACTIVE_MESSAGE}: command "${commandName}" was refused (latched at ` +
    `${new Date(latchedAt).toISOString()}: ${reason}). Clearing it does not resume anything; ` +
    `send the movement again afterwards.`;
  return error;
}
