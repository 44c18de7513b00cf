/**
 * Tiny AbortSignal-aware time helpers (stand-ins for `jsr:@std/async`, which is not reachable):
 *
 * - {@link delay}: resolves after `ms`; rejects with `signal.reason` when aborted.
 * - {@link withTimeout}: a deadline for a promise or for an operation that takes a signal
 *   (the operation's signal is aborted when the deadline passes or the caller aborts).
 * - {@link backoff}: an endless iterator of exponentially growing delays, capped; jitter is off by
 *   default so schedules are reproducible.
 *
 * Time comes from `setTimeout`/`clearTimeout` only, so fake timers drive all of it in tests. No
 * helper leaves a timer or a listener behind once its promise settles.
 *
 * @module
 */
import { TimeoutError } from "./errors.ts";

function checkMs(name: string, ms: number, allowInfinity: boolean): void {
  const ok = typeof ms === "number" && ms >= 0 &&
    (Number.isFinite(ms) || (allowInfinity && ms === Infinity));
  if (!ok) {
    const range = allowInfinity ? "a number >= 0 (or Infinity for none)" : "a finite number >= 0";
    throw new RangeError(`${name} must be ${range}, got ${String(ms)}.`);
  }
}

/** The reason a signal was aborted with, or a DOM AbortError if it has none. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted.", "AbortError");
}

export interface DelayOptions {
  /** Aborting rejects the delay at once with `signal.reason` and clears its timer. */
  signal?: AbortSignal;
}

/**
 * Resolves after `ms` milliseconds. Throws RangeError for a negative or non-finite `ms`.
 *
 * @example
 * ```ts
 * await delay(100, { signal: AbortSignal.timeout(1000) });
 * ```
 */
export function delay(ms: number, options: DelayOptions = {}): Promise<void> {
  checkMs("delay ms", ms, false);
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export interface WithTimeoutOptions {
  /** Aborting rejects at once with `signal.reason` (and aborts the operation's own signal). */
  signal?: AbortSignal;
  /** Message of the TimeoutError; the default names the budget. */
  message?: string;
}

/**
 * Settles like `operation`, or rejects with {@link TimeoutError} after `timeoutMs`
 * (`Infinity` = no deadline). When `operation` is a function it is called with a signal that is
 * aborted (reason: the TimeoutError, or the caller's abort reason) so it can stop its work; a bare
 * promise cannot be stopped and is only abandoned.
 *
 * @example
 * ```ts
 * const reply = await withTimeout((signal) => link.request("echo", {}, { signal }), 500, {
 *   message: "Echo got no reply within 500 ms; check the cable.",
 * });
 * ```
 */
export function withTimeout<T>(
  operation: Promise<T> | ((signal: AbortSignal) => Promise<T>),
  timeoutMs: number,
  options: WithTimeoutOptions = {},
): Promise<T> {
  checkMs("timeoutMs", timeoutMs, true);
  const { signal, message } = options;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  const controller = typeof operation === "function" ? new AbortController() : undefined;
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const fail = (reason: unknown) => {
      cleanup();
      controller?.abort(reason);
      reject(reason);
    };
    const onAbort = () => fail(abortReason(signal as AbortSignal));
    const cleanup = () => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    if (timeoutMs !== Infinity) {
      timer = setTimeout(() => {
        fail(
          new TimeoutError(
            message ??
              `Operation timed out after ${timeoutMs} ms; retry, or allow more time with a larger timeoutMs.`,
            timeoutMs,
          ),
        );
      }, timeoutMs);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    let promise: Promise<T>;
    try {
      promise = controller
        ? (operation as (s: AbortSignal) => Promise<T>)(controller.signal)
        : operation as Promise<T>;
    } catch (error) {
      fail(error);
      return;
    }
    Promise.resolve(promise).then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error) => {
        cleanup();
        reject(error);
      },
    );
  });
}

export interface BackoffOptions {
  /** First delay. Default 100 ms. */
  initialMs?: number;
  /** Cap for every delay. Default 30 000 ms. */
  maxMs?: number;
  /** Growth per step (>= 1). Default 2. */
  factor?: number;
  /**
   * Fraction (0-1) by which a delay may be randomly shortened: a delay `d` becomes
   * `d * (1 - jitter * random())`. Default 0 (off: the schedule is exact and reproducible).
   */
  jitter?: number;
  /** Source of randomness in [0, 1) for jitter. Default Math.random. */
  random?: () => number;
}

/**
 * Endless exponential backoff: initialMs, initialMs * factor, ... capped at maxMs. Take as many as
 * needed (`for (const ms of backoff()) { ... break; }`). Throws RangeError on bad options.
 *
 * @example
 * ```ts
 * const steps = backoff({ initialMs: 30_000, factor: 2, maxMs: 300_000 });
 * steps.next().value; // 30000, then 60000, 120000, 240000, 300000, 300000, ...
 * ```
 */
export function backoff(options: BackoffOptions = {}): IterableIterator<number> {
  const { initialMs = 100, maxMs = 30_000, factor = 2, jitter = 0, random = Math.random } = options;
  if (!(Number.isFinite(initialMs) && initialMs > 0)) {
    throw new RangeError(`backoff initialMs must be a finite number > 0, got ${initialMs}.`);
  }
  if (!(Number.isFinite(maxMs) && maxMs >= initialMs)) {
    throw new RangeError(
      `backoff maxMs must be finite and >= initialMs (${initialMs}), got ${maxMs}.`,
    );
  }
  if (!(Number.isFinite(factor) && factor >= 1)) {
    throw new RangeError(
      `backoff factor must be a finite number >= 1, got ${factor}; use 2 to double.`,
    );
  }
  if (!(jitter >= 0 && jitter <= 1)) {
    throw new RangeError(`backoff jitter must be between 0 and 1, got ${jitter}; 0 turns it off.`);
  }
  let next = initialMs;
  return {
    [Symbol.iterator]() {
      return this;
    },
    next(): IteratorResult<number> {
      const base = next;
      next = Math.min(next * factor, maxMs);
      const value = jitter === 0 ? base : base * (1 - jitter * random());
      return { value, done: false };
    },
  };
}
