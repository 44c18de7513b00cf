/**
 * What a fleet call can fail with, as one {@link FleetError} with a {@link FleetErrorCode} and the
 * hint a teacher needs (the gateway's tools show the hint; `call_robots` reports code and hint per
 * robot).
 *
 * @module
 */
import { DomainError } from "../core/mod.ts";

export const FLEET_ERROR_CODES = [
  /** The id is not a robot of the fleet. */
  "robot_unknown",
  /** The robot was there but has gone silent. */
  "robot_offline",
  /** The robot did not answer in time. */
  "timeout",
  /** Calls to this robot fail fast after repeated timeouts, until a ping succeeds. */
  "circuit_open",
  /** The robot answered with an error (its own hint is the message). */
  "robot_error",
  /** The gateway has no connection to the broker. */
  "broker_unreachable",
] as const;
export type FleetErrorCode = typeof FLEET_ERROR_CODES[number];

/** A fleet call failed; `code` says how, `hint` what to do. */
export class FleetError extends DomainError {
  override name = "FleetError";
  readonly code: FleetErrorCode;
  /** The robot the call was for, when there was one. */
  readonly robot: string | undefined;

  constructor(
    code: FleetErrorCode,
    message: string,
    options: { robot?: string; hint?: string; cause?: unknown } = {},
  ) {
    const { robot, ...rest } = options;
    super(message, rest.hint === undefined ? { cause: rest.cause } : rest);
    this.code = code;
    this.robot = robot;
  }
}
