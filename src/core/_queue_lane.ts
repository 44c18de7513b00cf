/**
 * One entry of the command queue and the FIFO it waits in: a doubly linked list with O(1) removal
 * from anywhere (supersession, cancellation, timeouts). Private to the queue.
 *
 * @module
 */
import type { Command, Executor, Priority } from "./queue_types.ts";

export type EntryState = "queued" | "running" | "done";

export interface Entry<C extends Command> {
  command: C;
  executor: Executor<C, unknown>;
  priority: Priority;
  lane: number;
  emergency: boolean;
  /** May run alongside other shared entries. */
  shared: boolean;
  state: EntryState;
  enqueuedAt: number;
  /** performance.now() when the executor started; -1 while queued. */
  startedAt: number;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  /**
   * A self-timed entry's budget, ms (EnqueueOptions.selfTimed): its wait timer is armed only once
   * it has to wait; undefined otherwise.
   */
  waitBudgetMs: number | undefined;
  signal: AbortSignal | undefined;
  /** Stops watching the entry's signal (core/abort_watch.ts). */
  unwatch: (() => void) | undefined;
  controller: AbortController | undefined;
  prev: Entry<C> | null;
  next: Entry<C> | null;
}

export class Lane<C extends Command> {
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

/** A new queued entry (the emergency path marks its own as running). */
export function newEntry<C extends Command>(
  command: C,
  executor: Executor<C, unknown>,
  priority: Priority,
  lane: number,
  resolve: (value: unknown) => void,
  reject: (error: unknown) => void,
  signal: AbortSignal | undefined,
): Entry<C> {
  return {
    command,
    executor,
    priority,
    lane,
    emergency: false,
    shared: false,
    state: "queued",
    enqueuedAt: performance.now(),
    startedAt: -1,
    resolve,
    reject,
    timer: undefined,
    waitBudgetMs: undefined,
    signal,
    unwatch: undefined,
    controller: undefined,
    prev: null,
    next: null,
  };
}

/** The queued entries: one lane per priority, the depth, and the entries by supersede key. */
export class WaitingLine<C extends Command> {
  readonly lanes: Lane<C>[];
  depth = 0;
  peakDepth = 0;
  readonly #bySupersedeKey = new Map<string, Entry<C>>();

  constructor(priorities: number) {
    this.lanes = Array.from({ length: priorities }, () => new Lane<C>());
  }

  /** The queued entry with `key`, if any. */
  withKey(key: string | undefined): Entry<C> | undefined {
    return key === undefined ? undefined : this.#bySupersedeKey.get(key);
  }

  add(entry: Entry<C>): void {
    this.lanes[entry.lane].push(entry);
    this.depth++;
    if (this.depth > this.peakDepth) this.peakDepth = this.depth;
    const key = entry.command.supersedeKey;
    if (key !== undefined) this.#bySupersedeKey.set(key, entry);
  }

  /** `entry` takes `older`'s place (same lane) or joins its own lane's tail; depth unchanged. */
  supersede(older: Entry<C>, entry: Entry<C>): void {
    if (older.lane === entry.lane) {
      this.lanes[entry.lane].replace(older, entry);
    } else {
      this.lanes[older.lane].remove(older);
      this.lanes[entry.lane].push(entry);
    }
    this.#bySupersedeKey.set(older.command.supersedeKey as string, entry);
  }

  /** The first entry in line: the head of the highest-priority lane that has one. */
  first(): Entry<C> | null {
    for (const l of this.lanes) if (l.head !== null) return l.head;
    return null;
  }

  /** Every queued entry, in line order (a snapshot: settling them does not disturb it). */
  all(): Entry<C>[] {
    const out: Entry<C>[] = [];
    for (const l of this.lanes) for (let e = l.head; e !== null; e = e.next) out.push(e);
    return out;
  }

  remove(entry: Entry<C>): void {
    this.lanes[entry.lane].remove(entry);
    this.depth--;
    const key = entry.command.supersedeKey;
    if (key !== undefined && this.#bySupersedeKey.get(key) === entry) {
      this.#bySupersedeKey.delete(key);
    }
  }
}

/** Clears an entry's timer and abort listener. */
export function releaseEntry<C extends Command>(entry: Entry<C>): void {
  if (entry.timer !== undefined) {
    clearTimeout(entry.timer);
    entry.timer = undefined;
  }
  if (entry.unwatch !== undefined) {
    entry.unwatch();
    entry.unwatch = undefined;
  }
}

/**
 * Self-timed entries (EnqueueOptions.selfTimed) enqueued since the last pump: the queue times them
 * only while they wait, so the pump arms their timers only when they could not start.
 */
export class Unarmed<C extends Command> {
  readonly #entries: Entry<C>[] = [];

  add(entry: Entry<C>, budgetMs: number): void {
    entry.waitBudgetMs = budgetMs;
    this.#entries.push(entry);
  }

  /** Calls `arm(entry, budgetMs, delayMs)` for each one still queued, then forgets them all. */
  armWaiting(arm: (entry: Entry<C>, budgetMs: number, delayMs: number) => void): void {
    if (this.#entries.length === 0) return;
    const now = performance.now();
    for (const entry of this.#entries) {
      if (entry.state !== "queued" || entry.timer !== undefined) continue;
      const budget = entry.waitBudgetMs as number;
      arm(entry, budget, Math.max(0, budget - (now - entry.enqueuedAt)));
    }
    this.#entries.length = 0;
  }
}

/** A self-timed entry starts: its executor keeps the budget from here, its wait timer goes. */
export function stopWaitTimer<C extends Command>(entry: Entry<C>): void {
  if (entry.waitBudgetMs === undefined || entry.timer === undefined) return;
  clearTimeout(entry.timer);
  entry.timer = undefined;
}
