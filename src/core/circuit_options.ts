/**
 * The circuit breaker's options (circuit_breaker.ts): what each one means, its default, and the
 * check that turns a bad value into a clear error before the breaker exists.
 *
 * @module
 */
import type { CircuitListener } from "./circuit_state.ts";
import { checkIntegerAtLeast } from "./validate.ts";

export interface CircuitBreakerOptions {
  /** Used in messages and logs. Default "circuit". */
  name?: string;
  /** Consecutive failures that open the circuit. Default 5. */
  failureThreshold?: number;
  /** Which errors count as failures. Default: all. */
  isFailure?: (error: unknown) => boolean;
  /** First open period, ms. Default 30 000. */
  openMs?: number;
  /** Growth of the open period per consecutive re-open (>= 1). Default 2. */
  backoffFactor?: number;
  /** Cap of the open period, ms. Default 300 000. */
  maxOpenMs?: number;
  /** Probe run by the breaker when half-open, e.g. an echo. Default: the next execute() call. */
  probe?: (signal: AbortSignal) => Promise<unknown>;
  /** Deadline for `probe`, ms. Default 5000. */
  probeTimeoutMs?: number;
  /** A transition listener registered at construction. */
  onTransition?: CircuitListener;
}

/** The options with their defaults filled in. */
export type CircuitSettings =
  & Required<Omit<CircuitBreakerOptions, "probe" | "onTransition">>
  & Pick<CircuitBreakerOptions, "probe" | "onTransition">;

/** `options` with defaults, checked: RangeError/TypeError naming the option, the value and the fix. */
export function circuitSettings(options: CircuitBreakerOptions): CircuitSettings {
  const {
    name = "circuit",
    failureThreshold = 5,
    isFailure = () => true,
    openMs = 30_000,
    backoffFactor = 2,
    maxOpenMs = 300_000,
    probe,
    probeTimeoutMs = 5000,
    onTransition,
  } = options;
  checkIntegerAtLeast("failureThreshold", failureThreshold, 1, "the default is 5");
  if (!(Number.isFinite(openMs) && openMs > 0)) {
    throw new RangeError(
      `openMs must be a finite number > 0, got ${openMs}; the default is 30000.`,
    );
  }
  if (!(Number.isFinite(backoffFactor) && backoffFactor >= 1)) {
    throw new RangeError(
      `backoffFactor must be a finite number >= 1, got ${backoffFactor}; 1 keeps openMs fixed.`,
    );
  }
  if (!(Number.isFinite(maxOpenMs) && maxOpenMs >= openMs)) {
    throw new RangeError(`maxOpenMs must be finite and >= openMs (${openMs}), got ${maxOpenMs}.`);
  }
  if (!(Number.isFinite(probeTimeoutMs) && probeTimeoutMs > 0)) {
    throw new RangeError(
      `probeTimeoutMs must be a finite number > 0, got ${probeTimeoutMs}; the default is 5000.`,
    );
  }
  if (probe !== undefined && typeof probe !== "function") {
    throw new TypeError(`probe must be a function (signal) => Promise, got ${typeof probe}.`);
  }
  return {
    name,
    failureThreshold,
    isFailure,
    openMs,
    backoffFactor,
    maxOpenMs,
    probe,
    probeTimeoutMs,
    onTransition,
  };
}
