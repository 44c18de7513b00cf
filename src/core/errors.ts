/**
 * The runtime core's own error classes: only what callers catch and act on. Bad arguments use the
 * built-ins (`RangeError`, `TypeError`): past the boundary that validates them (the tool catalog's
 * schemas, the protocol encoder) they are bugs. Every message says what failed, the value, and
 * what to do.
 *
 * {@link DomainError} is the base of every error a caller should see (here, in src/link and in
 * src/robot/errors.ts): besides the message it carries a `hint`, the text a person or a model
 * using the robot is shown (the cause first, then the way out). Adapters (MCP, NATS) turn a
 * `DomainError` into an error result with that hint; anything else that is thrown is a bug.
 *
 * | class | thrown by | carries |
 * |---|---|---|
 * | {@link DomainError} | the base of all below but IllegalTransitionError and ConfigError | `hint` |
 * | {@link TimeoutError} | `withTimeout` | `timeoutMs` |
 * | {@link CommandTimeoutError} (a `TimeoutError`) | `CommandQueue` | `commandName`, `timeoutMs`, `phase` |
 * | {@link QueueFullError} | `CommandQueue.enqueue` | `commandName`, `capacity`, `depth` |
 * | {@link QueueClosedError} | `CommandQueue.close` / enqueue after close | `commandName`, `reason` |
 * | {@link CircuitOpenError} | `CircuitBreaker.execute` | `retryInMs`, `nextProbeAt` |
 * | {@link IllegalTransitionError} | `StateStore.transition` | `from`, `to`, `allowed` |
 *
 * A superseded command is not an error: it resolves with a `Superseded` value (see command_queue.ts).
 * What a queued command that an emergency cancels is rejected with is the caller's to say
 * (`CommandQueue.emergency`'s `cancel`; the robot's is in src/robot/errors.ts).
 *
 * @module
 */

/** What a {@link DomainError} takes besides its message. */
export interface DomainErrorOptions extends ErrorOptions {
  /** What the caller is shown; default: the message (which already says what to do). */
  hint?: string;
}

/**
 * An error a caller should see and can act on: the robot refused, did not answer, is not
 * connected, the e-stop is latched, ... `message` says what failed, the value and what to do;
 * `hint` is what a person or a model using the robot is shown: the cause first, then the way out
 * in the terms of the tools (connect, clear_emergency_stop). Subclasses set `name`.
 */
export class DomainError extends Error {
  override name = "DomainError";
  /** What the caller is shown: the cause first, then what to do. */
  readonly hint: string;

  constructor(message: string, options: DomainErrorOptions = {}) {
    const { hint, ...errorOptions } = options;
    super(message, errorOptions);
    this.hint = hint ?? message;
  }
}

/** A setting is wrong: the program says which and how to fix it, and exits 2 (no restart helps). */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly exitCode = 2;
}

/**
 * An operation did not settle within its time budget. `name` is "TimeoutError", as for DOM
 * timeouts. Its hint is "timed out: " and the message, unless the subclass gives its own.
 */
export class TimeoutError extends DomainError {
  override name = "TimeoutError";
  /** The budget that ran out, in milliseconds. */
  readonly timeoutMs: number;

  constructor(message: string, timeoutMs: number, options: DomainErrorOptions = {}) {
    super(message, { ...options, hint: options.hint ?? `timed out: ${message}` });
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
        `the device may be busy, asleep or disconnected: check the link, or pass a larger timeoutMs.`,
      timeoutMs,
    );
    this.commandName = commandName;
    this.phase = phase;
  }
}

/** The command queue is at capacity; the new command was refused at once, nothing was dropped. */
export class QueueFullError extends DomainError {
  override name = "QueueFullError";
  readonly commandName: string;
  readonly capacity: number;
  readonly depth: number;

  constructor(commandName: string, capacity: number, depth: number) {
    const message = `Command queue is full (${depth} of ${capacity} queued); "${commandName}" ` +
      `was refused. Wait for queued commands to finish, send fewer at a time, or raise the queue ` +
      `capacity.`;
    super(message, { hint: `too many commands waiting: ${message}` });
    this.commandName = commandName;
    this.capacity = capacity;
    this.depth = depth;
  }
}

/** The command queue was closed before (or while) the command ran. */
export class QueueClosedError extends DomainError {
  override name = "QueueClosedError";
  readonly commandName: string;
  /** Why the queue was closed, as given to `close(reason)`. */
  readonly reason: string;

  constructor(commandName: string, reason: string) {
    super(
      `Command "${commandName}" was not completed: the command queue is closed (${reason}). ` +
        `Reconnect to get a new queue, then retry.`,
    );
    this.commandName = commandName;
    this.reason = reason;
  }
}

/** The circuit breaker is open (or probing): the call was refused at once without running. */
export class CircuitOpenError extends DomainError {
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
    const message = `Circuit "${circuitName}" is open (${detail}); ${when}. ` +
      `Retry after that, and check the ${circuitName}'s power and cable meanwhile.`;
    const inS = `${Math.max(1, Math.ceil(retryInMs / 1000))} s`;
    super(message, {
      hint: `the ${circuitName} stopped answering; next probe in ${inS}. Retry after that ` +
        `(commands are refused until a probe succeeds); check the ${circuitName}'s power and ` +
        `cable meanwhile. (${message})`,
    });
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

/**
 * True for a connection reset by its peer that reached nobody: a node socket's read failing with
 * ECONNRESET after its owner let it go (nats.js's transport removes a socket's listeners before
 * destroying it, and under Deno a read already in flight still reports). It says the peer went
 * away from a connection no one uses any more, not that the program failed.
 */
export function isAbandonedSocketReset(error: unknown): boolean {
  const e = error as { code?: unknown; syscall?: unknown } | undefined;
  return error instanceof Error && e?.code === "ECONNRESET" && e.syscall === "read";
}

/** An error's message (or the thrown value as text), for logs and error texts. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
