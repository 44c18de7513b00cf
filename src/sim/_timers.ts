/** One-shot timers of a simulated robot and the guard around every piece of timer or port work. */
import { getLogger } from "@logtape/logtape";
import type { TimerId } from "./context.ts";
import type { SimCounters } from "./stats.ts";

const log = getLogger(["rvr", "sim"]);

export class SimTimers {
  readonly #oneShots = new Set<TimerId>();

  constructor(readonly robot: string, readonly counters: SimCounters) {}

  /** Runs `fn` (guarded) after `ms`; clearOneShots() cancels it. */
  later(ms: number, fn: () => void): TimerId {
    const id = setTimeout(() => {
      this.#oneShots.delete(id);
      this.guard("timer", fn);
    }, ms);
    this.#oneShots.add(id);
    return id;
  }

  /** Runs timer/port work; an exception is a simulator bug: logged and counted, never thrown into the event loop. */
  guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.counters.internalErrors++;
      log.error("Simulator {what} failed: {error}", { what, error, robot: this.robot });
    }
  }

  clearOneShots(): void {
    for (const id of this.#oneShots) clearTimeout(id);
    this.#oneShots.clear();
  }
}
