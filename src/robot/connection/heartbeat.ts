/**
 * The heartbeat: an empty echo to the Nordic processor every period. Two misses in a row
 * ({@link HEARTBEAT_MISSES}) mean the robot went silent (one lost echo on a noisy UART must not
 * stop a drive); then `onSilent` runs (the connection closes the link, with drive_stop first, and
 * looks for the robot again). One echo at a time: a beat while the last one is still waiting is
 * skipped.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RobotMetrics as Metrics } from "../metrics.ts";
import type { RvrLink } from "../../link/mod.ts";
import { errorMessage } from "../../core/errors.ts";

const log = getLogger(["rvr", "robot", "connection"]);

/** Misses in a row after which the heartbeat declares the robot silent. */
export const HEARTBEAT_MISSES = 2;

export interface HeartbeatOptions {
  /** RVR_HEARTBEAT_MS; 0 disables the heartbeat. */
  periodMs: number;
  /** Reply timeout of the link; an echo waits min(this, periodMs). */
  requestTimeoutMs: number;
  metrics?: Metrics;
  /** Whether `link` is still the connection's link (a beat of an old link counts for nothing). */
  isCurrent(link: RvrLink): boolean;
  /** The robot went silent on the current link. */
  onSilent(reason: string): Promise<void>;
}

export class Heartbeat {
  readonly #o: HeartbeatOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #busy = false;
  #misses = 0;

  constructor(options: HeartbeatOptions) {
    this.#o = options;
  }

  /** Counts misses from zero for a new link. */
  reset(): void {
    this.#misses = 0;
  }

  /** Beats on `link` every period (nothing when the period is 0). */
  start(link: RvrLink): void {
    if (this.#o.periodMs > 0) {
      this.#timer = setInterval(() => void this.#beat(link), this.#o.periodMs);
    }
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #beat(link: RvrLink): Promise<void> {
    if (this.#busy || !this.#o.isCurrent(link)) return;
    this.#busy = true;
    try {
      await link.request("echo", { data: [] }, {
        target: 1,
        timeoutMs: Math.min(this.#o.requestTimeoutMs, this.#o.periodMs),
      });
      this.#misses = 0;
    } catch (e) {
      if (!this.#o.isCurrent(link)) return;
      this.#misses++;
      this.#o.metrics?.heartbeatFailuresTotal.inc();
      log.warn("Heartbeat echo missed ({misses} in a row): {error}", {
        misses: this.#misses,
        error: errorMessage(e),
      });
      if (this.#misses >= HEARTBEAT_MISSES) {
        await this.#o.onSilent(`robot silent: ${this.#misses} heartbeat echoes unanswered`);
      }
    } finally {
      this.#busy = false;
    }
  }
}
