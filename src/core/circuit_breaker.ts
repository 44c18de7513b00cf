/**
 * A circuit breaker for the link to the robot: after repeated failures it stops sending (failing
 * fast with {@link CircuitOpenError}) and lets exactly one probe decide when to resume.
 *
 * States ({@link CircuitState}, a discriminated union on `name`):
 * - **closed**: calls run. `failureThreshold` (default 5) consecutive failures open the circuit.
 *   What counts as a failure is the `isFailure(error)` predicate (default: every error); an error
 *   it rejects (e.g. the robot answered with an error code: the link works) counts as a success.
 * - **open**: `execute()` fails at once with {@link CircuitOpenError} (`retryInMs`, the time of
 *   the next probe in its message). After `openMs` (default 30 000) it goes half-open. Each
 *   consecutive re-open multiplies the open time by `backoffFactor` (default 2) up to `maxOpenMs`
 *   (default 300 000 = 5 min); closing resets it.
 * - **half_open**: exactly one probe runs. With a `probe` option (e.g. an echo) the breaker runs it
 *   itself, bounded by `probeTimeoutMs` (default 5000); without one, the first `execute()` call is
 *   the probe. Every other call fails fast meanwhile. Probe success closes the circuit, failure
 *   re-opens it with the longer open time.
 *
 * Outcomes of calls that started before a transition (e.g. still in flight when the circuit
 * opened) are ignored: only calls made while closed, and the probe, move the state.
 *
 * {@link CircuitBreaker.bypass} runs a call whatever the state and records nothing: the emergency
 * stop uses it, because it must reach the wire even while the circuit is open.
 *
 * Time comes from `Date.now()` and `setTimeout` only (fake timers drive it in tests). Call
 * {@link CircuitBreaker.dispose} when done: it clears the open timer and aborts a running probe.
 *
 * The state model lives in circuit_state.ts, the options, their defaults and checks in
 * circuit_options.ts (both re-exported here).
 *
 * Observability (for the metrics layer): {@link CircuitBreaker.stats} (counters), the
 * `onTransition` option / {@link CircuitBreaker.addListener} (every {@link CircuitTransition}, with
 * its reason). Listeners must not throw; one that does is logged and counted.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({
 *   name: "rvr-link",
 *   probe: (signal) => link.request("echo", { data: [] }, { signal }),
 *   isFailure: (e) => !(e instanceof RobotError),
 * });
 * await breaker.execute(() => link.request("get_battery_percentage", {}));
 * await breaker.bypass(() => link.request("drive_stop", {})); // e-stop: runs even while open
 * ```
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { backoff, withTimeout } from "./async.ts";
import { CircuitOpenError } from "./errors.ts";
import { type CircuitBreakerOptions, circuitSettings } from "./circuit_options.ts";
import type {
  CircuitBreakerStats,
  CircuitListener,
  CircuitState,
  CircuitTransition,
} from "./circuit_state.ts";

export * from "./circuit_options.ts";
export * from "./circuit_state.ts";

const log = getLogger(["rvr", "core"]);

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

export class CircuitBreaker {
  readonly name: string;
  readonly failureThreshold: number;
  readonly openMs: number;
  readonly backoffFactor: number;
  readonly maxOpenMs: number;
  readonly probeTimeoutMs: number;
  #isFailure: (error: unknown) => boolean;
  #probe: ((signal: AbortSignal) => Promise<unknown>) | undefined;
  #state: CircuitState;
  /** Bumped on every transition; outcomes from an older epoch are stale. */
  #epoch = 0;
  #steps: IterableIterator<number> | undefined;
  /** Opens since the circuit was last closed. */
  #consecutiveOpens = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #probeController: AbortController | undefined;
  #probeDeadline = 0;
  #disposed = false;
  #listeners: CircuitListener[] = [];
  #stats: Omit<CircuitBreakerStats, "state" | "consecutiveFailures" | "openMs"> = {
    successes: 0,
    failures: 0,
    rejected: 0,
    opens: 0,
    probesSucceeded: 0,
    probesFailed: 0,
    bypassed: 0,
    stale: 0,
    listenerErrors: 0,
  };

  constructor(options: CircuitBreakerOptions = {}) {
    const {
      name,
      failureThreshold,
      isFailure,
      openMs,
      backoffFactor,
      maxOpenMs,
      probe,
      probeTimeoutMs,
      onTransition,
    } = circuitSettings(options);
    this.name = name;
    this.failureThreshold = failureThreshold;
    this.openMs = openMs;
    this.backoffFactor = backoffFactor;
    this.maxOpenMs = maxOpenMs;
    this.probeTimeoutMs = probeTimeoutMs;
    this.#isFailure = isFailure;
    this.#probe = probe;
    this.#state = { name: "closed", since: Date.now(), consecutiveFailures: 0 };
    if (onTransition) this.#listeners.push(onTransition);
  }

  /** The current state (a new object after every change). */
  get state(): CircuitState {
    return this.#state;
  }

  /** A snapshot of the counters. */
  get stats(): CircuitBreakerStats {
    const s = this.#state;
    return {
      ...this.#stats,
      state: s.name,
      consecutiveFailures: s.name === "closed" ? s.consecutiveFailures : 0,
      openMs: s.name === "open" ? s.openMs : this.openMs,
    };
  }

  /** Adds a transition listener; returns a function that removes it. */
  addListener(listener: CircuitListener): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /**
   * Runs `fn` if the circuit allows it and records the outcome; rethrows `fn`'s error. Throws
   * {@link CircuitOpenError} at once while open, or while half-open with the probe running.
   */
  async execute<T>(fn: () => Promise<T>): Promise<T> {
    const s = this.#state;
    if (s.name === "open") {
      this.#stats.rejected++;
      const now = Date.now();
      throw new CircuitOpenError(
        this.name,
        Math.max(0, Math.ceil(s.retryAt - now)),
        s.retryAt,
        s.reason,
      );
    }
    if (s.name === "half_open") {
      if (s.probing || this.#probe !== undefined) {
        this.#stats.rejected++;
        const now = Date.now();
        const deadline = Math.max(now, this.#probeDeadline);
        throw new CircuitOpenError(
          this.name,
          deadline - now,
          deadline,
          "probing whether the link recovered",
          true,
        );
      }
      return this.#runProbe(fn) as Promise<T>;
    }
    const epoch = this.#epoch;
    let value: T;
    try {
      value = await fn();
    } catch (error) {
      this.#record(epoch, error, true);
      throw error;
    }
    this.#record(epoch, undefined, false);
    return value;
  }

  /**
   * Runs `fn` whatever the state (the e-stop path: it must reach the wire even while open) and
   * records nothing.
   */
  bypass<T>(fn: () => Promise<T>): Promise<T> {
    this.#stats.bypassed++;
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Forces the circuit closed (e.g. after a reconnect) and resets the backoff. */
  reset(reason = "manual reset"): void {
    this.#clearTimer();
    this.#abortProbe(reason);
    this.#steps = undefined;
    if (this.#state.name !== "closed" || this.#state.consecutiveFailures !== 0) {
      this.#to({ name: "closed", since: Date.now(), consecutiveFailures: 0 }, reason);
    }
  }

  /** Clears the open timer and aborts a running probe. The breaker stays in its state. */
  dispose(): void {
    this.#disposed = true;
    this.#clearTimer();
    this.#abortProbe("circuit breaker disposed");
    this.#epoch++;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- internals ----

  #record(epoch: number, error: unknown, threw: boolean): void {
    const s = this.#state;
    if (epoch !== this.#epoch || s.name !== "closed") {
      this.#stats.stale++;
      return;
    }
    if (threw && this.#isFailure(error)) {
      this.#stats.failures++;
      const consecutiveFailures = s.consecutiveFailures + 1;
      if (consecutiveFailures >= this.failureThreshold) {
        this.#open(`${consecutiveFailures} consecutive failures; last: ${describe(error)}`);
      } else {
        // Same state, new count: not a transition, so no epoch bump and no event.
        this.#state = { name: "closed", since: s.since, consecutiveFailures };
      }
    } else {
      this.#stats.successes++;
      if (s.consecutiveFailures !== 0) {
        this.#state = { name: "closed", since: s.since, consecutiveFailures: 0 };
      }
    }
  }

  #open(reason: string): void {
    const prev = this.#state;
    if (this.#steps === undefined) {
      this.#steps = backoff({
        initialMs: this.openMs,
        factor: this.backoffFactor,
        maxMs: this.maxOpenMs,
      });
    }
    const openMs = this.#steps.next().value as number;
    const opens = prev.name === "half_open" ? this.#consecutiveOpens + 1 : 1;
    this.#consecutiveOpens = opens;
    const now = Date.now();
    this.#stats.opens++;
    this.#to({ name: "open", since: now, openMs, retryAt: now + openMs, opens, reason }, reason);
    if (!this.#disposed) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#halfOpen(openMs);
      }, openMs);
    }
    log.warn("Circuit {name} opened for {openMs} ms: {reason}", {
      name: this.name,
      openMs,
      reason,
    });
  }

  #halfOpen(openMs: number): void {
    const probe = this.#probe;
    this.#to(
      { name: "half_open", since: Date.now(), probing: false },
      `open for ${openMs} ms; probing`,
    );
    if (probe === undefined) return;
    const controller = new AbortController();
    this.#probeController = controller;
    this.#runProbe(() =>
      withTimeout(probe, this.probeTimeoutMs, {
        signal: controller.signal,
        message: `Probe of circuit "${this.name}" got no answer within ${this.probeTimeoutMs} ms.`,
      })
    ).then(
      () => {},
      (error) => log.debug("Probe of circuit {name} failed: {error}", { name: this.name, error }),
    );
  }

  /** Runs the one probe; its outcome closes or re-opens the circuit. */
  async #runProbe(fn: () => Promise<unknown>): Promise<unknown> {
    this.#probeDeadline = this.#probe !== undefined ? Date.now() + this.probeTimeoutMs : Date.now();
    this.#to({ name: "half_open", since: this.#state.since, probing: true }, "probe started");
    const epoch = this.#epoch;
    let value: unknown;
    try {
      value = await fn();
    } catch (error) {
      this.#probeController = undefined;
      if (epoch !== this.#epoch) {
        this.#stats.stale++;
      } else if (this.#isFailure(error)) {
        this.#stats.probesFailed++;
        this.#open(`probe failed: ${describe(error)}`);
      } else {
        this.#probeSucceeded();
      }
      throw error;
    }
    this.#probeController = undefined;
    if (epoch !== this.#epoch) this.#stats.stale++;
    else this.#probeSucceeded();
    return value;
  }

  #probeSucceeded(): void {
    this.#stats.probesSucceeded++;
    this.#steps = undefined;
    this.#consecutiveOpens = 0;
    this.#to({ name: "closed", since: Date.now(), consecutiveFailures: 0 }, "probe succeeded");
    log.info("Circuit {name} closed: probe succeeded", { name: this.name });
  }

  #to(next: CircuitState, reason: string): void {
    const from = this.#state.name;
    this.#state = next;
    this.#epoch++;
    if (from === next.name) return; // half_open -> half_open (probe started): state detail only
    const transition: CircuitTransition = {
      from,
      to: next.name,
      reason,
      at: next.since,
      state: next,
    };
    for (const listener of this.#listeners) {
      try {
        listener(transition);
      } catch (error) {
        this.#stats.listenerErrors++;
        log.error("Circuit {name} transition listener threw: {error}", { name: this.name, error });
      }
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #abortProbe(reason: string): void {
    if (this.#probeController !== undefined) {
      this.#probeController.abort(new Error(`Probe of circuit "${this.name}" aborted: ${reason}.`));
      this.#probeController = undefined;
    }
  }
}
