/**
 * Why a move did not arrive: it ran out of time, the firmware's position controller gave up, the
 * caller cancelled it, or a newer move replaced it. Each names the move and, when measured, the
 * pose. (A stop from anywhere ends a move with that stop's own error: MotionStoppedError,
 * CancelledByEmergencyStopError.)
 *
 * @module
 */
import { TimeoutError } from "../../core/mod.ts";
import { describePose, type Pose } from "./pose.ts";
import type { MoveName } from "./types.ts";

/** The move did not finish within its derived timeout; the robot was stopped. */
export class MoveTimeoutError extends TimeoutError {
  override name = "MoveTimeoutError";
  readonly move: MoveName;
  /** Last measured pose, or null when none was measured. */
  readonly pose: Pose | null;

  constructor(move: MoveName, timeoutMs: number, detail: string, pose: Pose | null) {
    super(
      `${move} did not finish within ${(timeoutMs / 1000).toFixed(1)} s (${detail}); the robot ` +
        `was stopped${pose ? ` at ${describePose(pose)}` : ""}. Check for obstacles or a ` +
        `blocked tread, then try again.`,
      timeoutMs,
    );
    this.move = move;
    this.pose = pose;
  }
}

/** The firmware's position controller ended the drive without success. */
export class MoveFailedError extends Error {
  override name = "MoveFailedError";
  readonly move: MoveName;
  readonly pose: Pose | null;

  constructor(move: MoveName, detail: string, pose: Pose | null) {
    super(
      `${move} ended without reaching its target: ${detail}${
        pose ? `; the robot is at ${describePose(pose)}` : ""
      }. Send the move again when nothing else is driving the robot.`,
    );
    this.move = move;
    this.pose = pose;
  }
}

/** The caller cancelled the move (options.signal); the robot was stopped. */
export class MoveCancelledError extends Error {
  override name = "MoveCancelledError";
  readonly move: MoveName;
  readonly reason: unknown;

  constructor(move: MoveName, reason: unknown, pose: Pose | null) {
    super(
      `${move} was cancelled by the caller${
        reason instanceof Error ? ` (${reason.message})` : ""
      }; the robot was stopped${pose ? ` at ${describePose(pose)}` : ""}.`,
    );
    this.move = move;
    this.reason = reason;
  }
}

/** A newer move replaced this one before it finished. */
export class MoveSupersededError extends Error {
  override name = "MoveSupersededError";
  readonly move: MoveName;
  readonly by: MoveName;

  constructor(move: MoveName, by: MoveName) {
    super(`${move} was replaced by ${by} before it finished.`);
    this.move = move;
    this.by = by;
  }
}
