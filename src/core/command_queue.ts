/**
 * A bounded priority queue of commands, each with a deadline, that runs them in order - one at a
 * time, or several at once for commands marked shared - and has a path that never waits.
 *
 * Rules:
 * - **Priorities** `emergency > high > normal > low` ({@link PRIORITIES}); FIFO within a priority.
 *   Commands enqueued in the same tick are ordered by priority before the first one starts.
 * - **In order**: a command starts when it is first in line and nothing it must wait for runs. An
 *   ordinary command runs alone: after every command before it has finished, and everything after
 *   it waits for it. A command enqueued with `shared: true` may start while other shared commands
 *   run (up to `maxShared`), never beside an ordinary one; a shared command behind an ordinary one
 *   waits, so nothing overtakes. (The robot layer shares read-only queries, which the link matches
 *   by sequence number; see src/robot/command_policy.ts.)
 * - When a running command times out or is aborted its caller is rejected at once, its signal is
 *   aborted, and the queue moves on: an executor must honour its signal.
 * - **Timeout** (`timeoutMs`, default 5000, `Infinity` for none) covers waiting *and* running; it
 *   rejects with {@link CommandTimeoutError} naming the command, the ms and the phase. A command
 *   enqueued `selfTimed` (its executor keeps the rest of the budget) is timed only while it waits.
 * - **Bounded** (`capacity`, default 100 queued, running ones not counted): a full queue rejects a
 *   new command at once with {@link QueueFullError}. Nothing is ever dropped silently: every
 *   command settles exactly once and is counted by {@link CommandOutcome}.
 * - **Cancellation**: aborting a command's `signal` removes it if queued, or aborts its executor if
 *   running; the caller is rejected with `signal.reason`.
 * - **The path that never waits**: {@link CommandQueue.emergency} calls its executor
 *   synchronously - never behind a running command - then rejects each queued command its
 *   caller's `cancel` returns an error for ("emergency_cancelled"; the robot layer cancels queued
 *   movement). Running ones are left to finish. It is never refused, not even after `close()`.
 * - **Supersession**: a command with a `supersedeKey` replaces a still-*queued* command with the
 *   same key (a running one is never touched). The old one resolves - not rejects - with a
 *   {@link Superseded} value (test it with {@link isSuperseded}); the new one takes the old one's
 *   place in line if it has the same priority (else it joins the tail of its own), and is
 *   accepted even when the queue is full (depth does not grow).
 * - **close(reason)** rejects queued and running commands with {@link QueueClosedError} and
 *   refuses new ones.
 *
 * Observability: {@link CommandQueue.stats}; listeners (`addListener`, `onEvent`) get every
 * {@link QueueEvent} (enqueued, started, finished); one that throws is logged and counted.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { CommandTimeoutError, QueueClosedError, QueueFullError } from "./errors.ts";
import { abortReason } from "./async.ts";
import { onAbort } from "./abort_watch.ts";
import {
  type Entry,
  newEntry,
  releaseEntry,
  stopWaitTimer,
  Unarmed,
  WaitingLine,
} from "./_queue_lane.ts";
import { QueueObserver } from "./_queue_observer.ts";
import {
  cancelError,
  checkCancel,
  checkCommand,
  checkTimeout,
  priorityError,
} from "./_queue_checks.ts";
import { checkIntegerAtLeast } from "./validate.ts";
import {
  type Command,
  type CommandOutcome,
  type CommandQueueOptions,
  type CommandQueueStats,
  type EmergencyOptions,
  type EnqueueOptions,
  type Executor,
  PRIORITIES,
  type Priority,
  type QueueListener,
  Superseded,
} from "./queue_types.ts";

export * from "./queue_types.ts";

const log = getLogger(["rvr", "core"]);

/** See the module documentation for the rules. `C` is the caller's command type. */
export class CommandQueue<C extends Command = Command> {
  readonly capacity: number;
  readonly defaultTimeoutMs: number;
  readonly maxShared: number;
  #line = new WaitingLine<C>(PRIORITIES.length);
  /** Queued commands in flight, oldest first: one ordinary one, or up to maxShared shared ones. */
  #running = new Set<Entry<C>>();
  #emergencyRunning = new Set<Entry<C>>();
  readonly #unarmed = new Unarmed<C>();
  #pumpScheduled = false;
  #closed = false;
  #closeReason = "";
  #observer = new QueueObserver<C>();
  #enqueued = 0;
  #emergencies = 0;

  constructor(options: CommandQueueOptions<C> = {}) {
    const { capacity = 100, defaultTimeoutMs = 5000, maxShared = 4, onEvent } = options;
    this.capacity = checkIntegerAtLeast("Queue capacity", capacity, 1, "the default is 100");
    this.maxShared = checkIntegerAtLeast("maxShared", maxShared, 1, "the default is 4");
    checkTimeout(defaultTimeoutMs, "defaultTimeoutMs");
    this.defaultTimeoutMs = defaultTimeoutMs;
    if (onEvent) this.#observer.add(onEvent);
  }

  /** Queued commands, all priorities (the running ones not counted). */
  get depth(): number {
    return this.#line.depth;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A snapshot of the counters. */
  get stats(): CommandQueueStats {
    const depthByPriority = {} as Record<Priority, number>;
    PRIORITIES.forEach((p, i) => (depthByPriority[p] = this.#line.lanes[i].size));
    const oldest = this.#running.values().next().value;
    return {
      capacity: this.capacity,
      depth: this.#line.depth,
      depthByPriority,
      peakDepth: this.#line.peakDepth,
      running: this.#running.size + this.#emergencyRunning.size,
      runningCommand: oldest?.command.name ?? null,
      enqueued: this.#enqueued,
      emergencies: this.#emergencies,
      outcomes: { ...this.#observer.outcomes },
      listenerErrors: this.#observer.listenerErrors,
      closed: this.#closed,
    };
  }

  /** Adds a listener for every {@link QueueEvent}; returns a function that removes it. */
  addListener(listener: QueueListener<C>): () => void {
    return this.#observer.add(listener);
  }

  /**
   * Queues a command; resolves with its executor's value, or with {@link Superseded} if a newer
   * command with the same `supersedeKey` replaced it while queued. Rejects with
   * {@link QueueFullError}, {@link QueueClosedError}, {@link CommandTimeoutError}, the error an
   * emergency's `cancel` gave it, `signal.reason`, or the executor's error. Throws
   * TypeError/RangeError at once for a malformed command or option.
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
    if (lane < 0) throw priorityError(command.name, priority);
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    checkTimeout(timeoutMs, `timeoutMs of command "${command.name}"`);
    const { signal } = options;

    if (this.#closed) {
      const error = new QueueClosedError(command.name, this.#closeReason);
      return this.#refuse(command, priority, "rejected_closed", error);
    }
    if (signal?.aborted) {
      return this.#refuse(command, priority, "cancelled", abortReason(signal));
    }

    const older = this.#line.withKey(command.supersedeKey);
    if (older === undefined && this.#line.depth >= this.capacity) {
      const error = new QueueFullError(command.name, this.capacity, this.#line.depth);
      log.warn("Command queue full ({depth}/{capacity}); refused {command}", {
        depth: this.#line.depth,
        capacity: this.capacity,
        command: command.name,
      });
      return this.#refuse(command, priority, "rejected_full", error);
    }

    const { promise, resolve, reject } = Promise.withResolvers<T | Superseded>();
    const entry = newEntry(command, executor, priority, lane, resolve as never, reject, signal);
    entry.shared = options.shared === true;
    if (older !== undefined) {
      this.#line.supersede(older, entry);
      // The older entry already left its lane: settle it without touching the lanes again.
      older.state = "done";
      releaseEntry(older);
      const superseded = new Superseded(
        older.command.name,
        older.command.supersedeKey as string,
        command.name,
      );
      this.#observer.finished(older, "superseded", superseded);
      older.resolve(superseded);
    } else {
      this.#line.add(entry);
    }
    this.#enqueued++;

    if (options.selfTimed === true && timeoutMs !== Infinity) {
      this.#unarmed.add(entry, timeoutMs); // timed only if it has to wait: #pump arms it then
      this.#arm(entry, Infinity);
    } else {
      this.#arm(entry, timeoutMs);
    }
    if (this.#observer.listening) {
      this.#observer.emit({ type: "enqueued", command, priority, depth: this.#line.depth });
    }
    this.#schedulePump();
    return promise;
  }

  /**
   * Runs `executor` now, outside the queue: it is called synchronously before this returns,
   * whatever is queued or in flight. Then each queued command for which `options.cancel` returns
   * an error is rejected with it (see {@link EmergencyOptions.cancel}). Never refused, not even
   * when the queue is closed or full. Rejects with {@link CommandTimeoutError} after `timeoutMs`,
   * `signal.reason`, or the executor's error.
   */
  emergency<T>(command: C, executor: Executor<C, T>, options: EmergencyOptions<C>): Promise<T> {
    checkCommand(command, executor);
    checkCancel(command.name, options);
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    checkTimeout(timeoutMs, `timeoutMs of emergency command "${command.name}"`);
    this.#emergencies++;

    const { promise, resolve, reject } = Promise.withResolvers<T>();
    const entry = newEntry(
      command,
      executor,
      "emergency",
      0,
      resolve as never,
      reject,
      options.signal,
    );
    entry.emergency = true;
    entry.state = "running";
    entry.startedAt = entry.enqueuedAt;
    entry.controller = new AbortController();
    if (options.signal?.aborted) {
      entry.state = "done";
      this.#observer.finished(entry, "cancelled", abortReason(options.signal));
      reject(abortReason(options.signal));
      return promise;
    }
    this.#emergencyRunning.add(entry);
    this.#arm(entry, timeoutMs);
    this.#invoke(entry);

    let cancelled = 0;
    for (const e of this.#line.all()) {
      const error = cancelError(command.name, e.command, options.cancel);
      if (error === undefined) continue;
      this.#finish(e, "emergency_cancelled", error);
      cancelled++;
    }
    log.warn("Emergency command {command} started; cancelled {cancelled} queued command(s)", {
      command: command.name,
      cancelled,
    });
    return promise;
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
    for (const e of this.#line.all()) {
      this.#finish(e, "closed", new QueueClosedError(e.command.name, reason));
    }
    for (const e of [...this.#running, ...this.#emergencyRunning]) {
      this.#finish(e, "closed", new QueueClosedError(e.command.name, reason));
    }
  }

  // ---- internals ----

  #refuse(command: C, priority: Priority, outcome: CommandOutcome, error: unknown): Promise<never> {
    this.#observer.refused(command, priority, outcome, error);
    return Promise.reject(error);
  }

  /** Starts the timeout and the abort listener of a new entry. */
  #arm(entry: Entry<C>, timeoutMs: number): void {
    if (timeoutMs !== Infinity) this.#startTimer(entry, timeoutMs, timeoutMs);
    const signal = entry.signal;
    if (signal !== undefined) {
      entry.unwatch = onAbort(signal, () => this.#finish(entry, "cancelled", abortReason(signal)));
    }
  }

  /** Times `entry` out `delayMs` from now, reporting its whole budget `timeoutMs`. */
  #startTimer(entry: Entry<C>, timeoutMs: number, delayMs: number): void {
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      const phase = entry.state === "queued" ? "queued" : "running";
      const error = new CommandTimeoutError(entry.command.name, timeoutMs, phase);
      this.#finish(entry, "timed_out", error);
    }, delayMs);
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

  /** Starts the first queued command while what runs lets it (see "In order"). */
  #pump(): void {
    for (let entry = this.#line.first(); entry !== null; entry = this.#line.first()) {
      if (this.#running.size > 0) {
        const sharing = entry.shared && this.#running.size < this.maxShared &&
          (this.#running.values().next().value as Entry<C>).shared;
        if (!sharing) break;
      }
      this.#line.remove(entry);
      stopWaitTimer(entry);
      entry.state = "running";
      entry.startedAt = performance.now();
      entry.controller = new AbortController();
      this.#running.add(entry);
      this.#invoke(entry);
    }
    this.#unarmed.armWaiting((e, budget, delay) => this.#startTimer(e, budget, delay));
  }

  /** Calls the executor of a running entry and wires its settlement. */
  #invoke(entry: Entry<C>): void {
    if (this.#observer.listening) {
      this.#observer.emit({
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

  /**
   * Settles an entry exactly once: clears its timer and listener, takes it out of the queue or
   * the running set (aborting its executor unless it settled by itself), counts and emits it.
   */
  #finish(entry: Entry<C>, outcome: CommandOutcome, value: unknown, pump = true): void {
    if (entry.state === "done") return;
    const wasState = entry.state;
    entry.state = "done";
    releaseEntry(entry);
    if (wasState === "queued") {
      this.#line.remove(entry);
    } else {
      if (entry.emergency) this.#emergencyRunning.delete(entry);
      else if (this.#running.delete(entry) && pump) this.#schedulePump();
      if (outcome !== "completed" && outcome !== "failed") entry.controller?.abort(value);
    }
    this.#observer.finished(entry, outcome, value);
    if (outcome === "completed" || outcome === "superseded") entry.resolve(value);
    else entry.reject(value);
  }
}
