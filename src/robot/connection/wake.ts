/**
 * The wake/ready handshake: `wake` with a reply requested, then an empty echo to each processor,
 * retried with a short growing pause until the deadline. No fixed sleep: the Python SDK's
 * `sleep(2)` after wake exists only because it never asks wake for a reply (rvr-protocol.md
 * section 11).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { backoff, delay } from "../../core/async.ts";
import { ResponseTimeoutError, type RvrLink } from "../../link/mod.ts";
import { RobotNotRespondingError } from "../errors.ts";
import { errorMessage } from "../../core/errors.ts";

const log = getLogger(["rvr", "robot", "connection"]);

export interface WakeOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Per-attempt reply timeout; default min(500, timeoutMs). */
  attemptTimeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Wakes the robot and waits until both processors answer an echo. Throws
 * RobotNotRespondingError after `timeoutMs`.
 */
export async function wakeRobot(
  link: RvrLink,
  portPath: string,
  options: WakeOptions,
): Promise<{ elapsedMs: number; attempts: number }> {
  const started = performance.now();
  const deadline = started + options.timeoutMs;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? Math.min(500, options.timeoutMs);
  const pauses = backoff({ initialMs: 20, maxMs: 250 });
  const signal = options.signal;
  let attempts = 0;
  let lastError: unknown;
  let heardAnything = false;
  while (true) {
    signal?.throwIfAborted();
    attempts++;
    const timeoutMs = Math.max(10, Math.min(attemptTimeoutMs, deadline - performance.now()));
    try {
      await link.request("wake", {}, { requestsResponse: true, timeoutMs, signal });
      heardAnything = true;
      await link.request("echo", { data: [] }, { target: 1, timeoutMs, signal });
      await link.request("echo", { data: [] }, { target: 2, timeoutMs, signal });
      return { elapsedMs: performance.now() - started, attempts };
    } catch (e) {
      if (signal?.aborted || !link.isOpen) throw e;
      lastError = e;
      if (!(e instanceof ResponseTimeoutError)) heardAnything = true;
      log.debug("Wake attempt {attempts} failed: {error}", { attempts, error: errorMessage(e) });
    }
    const left = deadline - performance.now();
    if (left <= 0) {
      throw new RobotNotRespondingError(portPath, options.timeoutMs, lastError, heardAnything);
    }
    // A short, growing pause so a robot that is still booting is not flooded.
    await delay(Math.min(pauses.next().value as number, left), { signal });
  }
}
