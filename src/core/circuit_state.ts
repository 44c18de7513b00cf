/**
 * The circuit breaker's state model (circuit_breaker.ts): the three states as a discriminated
 * union on `name`, the transition its listeners receive, and its counters.
 *
 * @module
 */

export const CIRCUIT_STATE_NAMES = ["closed", "open", "half_open"] as const;
export type CircuitStateName = typeof CIRCUIT_STATE_NAMES[number];

export type CircuitState =
  | {
    readonly name: "closed";
    /** Epoch ms when this state was entered. */
    readonly since: number;
    readonly consecutiveFailures: number;
  }
  | {
    readonly name: "open";
    readonly since: number;
    /** How long this open period lasts, in ms. */
    readonly openMs: number;
    /** Epoch ms of the next probe. */
    readonly retryAt: number;
    /** Consecutive opens without a close in between (1 for the first). */
    readonly opens: number;
    /** Why it opened (the failure that tripped it, or the failed probe). */
    readonly reason: string;
  }
  | {
    readonly name: "half_open";
    readonly since: number;
    /** True while the one probe runs. */
    readonly probing: boolean;
  };

export interface CircuitTransition {
  from: CircuitStateName;
  to: CircuitStateName;
  /** Human-readable cause, e.g. "5 consecutive failures; last: ..." or "probe succeeded". */
  reason: string;
  /** Epoch ms. */
  at: number;
  /** The new state. */
  state: CircuitState;
}

export type CircuitListener = (transition: CircuitTransition) => void;

export interface CircuitBreakerStats {
  state: CircuitStateName;
  consecutiveFailures: number;
  /** Calls that succeeded (or failed with a non-failure error). */
  successes: number;
  /** Calls whose error counted as a failure. */
  failures: number;
  /** Calls refused with CircuitOpenError. */
  rejected: number;
  /** Times the circuit opened (from closed or from a failed probe). */
  opens: number;
  probesSucceeded: number;
  probesFailed: number;
  /** Calls run through bypass(). */
  bypassed: number;
  /** Outcomes ignored because the state changed while the call ran. */
  stale: number;
  /** Length of the current (or next) open period, ms. */
  openMs: number;
  listenerErrors: number;
}
