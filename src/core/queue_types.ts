/**
 * The vocabulary of the command queue (command_queue.ts): priorities, kinds, outcomes, the
 * command and its options, the events listeners see, the stats snapshot, and what a superseded
 * command resolves with.
 *
 * @module
 */

/** Priorities, highest first. */
export const PRIORITIES = ["emergency", "high", "normal", "low"] as const;
export type Priority = typeof PRIORITIES[number];

/**
 * What a command does. The queue only checks that a command has one of these: it gives none of
 * them a meaning of its own. Callers do (e.g. which queued commands an emergency cancels).
 */
export const COMMAND_KINDS = [
  "movement",
  "safety",
  "io",
  "query",
  "config",
  "system",
] as const;
export type CommandKind = typeof COMMAND_KINDS[number];

/** How a command ended; every command ends in exactly one of these, and each is counted. */
export const COMMAND_OUTCOMES = [
  "completed",
  "failed",
  "timed_out",
  "cancelled",
  "superseded",
  "emergency_cancelled",
  "closed",
  "rejected_full",
  "rejected_closed",
] as const;
export type CommandOutcome = typeof COMMAND_OUTCOMES[number];

/** What the queue needs to know about a command. Extend it with your own fields (arguments, ...). */
export interface Command {
  /** The command's name, used in errors, logs and metrics, e.g. "get_status". */
  readonly name: string;
  readonly kind: CommandKind;
  /** A newer queued command with the same key replaces this one while it is still queued. */
  readonly supersedeKey?: string;
}

/** Runs one command. Must honour `signal`: it is aborted on timeout, cancellation and close. */
export type Executor<C extends Command, T> = (command: C, signal: AbortSignal) => Promise<T>;

export interface EnqueueOptions {
  /** Default "normal". */
  priority?: Priority;
  /** Budget for waiting plus running, in ms; `Infinity` for none. Default: the queue's default. */
  timeoutMs?: number;
  /** Cancels the command: removed if queued, its executor aborted if running. */
  signal?: AbortSignal;
  /**
   * May run alongside other shared commands (up to the queue's `maxShared`): for requests that
   * change nothing and that the transport tells apart (read-only queries matched by sequence
   * number). Default false: the command runs alone, after everything before it and before
   * everything after it.
   */
  shared?: boolean;
  /**
   * The executor keeps the rest of the budget itself (it is given it, e.g. as its reply timeout):
   * the queue times the command only while it waits, and arms that timer only when the command
   * has to wait (one behind another), so a command that starts at once costs no timer of the
   * queue's. Default false: the queue's timer covers waiting and running.
   */
  selfTimed?: boolean;
}

export interface EmergencyOptions<C extends Command = Command> {
  /**
   * What the emergency does to each queued command, asked once per command right after the
   * emergency executor started: return the error to reject it with (it ends
   * "emergency_cancelled"), or `undefined` to leave it queued. Required: the queue has no notion
   * of which commands an emergency makes moot; `() => undefined` cancels none. If it throws or
   * returns anything else, that command is rejected anyway (with the error, or a TypeError naming
   * the value) and the fault is logged: nothing queued runs after an emergency by mistake.
   */
  cancel: (command: C) => Error | undefined;
  /** Budget for running, in ms; `Infinity` for none. Default: the queue's default. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** What a superseded command resolves with (it is not an error). */
export class Superseded {
  readonly superseded = true as const;
  constructor(
    /** The command that was replaced. */
    readonly commandName: string,
    readonly supersedeKey: string,
    /** The newer command that replaced it. */
    readonly byCommandName: string,
  ) {}
}

/** True when a command's result says it was replaced by a newer one before it ran. */
export function isSuperseded(value: unknown): value is Superseded {
  return value instanceof Superseded;
}

export type QueueEvent<C extends Command = Command> =
  | {
    type: "enqueued";
    command: C;
    priority: Priority;
    /** Queued commands after this one joined (all priorities). */
    depth: number;
  }
  | {
    type: "started";
    command: C;
    priority: Priority;
    emergency: boolean;
    /** Time spent queued, in ms (0 for emergency commands). */
    waitMs: number;
  }
  | {
    type: "finished";
    command: C;
    priority: Priority;
    emergency: boolean;
    outcome: CommandOutcome;
    /** Time spent queued, in ms. */
    waitMs: number;
    /** Time from executor start to the end, in ms; null if it never started. */
    runMs: number | null;
    /** The rejection, for every outcome except "completed" and "superseded". */
    error?: unknown;
  };

export type QueueListener<C extends Command = Command> = (event: QueueEvent<C>) => void;

export interface CommandQueueOptions<C extends Command = Command> {
  /** Most queued commands (the running ones not counted). Default 100. */
  capacity?: number;
  /** Default per-command timeout, waiting plus running, in ms. Default 5000; `Infinity` for none. */
  defaultTimeoutMs?: number;
  /** Most shared commands running at once (see EnqueueOptions.shared). Default 4. */
  maxShared?: number;
  /** A listener registered at construction (same as `CommandQueue.addListener`). */
  onEvent?: QueueListener<C>;
}

export interface CommandQueueStats {
  capacity: number;
  /** Queued commands, all priorities. */
  depth: number;
  depthByPriority: Record<Priority, number>;
  /** Highest depth seen. */
  peakDepth: number;
  /** Executors running now: queued ones in flight plus emergency ones. */
  running: number;
  /** Name of the (oldest) queued command in flight, or null. */
  runningCommand: string | null;
  /** Commands accepted into the queue (superseding ones included). */
  enqueued: number;
  /** Calls to emergency(). */
  emergencies: number;
  /** Settled commands by outcome. */
  outcomes: Record<CommandOutcome, number>;
  /** Listener calls that threw (logged, otherwise ignored). */
  listenerErrors: number;
  closed: boolean;
}
