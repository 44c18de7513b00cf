/**
 * Callers waiting for the robot (Connection.awaitLink) while a connect is in progress: each gets
 * that connect's link or its error, or gives up when its own signal aborts or the wait ends.
 *
 * @module
 */
import type { RvrLink } from "../../link/mod.ts";

/** How a connect in progress ended, for the callers waiting for the robot. */
export type Outcome = { link: RvrLink } | { error: unknown };

export class LinkWaiters {
  readonly #waiters = new Set<(outcome: Outcome) => void>();

  /**
   * Waits for the next {@link settle}, at most `waitMs`; then rejects with what `onTimeout`
   * returns (built at that moment). Rejects with the signal's reason when it aborts.
   */
  wait(options: { waitMs: number; signal?: AbortSignal; onTimeout(): Error }): Promise<RvrLink> {
    const { waitMs, signal } = options;
    return new Promise<RvrLink>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(onOutcome);
        signal?.removeEventListener("abort", onAbort);
      };
      const onOutcome = (outcome: Outcome) => {
        done();
        if ("link" in outcome) resolve(outcome.link);
        else reject(outcome.error);
      };
      const onAbort = () => {
        done();
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        done();
        reject(options.onTimeout());
      }, waitMs);
      this.#waiters.add(onOutcome);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Tells every waiting caller how the connect in progress ended. */
  settle(outcome: Outcome): void {
    for (const waiter of [...this.#waiters]) waiter(outcome);
  }
}
