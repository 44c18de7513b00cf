/**
 * The robot's command queue: every command to the RVR goes through here, one at a time, in
 * priority order, each with a deadline; the emergency path never waits.
 *
 * Rules:
 * - **Priorities** `emergency > high > normal > low` ({@link PRIORITIES}); FIFO within a priority.
 *   Commands enqueued in the same tick are ordered by priority before the first one starts.
 * - **One at a time**: the executor `(command, signal) => Promise<T>` of one queued command runs
 *   at a time. When a running command times out or is aborted its caller is rejected at once, its
 *   signal is aborted, and the queue moves on: an executor must honour its signal.
 * - **Timeout** (`timeoutMs`, default 5000, `Infinity` for none) covers waiting *and* running; it
 *   rejects with {@link CommandTimeoutError} naming the command, the ms and the phase.
 * - **Bounded** (`capacity`, default 100 queued, the running one not counted): a full queue
 *   rejects a new command at once with {@link QueueFullError}. Nothing is ever dropped silently:
 *   every command settles exactly once and is counted by {@link CommandOutcome}.
 * - **Cancellation**: aborting a command's `signal` removes it if queued, or aborts its executor if
 *   running; the caller is rejected with `signal.reason`.
 * - **Emergency**: {@link CommandQueue.emergency} calls its executor synchronously, before it
 *   returns - never behind the running command, even one still waiting for its reply (the link
 *   allows concurrent writes) - then rejects every queued movement command (kind "movement" or
 *   tag "movement") with {@link CancelledByEmergencyStopError} ("cancelled by emergency stop").
 *   Other queued commands (queries, LEDs, ...) survive. The running command is left to finish.
 *   The emergency path is never refused, not even after `close()`.
 * - **Supersession**: a command with a `supersedeKey` replaces a still-*queued* command with the
 *   same key (the running one is never touched). The old one resolves - not rejects - with a
 *   {@link Superseded} value (`{ superseded: true, ... }`, test it with {@link isSuperseded}); the new
 *   one takes the old one's place in line if it has the same priority (else it joins the tail of
 *   its own), so a burst of steering updates never builds lag, and it is accepted even when the
 *   queue is full (depth does not grow).
 * - **drain(reason)** rejects every queued command with {@link QueueDrainedError} and keeps the
 *   queue open; **close(reason)** rejects queued and running commands with
 *   {@link QueueClosedError} and refuses new ones.
 *
 * Which priority each robot command gets (the robot layer follows this table):
 *
 * | robot command | how | priority | kind | supersedeKey |
 * |---|---|---|---|---|
 * | emergency stop (e-stop: stop the motors now) | `emergency()` | emergency | "safety" | - |
 * | stop / `drive_stop`, watchdog stop, battery-critical stop, safety `sleep` | `enqueue()` | high | "safety" | - |
 * | drive (`drive_with_heading`, `drive_tank_*`, `drive_rc_*`, `drive_with_yaw_*`, `raw_motors`, `drive_to_position_*`) | `enqueue()` | normal | "movement" | "drive" |
 * | `reset_yaw`, `reset_locator`, other motion set-up | `enqueue()` | normal | "movement" | - |
 * | LEDs (`set_all_leds`, `set_multiple_leds`) | `enqueue()` | normal | "io" | "leds" |
 * | queries (`get_*`, `echo`), `wake`, configuration (`set_*`, stream set-up) | `enqueue()` | normal | "query" / "config" / "system" | - |
 * | telemetry polling (periodic `get_*` for dashboards) | `enqueue()` | low | "telemetry" | "poll:<command>" |
 *
 * Observability (for the metrics layer): {@link CommandQueue.stats} (depth per priority, running,
 * peak depth, counts by outcome), and {@link CommandQueue.addListener} / the `onEvent` option,
 * which receive every {@link QueueEvent}: `enqueued` (depth), `started` (waitMs) and `finished`
 * (outcome, waitMs, runMs). Durations use `performance.now()`. Listeners must not throw; one that
 * does is logged and counted (`stats.listenerErrors`) and never disturbs the queue.
 *
 * @example
 * ```ts
 * const queue = new CommandQueue();
 * const reply = await queue.enqueue(
 *   { name: "get_battery_percentage", kind: "query" },
 *   (_cmd, signal) => link.request("get_battery_percentage", {}, { signal }),
 *   { priority: "normal", timeoutMs: 1000 },
 * );
 * // With a supersedeKey the result type is `T | Superseded`:
 * const r = await queue.enqueue(
 *   { name: "drive_with_heading", kind: "movement", supersedeKey: "drive" },
 *   (_cmd, signal) => link.request("drive_with_heading", args, { signal }),
 * );
 * if (isSuperseded(r)) return; // a newer drive command took its place
 * ```
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  CancelledByEmergencyStopError,
  CommandTimeoutError,
  QueueClosedError,
  QueueDrainedError,
  QueueFullError,
} from "./errors.ts";
import { abortReason } from "./async.ts";

const log = getLogger(["rvr", "core"]);

/** Priorities, highest first. */
export const PRIORITIES = ["emergency", "high", "normal", "low"] as const;
export type Priority = typeof PRIORITIES[number];

/** What a command does; "movement" commands are the ones an emergency stop cancels. */
export const COMMAND_KINDS = [
  "movement",
  "safety",
  "io",
  "query",
  "config",
  "system",
  "telemetry",
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
  "drained",
  "closed",
  "rejected_full",
  "rejected_closed",
] as const;
export type CommandOutcome = typeof COMMAND_OUTCOMES[number];

/** What the queue needs to know about a command. Extend it with your own fields (arguments, ...). */
export interface Command {
  /** The command's name, used in errors, logs and metrics, e.g. "drive_with_heading". */
  readonly name: string;
  readonly kind: CommandKind;
  /** Extra labels; the tag "movement" also marks a command as movement. */
  readonly tags?: readonly string[];
  /** A newer queued command with the same key replaces this one while it is still queued. */
  readonly supersedeKey?: string;
}

/** Runs one command. Must honour `signal`: it is aborted on timeout, cancellation and close. */
export type Executor<C extends Command, T> = (command: C, signal: AbortSignal) => Promise<T>;

export interface EnqueueOptions {
  /** Default "normal"; see the table in the module doc. */
  priority?: Priority;
  /** Budget for waiting plus running, in ms; `Infinity` for none. Default: the queue's default. */
  timeoutMs?: number;
  /** Cancels the command: removed if queued, its executor aborted if running. */
  signal?: AbortSignal;
}

export interface EmergencyOptions {
  /** Budget for running, in ms; `Infinity` for none. Default: the queue's default. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Which queued commands to reject; default: movement commands ({@link isMovement}). */
  cancelQueued?: (command: Command) => boolean;
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

/** True for commands of kind "movement" or tagged "movement". */
export function isMovement(command: Command): boolean {
  return command.kind === "movement" || (command.tags?.includes("movement") ?? false);
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
  /** Most queued commands (the running one not counted). Default 100. */
  capacity?: number;
  /** Default per-command timeout, waiting plus running, in ms. Default 5000; `Infinity` for none. */
  defaultTimeoutMs?: number;
  /** A listener registered at construction (same as {@link CommandQueue.addListener}). */
  onEvent?: QueueListener<C>;
}

export interface CommandQueueStats {
  capacity: number;
  /** Queued commands, all priorities. */
  depth: number;
  depthByPriority: Record<Priority, number>;
  /** Highest depth seen. */
  peakDepth: number;
  /** Executors running now: the queued one in flight (0/1) plus emergency ones. */
  running: number;
  /** Name of the queued command in flight, or null. */
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

type EntryState = "queued" | "running" | "done";

interface Entry<C extends Command> {
  command: C;
  executor: Executor<C, unknown>;
  priority: Priority;
  lane: number;
  emergency: boolean;
  state: EntryState;
  enqueuedAt: number;
  /** performance.now() when the executor started; -1 while queued. */
  startedAt: number;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  controller: AbortController | undefined;
  prev: Entry<C> | null;
  next: Entry<C> | null;
}

/** A FIFO with O(1) removal from anywhere (supersession, cancellation, timeouts). */
class Lane<C extends Command> {
  head: Entry<C> | null = null;
  tail: Entry<C> | null = null;
  size = 0;

  push(e: Entry<C>): void {
    e.prev = this.tail;
    e.next = null;
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
    this.size++;
  }

  /** Puts `e` where `old` is; `old` leaves the lane. */
  replace(old: Entry<C>, e: Entry<C>): void {
    e.prev = old.prev;
    e.next = old.next;
    if (old.prev) old.prev.next = e;
    else this.head = e;
    if (old.next) old.next.prev = e;
    else this.tail = e;
    old.prev = old.next = null;
  }

  remove(e: Entry<C>): void {
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = e.next = null;
    this.size--;
  }
}

const DEFAULT_CAPACITY = 100;
const DEFAULT_TIMEOUT_MS = 5000;

function checkTimeout(timeoutMs: number, what: string): void {
  if (
    !(typeof timeoutMs === "number" && timeoutMs > 0 &&
      (Number.isFinite(timeoutMs) || timeoutMs === Infinity))
  ) {
    throw new RangeError(
      `${what} must be a number > 0 (ms) or Infinity for none, got ${String(timeoutMs)}.`,
    );
  }
}

function checkCommand(command: Command, executor: unknown): void {
  if (typeof command !== "object" || command === null) {
    throw new TypeError(`A command must be an object { name, kind }, got ${String(command)}.`);
  }
  if (typeof command.name !== "string" || command.name.length === 0) {
    throw new TypeError(`A command needs a non-empty string name, got ${String(command.name)}.`);
  }
  if (!(COMMAND_KINDS as readonly string[]).includes(command.kind)) {
    throw new RangeError(
      `Command "${command.name}" has kind ${String(command.kind)}; use one of ${
        COMMAND_KINDS.join(", ")
      }.`,
    );
  }
  if (
    command.supersedeKey !== undefined &&
    (typeof command.supersedeKey !== "string" || command.supersedeKey === "")
  ) {
    throw new TypeError(
      `Command "${command.name}" has supersedeKey ${
        String(command.supersedeKey)
      }; use a non-empty string or leave it out.`,
    );
  }
  if (typeof executor !== "function") {
    throw new TypeError(
      `Command "${command.name}" needs an executor function (command, signal) => Promise, got ${typeof executor}.`,
    );
  }
}

/** See the module documentation for the rules. `C` is the caller's command type. */
export class CommandQueue<C extends Command = Command> {
  readonly capacity: number;
  readonly defaultTimeoutMs: number;
  #lanes: Lane<C>[] = PRIORITIES.map(() => new Lane<C>());
  #depth = 0;
  #peakDepth = 0;
  #running: Entry<C> | null = null;
  #emergencyRunning = new Set<Entry<C>>();
  #bySupersedeKey = new Map<string, Entry<C>>();
  #pumpScheduled = false;
  #closed = false;
  #closeReason = "";
  #listeners: QueueListener<C>[] = [];
  #enqueued = 0;
  #emergencies = 0;
  #listenerErrors = 0;
  #outcomes = Object.fromEntries(COMMAND_OUTCOMES.map((o) => [o, 0])) as Record<
    CommandOutcome,
    number
  >;

  constructor(options: CommandQueueOptions<C> = {}) {
    const { capacity = DEFAULT_CAPACITY, defaultTimeoutMs = DEFAULT_TIMEOUT_MS, onEvent } = options;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Queue capacity must be an integer >= 1, got ${capacity}; the default is 100.`,
      );
    }
    checkTimeout(defaultTimeoutMs, "defaultTimeoutMs");
    this.capacity = capacity;
    this.defaultTimeoutMs = defaultTimeoutMs;
    if (onEvent) this.#listeners.push(onEvent);
  }

  /** Queued commands, all priorities (the running one not counted). */
  get depth(): number {
    return this.#depth;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A snapshot of the counters. */
  get stats(): CommandQueueStats {
    const depthByPriority = {} as Record<Priority, number>;
    PRIORITIES.forEach((p, i) => (depthByPriority[p] = this.#lanes[i].size));
    return {
      capacity: this.capacity,
      depth: this.#depth,
      depthByPriority,
      peakDepth: this.#peakDepth,
      running: (this.#running ? 1 : 0) + this.#emergencyRunning.size,
      runningCommand: this.#running?.command.name ?? null,
      enqueued: this.#enqueued,
      emergencies: this.#emergencies,
      outcomes: { ...this.#outcomes },
      listenerErrors: this.#listenerErrors,
      closed: this.#closed,
    };
  }

  /** Adds a listener for every {@link QueueEvent}; returns a function that removes it. */
  addListener(listener: QueueListener<C>): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /**
   * Queues a command; resolves with its executor's value, or with {@link Superseded} if a newer
   * command with the same `supersedeKey` replaced it while queued. Rejects with
   * {@link QueueFullError}, {@link QueueClosedError}, {@link QueueDrainedError},
   * {@link CommandTimeoutError}, {@link CancelledByEmergencyStopError}, `signal.reason`, or the
   * executor's error. Throws TypeError/RangeError at once for a malformed command or option.
   */
  enqueue<T>(
    command: C & { readonly supersedeKey?: undefined },
    executor: Executor<C, T>,
    options?: EnqueueOptions,
  ): Promise<T>;
  enqueue<T>(
    command: C,
    executor: Executor<C, T>,
    options?: EnqueueOptions,
  ): Promise<T | Superseded>;
  enqueue<T>(
    command: C,
    executor: Executor<C, T>,
    options: EnqueueOptions = {},
  ): Promise<T | Superseded> {
    checkCommand(command, executor);
    const priority = options.priority ?? "normal";
    const lane = PRIORITIES.indexOf(priority);
    if (lane < 0) {
      throw new RangeError(
        `Command "${command.name}" has priority ${String(priority)}; use one of ${
          PRIORITIES.join(", ")
        }.`,
      );
    }
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    checkTimeout(timeoutMs, `timeoutMs of command "${command.name}"`);
    const { signal } = options;

    if (this.#closed) {
      return this.#refuse(
        command,
        priority,
        "rejected_closed",
        new QueueClosedError(command.name, this.#closeReason),
      );
    }
    if (signal?.aborted) {
      return this.#refuse(command, priority, "cancelled", abortReason(signal));
    }

    const key = command.supersedeKey;
    const older = key === undefined ? undefined : this.#bySupersedeKey.get(key);
    if (older === undefined && this.#depth >= this.capacity) {
      const error = new QueueFullError(command.name, this.capacity, this.#depth);
      log.warn("Command queue full ({depth}/{capacity}); refused {command}", {
        depth: this.#depth,
        capacity: this.capacity,
        command: command.name,
      });
      return this.#refuse(command, priority, "rejected_full", error);
    }

    const { promise, resolve, reject } = Promise.withResolvers<T | Superseded>();
    const entry: Entry<C> = {
      command,
      executor: executor as Executor<C, unknown>,
      priority,
      lane,
      emergency: false,
      state: "queued",
      enqueuedAt: performance.now(),
      startedAt: -1,
      resolve: resolve as (value: unknown) => void,
      reject,
      timer: undefined,
      signal,
      onAbort: undefined,
      controller: undefined,
      prev: null,
      next: null,
    };

    if (older !== undefined) {
      // Take the older command's place in line (same priority) or join the tail of our own.
      if (older.lane === lane) {
        this.#lanes[lane].replace(older, entry);
      } else {
        this.#lanes[older.lane].remove(older);
        this.#lanes[lane].push(entry);
      }
      this.#bySupersedeKey.set(key as string, entry);
      this.#finishDetached(
        older,
        "superseded",
        new Superseded(older.command.name, key as string, command.name),
      );
    } else {
      this.#lanes[lane].push(entry);
      this.#depth++;
      if (this.#depth > this.#peakDepth) this.#peakDepth = this.#depth;
      if (key !== undefined) this.#bySupersedeKey.set(key, entry);
    }
    this.#enqueued++;

    this.#arm(entry, timeoutMs);
    if (this.#listeners.length > 0) {
      this.#emit({ type: "enqueued", command, priority, depth: this.#depth });
    }
    this.#schedulePump();
    return promise;
  }

  /**
   * Runs `executor` now, outside the queue: it is called synchronously before this returns,
   * whatever is queued or in flight. Then every queued command selected by `cancelQueued`
   * (default: movement commands) is rejected with {@link CancelledByEmergencyStopError}.
   * Never refused, not even when the queue is closed or full. Rejects with
   * {@link CommandTimeoutError} after `timeoutMs`, `signal.reason`, or the executor's error.
   */
  emergency<T>(command: C, executor: Executor<C, T>, options: EmergencyOptions = {}): Promise<T> {
    checkCommand(command, executor);
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    checkTimeout(timeoutMs, `timeoutMs of emergency command "${command.name}"`);
    const cancelQueued = options.cancelQueued ?? isMovement;
    this.#emergencies++;

    const { promise, resolve, reject } = Promise.withResolvers<T>();
    const now = performance.now();
    const entry: Entry<C> = {
      command,
      executor: executor as Executor<C, unknown>,
      priority: "emergency",
      lane: 0,
      emergency: true,
      state: "running",
      enqueuedAt: now,
      startedAt: now,
      resolve: resolve as (value: unknown) => void,
      reject,
      timer: undefined,
      signal: options.signal,
      onAbort: undefined,
      controller: new AbortController(),
      prev: null,
      next: null,
    };
    if (options.signal?.aborted) {
      entry.state = "done";
      this.#count(entry, "cancelled", abortReason(options.signal));
      reject(abortReason(options.signal));
      return promise;
    }
    this.#emergencyRunning.add(entry);
    this.#arm(entry, timeoutMs);
    this.#invoke(entry);

    let cancelled = 0;
    for (const l of this.#lanes) {
      for (let e = l.head; e !== null;) {
        const next = e.next;
        if (cancelQueued(e.command)) {
          this.#finish(e, "emergency_cancelled", new CancelledByEmergencyStopError(e.command.name));
          cancelled++;
        }
        e = next;
      }
    }
    log.warn("Emergency command {command} started; cancelled {cancelled} queued command(s)", {
      command: command.name,
      cancelled,
    });
    return promise;
  }

  /**
   * Rejects every queued command with {@link QueueDrainedError} (the running one is left to
   * finish); the queue stays open. Returns how many were rejected.
   */
  drain(reason = "drained"): number {
    let n = 0;
    for (const l of this.#lanes) {
      while (l.head !== null) {
        this.#finish(l.head, "drained", new QueueDrainedError(l.head.command.name, reason));
        n++;
      }
    }
    return n;
  }

  /**
   * Closes the queue for good: queued commands and running ones (their signals aborted) are
   * rejected with {@link QueueClosedError}; later `enqueue` calls reject with it too (the
   * emergency path still runs). Idempotent.
   */
  close(reason = "closed"): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    for (const l of this.#lanes) {
      while (l.head !== null) {
        this.#finish(l.head, "closed", new QueueClosedError(l.head.command.name, reason));
      }
    }
    if (this.#running) {
      this.#finish(
        this.#running,
        "closed",
        new QueueClosedError(this.#running.command.name, reason),
      );
    }
    for (const e of [...this.#emergencyRunning]) {
      this.#finish(e, "closed", new QueueClosedError(e.command.name, reason));
    }
  }

  // ---- internals ----

  #refuse(command: C, priority: Priority, outcome: CommandOutcome, error: unknown): Promise<never> {
    this.#outcomes[outcome]++;
    if (this.#listeners.length > 0) {
      this.#emit({
        type: "finished",
        command,
        priority,
        emergency: false,
        outcome,
        waitMs: 0,
        runMs: null,
        error,
      });
    }
    return Promise.reject(error);
  }

  /** Starts the timeout and the abort listener of a new entry. */
  #arm(entry: Entry<C>, timeoutMs: number): void {
    if (timeoutMs !== Infinity) {
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        const phase = entry.state === "queued" ? "queued" : "running";
        this.#finish(
          entry,
          "timed_out",
          new CommandTimeoutError(entry.command.name, timeoutMs, phase),
        );
      }, timeoutMs);
    }
    const signal = entry.signal;
    if (signal !== undefined) {
      entry.onAbort = () => this.#finish(entry, "cancelled", abortReason(signal));
      signal.addEventListener("abort", entry.onAbort, { once: true });
    }
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    // A resolved promise rather than queueMicrotask: fake-timer libraries replace the latter.
    Promise.resolve().then(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Starts the highest-priority queued command if none is running. */
  #pump(): void {
    while (this.#running === null && this.#depth > 0) {
      let entry: Entry<C> | null = null;
      for (const l of this.#lanes) {
        if (l.head !== null) {
          entry = l.head;
          break;
        }
      }
      if (entry === null) return;
      this.#lanes[entry.lane].remove(entry);
      this.#depth--;
      const key = entry.command.supersedeKey;
      if (key !== undefined && this.#bySupersedeKey.get(key) === entry) {
        this.#bySupersedeKey.delete(key);
      }
      entry.state = "running";
      entry.startedAt = performance.now();
      entry.controller = new AbortController();
      this.#running = entry;
      this.#invoke(entry);
    }
  }

  /** Calls the executor of a running entry and wires its settlement. */
  #invoke(entry: Entry<C>): void {
    if (this.#listeners.length > 0) {
      this.#emit({
        type: "started",
        command: entry.command,
        priority: entry.priority,
        emergency: entry.emergency,
        waitMs: entry.startedAt - entry.enqueuedAt,
      });
    }
    let result: Promise<unknown>;
    try {
      result = Promise.resolve(
        entry.executor(entry.command, (entry.controller as AbortController).signal),
      );
    } catch (error) {
      this.#finish(entry, "failed", error);
      return;
    }
    result.then(
      (value) => {
        if (entry.state === "done") return;
        this.#finish(entry, "completed", value, false);
        this.#pump();
      },
      (error) => {
        if (entry.state === "done") return;
        this.#finish(entry, "failed", error, false);
        this.#pump();
      },
    );
  }

  /** Unlinks a queued entry that was already taken out of its lane by `replace`. */
  #finishDetached(entry: Entry<C>, outcome: CommandOutcome, value: unknown): void {
    entry.state = "done";
    this.#release(entry);
    this.#count(entry, outcome, value);
    entry.resolve(value);
  }

  /**
   * Settles an entry exactly once: clears its timer and listener, takes it out of the queue or
   * the running slot (aborting its executor unless it settled by itself), counts and emits it.
   */
  #finish(entry: Entry<C>, outcome: CommandOutcome, value: unknown, pump = true): void {
    if (entry.state === "done") return;
    const wasState = entry.state;
    entry.state = "done";
    this.#release(entry);
    if (wasState === "queued") {
      this.#lanes[entry.lane].remove(entry);
      this.#depth--;
      const key = entry.command.supersedeKey;
      if (key !== undefined && this.#bySupersedeKey.get(key) === entry) {
        this.#bySupersedeKey.delete(key);
      }
    } else {
      if (entry.emergency) this.#emergencyRunning.delete(entry);
      else if (this.#running === entry) {
        this.#running = null;
        if (pump) this.#schedulePump();
      }
      if (outcome !== "completed" && outcome !== "failed") entry.controller?.abort(value);
    }
    this.#count(entry, outcome, value);
    if (outcome === "completed" || outcome === "superseded") entry.resolve(value);
    else entry.reject(value);
  }

  #release(entry: Entry<C>): void {
    if (entry.timer !== undefined) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
    }
    if (entry.onAbort !== undefined) {
      entry.signal?.removeEventListener("abort", entry.onAbort);
      entry.onAbort = undefined;
    }
  }

  #count(entry: Entry<C>, outcome: CommandOutcome, value: unknown): void {
    this.#outcomes[outcome]++;
    if (this.#listeners.length === 0) return;
    const now = performance.now();
    const started = entry.startedAt >= 0;
    const event: QueueEvent<C> = {
      type: "finished",
      command: entry.command,
      priority: entry.priority,
      emergency: entry.emergency,
      outcome,
      waitMs: (started ? entry.startedAt : now) - entry.enqueuedAt,
      runMs: started ? now - entry.startedAt : null,
    };
    if (outcome !== "completed" && outcome !== "superseded") event.error = value;
    this.#emit(event);
  }

  #emit(event: QueueEvent<C>): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#listenerErrors++;
        log.error("Command queue listener threw on {type}: {error}", { type: event.type, error });
      }
    }
  }
}
