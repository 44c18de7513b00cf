/**
 * What the command queue tells the world: its listeners, the count of every outcome, and the
 * listener errors (a listener that throws is logged and counted, never disturbs the queue).
 * Private to the queue.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Entry } from "./_queue_lane.ts";
import {
  type Command,
  COMMAND_OUTCOMES,
  type CommandOutcome,
  type Priority,
  type QueueEvent,
  type QueueListener,
} from "./queue_types.ts";

const log = getLogger(["rvr", "core"]);

export class QueueObserver<C extends Command> {
  #listeners: QueueListener<C>[] = [];
  listenerErrors = 0;
  readonly outcomes = Object.fromEntries(COMMAND_OUTCOMES.map((o) => [o, 0])) as Record<
    CommandOutcome,
    number
  >;

  /** True when someone listens: events are only built then. */
  get listening(): boolean {
    return this.#listeners.length > 0;
  }

  add(listener: QueueListener<C>): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** Counts how `entry` ended and tells the listeners, with its wait and run times. */
  finished(entry: Entry<C>, outcome: CommandOutcome, value: unknown): void {
    this.outcomes[outcome]++;
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
    this.emit(event);
  }

  /** Counts a command refused before it was queued and tells the listeners. */
  refused(command: C, priority: Priority, outcome: CommandOutcome, error: unknown): void {
    this.outcomes[outcome]++;
    if (this.#listeners.length === 0) return;
    this.emit({
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

  emit(event: QueueEvent<C>): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.listenerErrors++;
        log.error("Command queue listener threw on {type}: {error}", { type: event.type, error });
      }
    }
  }
}
