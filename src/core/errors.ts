/**
 * The runtime core's own error classes: only what callers catch and act on. Bad arguments use the
 * built-ins (`RangeError`, `TypeError`). Every message says what failed, the value, and what to do.
 *
 * | class | thrown by | carries |
 * |---|---|---|
 * | {@link TimeoutError} | `withTimeout` | `timeoutMs` |
 * | {@link CommandTimeoutError} (a `TimeoutError`) | `CommandQueue` | `commandName`, `timeoutMs`, `phase` |
 * | {@link QueueFullError} | `CommandQueue.enqueue` | `commandName`, `capacity`, `depth` |
 * | {@link QueueClosedError} | `CommandQueue.close` / enqueue after close | `commandName`, `reason` |
 * | {@link QueueDrainedError} | `CommandQueue.drain` | `commandName`, `reason` |
 * | {@link CancelledByEmergencyStopError} | `CommandQueue.emergency` | `commandName` |
 * | {@link CircuitOpenError} | `CircuitBreaker.execute` | `retryInMs`, `nextProbeAt` |
 * | {@link IllegalTransitionError} | `StateStore.transition` | `from`, `to`, `allowed` |
 * | {@link EmergencyStopActiveError} | the safety layer (src/robot) | `commandName`, `reason`, `latchedAt` |
 *
 * A superseded command is not an error: it resolves with a `Superseded` value (see command_queue.ts).
 *
 * @module
 */

/** An operation did not settle within its time budget. `name` is "TimeoutError", as for DOM timeouts. */
/** A setting is wrong: the program says which and how to fix it, and exits 2 (no restart helps). */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly exitCode = 2;
}

export class TimeoutError extends Error {
  override name = "TimeoutError";
  /** The budget that ran out, in milliseconds. */
  readonly timeoutMs: number;

  constructor(message: string, timeoutMs: number, options?: ErrorOptions) {
    super(message, options);
    this.timeoutMs = timeoutMs;
  }
}

/** Where a command was when its time ran out. */
export const COMMAND_TIMEOUT_PHASES = ["queued", "running"] as const;
export type CommandTimeoutPhase = typeof COMMAND_TIMEOUT_PHASES[number];

/** A queued command's timeout (which covers waiting and running) ran out. */
export class CommandTimeoutError extends TimeoutError {
  override name = "CommandTimeoutError";
  readonly commandName: string;
  /** "queued" if it never started, "running" if the executor was aborted. */
  readonly phase: CommandTimeoutPhase;

  constructor(commandName: string, timeoutMs: number, phase: CommandTimeoutPhase) {
    const where = phase === "queued"
      ? "while still queued behind other commands"
      : "while waiting for its reply";
    super(
      `Command "${commandName}" timed out after ${timeoutMs} ms ${where}; ` +
        `the robot may be busy, asleep or disconnected: check the link, or pass a larger timeoutMs.`,
      timeoutMs,
    );
    this.commandName = commandName;
    this.phase = phase;
  }
}

/** The command queue is at capacity; the new command was refused at once, nothing was dropped. */
export class QueueFullError extends Error {
  override name = "QueueFullError";
  readonly commandName: string;
  readonly capacity: number;
  readonly depth: number;

  constructor(commandName: string, capacity: number, depth: number) {
    super(
      `Command queue is full (${depth} of ${capacity} queued); "${commandName}" was refused. ` +
        `Wait for queued commands to finish, send fewer at a time, or raise the queue capacity.`,
    );
    this.commandName = commandName;
    this.capacity = capacity;
    this.depth = depth;
  }
}

/** The command queue was closed before (or while) the command ran. */
export class QueueClosedError extends Error {
  override name = "QueueClosedError";
  readonly commandName: string;
  /** Why the queue was closed, as given to `close(reason)`. */
  readonly reason: string;

  constructor(commandName: string, reason: string) {
    super(
      `Command "${commandName}" was not completed: the command queue is closed (${reason}). ` +
        `Reconnect to the robot to get a new queue, then retry.`,
    );
    this.commandName = commandName;
    this.reason = reason;
  }
}

/** The command was still queued when the queue was drained (e.g. the link was lost). */
export class QueueDrainedError extends Error {
  override name = "QueueDrainedError";
  readonly commandName: string;
  /** Why the queue was drained, as given to `drain(reason)`. */
  readonly reason: string;

  constructor(commandName: string, reason: string) {
    super(
      `Command "${commandName}" was not run: the command queue was drained (${reason}). ` +
        `Retry it once the robot is reachable again.`,
    );
    this.commandName = commandName;
    this.reason = reason;
  }
}

/**
 * A queued movement command was thrown away by an emergency stop. The message is exactly
 * "cancelled by emergency stop" (callers and tests match on it); `commandName` says which one.
 * To move again, release the e-stop first, then resend the command.
 */
export class CancelledByEmergencyStopError extends Error {
  override name = "CancelledByEmergencyStopError";
  readonly commandName: string;

  constructor(commandName: string) {
    super("cancelled by emergency stop");
    this.commandName = commandName;
  }
}

/** The circuit breaker is open (or probing): the call was refused at once without running. */
export class CircuitOpenError extends Error {
  override name = "CircuitOpenError";
  /** Milliseconds until the next probe may close the circuit (while probing: until its deadline). */
  readonly retryInMs: number;
  /** Epoch milliseconds of the next probe (or of the running probe's deadline). */
  readonly nextProbeAt: number;

  constructor(
    circuitName: string,
    retryInMs: number,
    nextProbeAt: number,
    detail: string,
    probing = false,
  ) {
    const when = probing
      ? `a probe is running and decides within ${retryInMs} ms`
      : `the next probe is in ${retryInMs} ms (at ${new Date(nextProbeAt).toISOString()})`;
    super(
      `Circuit "${circuitName}" is open (${detail}); ${when}. ` +
        `Retry after that, and check the robot's power and cable meanwhile.`,
    );
    this.retryInMs = retryInMs;
    this.nextProbeAt = nextProbeAt;
  }
}

/** A state change that the transition table does not allow. Thrown; it is a bug in the caller. */
export class IllegalTransitionError extends Error {
  override name = "IllegalTransitionError";
  readonly from: string;
  readonly to: string;
  readonly allowed: readonly string[];

  constructor(machine: string, from: string, to: string, allowed: readonly string[]) {
    const targets = allowed.length > 0 ? allowed.map((s) => `"${s}"`).join(", ") : "none";
    super(
      `Illegal ${machine} transition "${from}" -> "${to}"; from "${from}" the allowed targets are ` +
        `${targets}. Go through one of those states first.`,
    );
    this.from = from;
    this.to = to;
    this.allowed = allowed;
  }
}

/** Movement refused because the emergency stop is latched (raised by the safety layer). */
export class EmergencyStopActiveError extends Error {
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
