/**
 * The robot layer's errors: what a caller of the robot (the tool catalog, a script) catches and
 * acts on. Each is a {@link DomainError}: its message says what failed, the value and what to do;
 * its `hint` is what a person or model using the tools is shown. Bad arguments stay built-ins
 * (`RangeError`, `TypeError`).
 *
 * | class | thrown by |
 * |---|---|
 * | {@link NotConnectedError} | the connection (LinkProvider) and everything that needs a link |
 * | {@link RobotNotRespondingError} | connect: the robot never became ready |
 * | {@link EmergencyStopActiveError} | the safety rules: movement while the e-stop is latched |
 * | {@link BatteryCriticalError} | the safety rules: movement on a critical battery |
 * | {@link CancelledByEmergencyStopError} | an emergency stop or shutdown: a movement command still queued, or a move in progress |
 * | {@link MotionStoppedError} | a drive cut short by a stop |
 * | {@link MoveTimeoutError}, {@link MoveFailedError}, {@link MoveCancelledError}, {@link MoveSupersededError} | moves that take time |
 * | {@link StreamConfigurationError} | sensor streaming set-up refused by the robot |
 * | {@link UnexpectedReplyError} | a reply that decodes but does not answer what was asked |
 * | {@link ApprovalRefusedError} | an action that needs a person's accept (RVR_APPROVAL) without it |
 *
 * @module
 */
import { DomainError, TimeoutError } from "../core/mod.ts";
import type { RobotError } from "../link/mod.ts";
import type { NodeId } from "../protocol/mod.ts";
import type { ApprovalAction, ApprovalDecision } from "./safety/approval.ts";
import { describePose } from "./moves/pose.ts";
import type { MoveName, Pose } from "./moves/types.ts";
import { errorMessage } from "../core/errors.ts";

/**
 * The robot is not connected and no connect is in progress (calls wait for one that is, see
 * LinkProvider.awaitLink); the message says what to do.
 */
export class NotConnectedError extends DomainError {
  override name = "NotConnectedError";
  constructor(readonly state: string, detail?: string) {
    const message = `The RVR is not connected (state: ${state})${detail ? `: ${detail}` : ""}. ` +
      "Call connect and try again.";
    super(message, { hint: `not connected: call connect. (${message})` });
  }
}

/** The robot did not become ready in time; the message says what was heard and what to check. */
export class RobotNotRespondingError extends DomainError {
  override name = "RobotNotRespondingError";
  constructor(
    readonly portPath: string,
    readonly timeoutMs: number,
    readonly lastError: unknown,
    readonly heardAnything: boolean,
  ) {
    super(
      heardAnything
        ? `The RVR on ${portPath} answered but did not become ready within ${timeoutMs} ms ` +
          `(last error: ${errorMessage(lastError)}). Check the battery and try again.`
        : `No answer from an RVR on ${portPath} within ${timeoutMs} ms. Check that the robot is ` +
          `switched on and awake (press its power button), that TX/RX are crossed (Pi pin 8 -> RVR ` +
          `RX, pin 10 <- RVR TX, pin 6 GND), that ${portPath} is the UART (on a Raspberry Pi: ` +
          `/dev/serial0 with the serial console disabled in raspi-config), and that the RVR ` +
          `firmware has its UART enabled (factory firmware keeps it off until the robot is updated ` +
          `once with the Sphero EDU app).`,
    );
  }
}

/** Movement refused because the battery voltage state is critical. */
export class BatteryCriticalError extends DomainError {
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

/**
 * A queued movement command was thrown away by an emergency stop (the queue's emergency path
 * rejects it with this, see command_policy.ts), or a move in progress was ended by one. The
 * message is exactly "cancelled by emergency stop" (callers and tests match on it);
 * `commandName` says which one. To move again, release the e-stop first, then resend the command.
 */
export class CancelledByEmergencyStopError extends DomainError {
  override name = "CancelledByEmergencyStopError";
  readonly commandName: string;

  constructor(commandName: string) {
    super("cancelled by emergency stop", {
      hint: "cancelled by emergency stop: an emergency stop was triggered before this command " +
        "ran. Call clear_emergency_stop when it is safe, then send the command again.",
    });
    this.commandName = commandName;
  }
}

/** A move (e.g. a distance drive) ended because the robot was stopped. */
export class MotionStoppedError extends DomainError {
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

/** The move did not finish within its derived timeout; the robot was stopped. */
export class MoveTimeoutError extends TimeoutError {
  override name = "MoveTimeoutError";
  readonly move: MoveName;
  /** Last measured pose, or null when none was measured. */
  readonly pose: Pose | null;

  constructor(move: MoveName, timeoutMs: number, detail: string, pose: Pose | null) {
    const message = `${move} did not finish within ${(timeoutMs / 1000).toFixed(1)} s ` +
      `(${detail}); the robot was stopped${pose ? ` at ${describePose(pose)}` : ""}. Check for ` +
      `obstacles or a blocked tread, then try again.`;
    super(message, timeoutMs, { hint: message });
    this.move = move;
    this.pose = pose;
  }
}

/** The firmware's position controller ended the drive without success. */
export class MoveFailedError extends DomainError {
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
export class MoveCancelledError extends DomainError {
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
export class MoveSupersededError extends DomainError {
  override name = "MoveSupersededError";
  readonly move: MoveName;
  readonly by: MoveName;

  constructor(move: MoveName, by: MoveName) {
    const message = `${move} was replaced by ${by} before it finished.`;
    super(message, {
      hint: `${message} Only one move runs at a time; wait for a move to finish before sending ` +
        "the next.",
    });
    this.move = move;
    this.by = by;
  }
}

/** The robot refused a streaming command (e.g. a service its firmware does not stream). */
export class StreamConfigurationError extends DomainError {
  override name = "StreamConfigurationError";
  /** The command that was refused, e.g. "configure_streaming_service". */
  readonly command: string;
  readonly node: NodeId;

  constructor(command: string, node: NodeId, what: string, cause: RobotError) {
    super(
      `Sensor streaming could not be set up: the robot refused ${command} to node ${node} ` +
        `(${what}) with ${cause.message}. Streaming is now off; start again without the sensors ` +
        `of that slot (speed may not be supported by this firmware).`,
      { cause },
    );
    this.command = command;
    this.node = node;
  }
}

/**
 * A reply decoded but does not answer what was asked (e.g. temperatures of other sensors than
 * requested): the firmware differs from docs/protocol.md.
 */
export class UnexpectedReplyError extends DomainError {
  override name = "UnexpectedReplyError";
  /** The command whose reply was unexpected. */
  readonly command: string;

  constructor(command: string, detail: string) {
    super(
      `${command} answered ${detail}; the firmware may differ from docs/protocol.md section 9.5. ` +
        "Report it with the robot's firmware versions (get_system_info).",
    );
    this.command = command;
  }
}

/** Movement refused because the emergency stop is latched (raised by the safety layer). */
export class EmergencyStopActiveError extends DomainError {
  override name = "EmergencyStopActiveError";
  readonly commandName: string;
  /** Why the e-stop was latched. */
  readonly reason: string;
  /** Epoch milliseconds when it was latched. */
  readonly latchedAt: number;

  constructor(commandName: string, reason: string, latchedAt: number) {
    super(
      `emergency stop is active: call clear_emergency_stop first (${commandName} refused; ` +
        `latched at ${new Date(latchedAt).toISOString()}: ${reason}).`,
    );
    this.commandName = commandName;
    this.reason = reason;
    this.latchedAt = latchedAt;
  }
}

/** The start of the message of every `EmergencyStopActiveError` the safety layer throws. */
export const ESTOP_ACTIVE_MESSAGE = "emergency stop is active: call clear_emergency_stop first";

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

/**
 * Why an action that needs a person's approval did not get it: they declined, dismissed the
 * question (cancel), the client cannot ask a person (unavailable), or asking failed.
 */
export type ApprovalRefusal = Exclude<ApprovalDecision, "accept"> | "unavailable" | "failed";

/**
 * An action that needs a person's accept (RVR_APPROVAL) was not done, because it did not get it.
 * `what` names the action with its values; `wayOut` says how it can still be done (for
 * "unavailable": the dashboard, or the setting that allows it). Nothing was changed.
 */
export class ApprovalRefusedError extends DomainError {
  override name = "ApprovalRefusedError";

  constructor(
    readonly action: ApprovalAction,
    readonly refusal: ApprovalRefusal,
    what: string,
    wayOut: string,
    options: { cause?: unknown } = {},
  ) {
    const why = {
      decline: "the person declined",
      cancel: "the person dismissed the question without accepting",
      unavailable: "this client cannot ask a person (it did not declare elicitation)",
      failed: `asking the person failed (${errorMessage(options.cause)})`,
    }[refusal];
    const next = refusal === "decline" || refusal === "cancel"
      ? "Do not retry unasked: ask the person what they want."
      : wayOut;
    super(
      `${what} needs a person's approval (RVR_APPROVAL: ${action}), and ${why}: nothing was ` +
        `changed. ${next}`,
      options,
    );
  }
}
