/**
 * The auto-stop watchdog (`commandTimeoutS`, RVR_COMMAND_TIMEOUT, default 5, 0 disables):
 * re-armed by every movement command as it is sent ({@link Watchdog.kick}); when it runs out the
 * registered handlers ({@link Watchdog.onFire}) stop the robot. Every stop disarms it; a tracked
 * move holds it ({@link Watchdog.hold}) and re-arms it when done.
 *
 * Time comes from `setTimeout` and `Date.now` only (fake timers drive it in tests).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";

const log = getLogger(["rvr", "safety"]);

export const DEFAULT_COMMAND_TIMEOUT_S = 5;

/** `seconds` when it is a valid watchdog timeout; RangeError naming the value otherwise. */
export function checkCommandTimeout(seconds: unknown): number {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
    throw new RangeError(
      `commandTimeoutS must be a number of seconds >= 0 (RVR_COMMAND_TIMEOUT), got ${
        String(seconds)
      }; 0 disables the auto-stop watchdog, the default is ${DEFAULT_COMMAND_TIMEOUT_S}.`,
    );
  }
  return seconds;
}

export class Watchdog {
  #timeoutS: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #holds = 0;
  #expiresAt: number | null = null;
  #handlers: (() => void)[] = [];

  constructor(timeoutS: number = DEFAULT_COMMAND_TIMEOUT_S) {
    this.#timeoutS = checkCommandTimeout(timeoutS);
  }

  get timeoutS(): number {
    return this.#timeoutS;
  }

  /** Changes the timeout (0 disables it); an armed watchdog is re-armed with it. */
  setTimeoutS(seconds: number): void {
    this.#timeoutS = checkCommandTimeout(seconds);
    log.info("Auto-stop watchdog set to {seconds} s", { seconds });
    if (this.#timer !== undefined) this.kick();
  }

  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** Epoch ms when it fires, or null when not armed. */
  get expiresAt(): number | null {
    return this.#expiresAt;
  }

  /** Registers the function called when it runs out; returns the unregister function. */
  onFire(handler: () => void): () => void {
    this.#handlers = [...this.#handlers, handler];
    return () => {
      this.#handlers = this.#handlers.filter((h) => h !== handler);
    };
  }

  /** Suspends it while a tracked move runs; returns the release (the last one re-arms it). */
  hold(reason: string): () => void {
    this.#holds++;
    this.#clear();
    log.debug("Watchdog held ({reason})", { reason, holds: this.#holds });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds--;
      if (this.#holds === 0) this.kick();
    };
  }

  /** (Re-)arms it for `timeoutS` from now; does nothing when it is disabled or held. */
  kick(): void {
    this.#clear();
    if (this.#timeoutS === 0 || this.#holds > 0) return;
    const ms = this.#timeoutS * 1000;
    this.#expiresAt = Date.now() + ms;
    this.#timer = setTimeout(() => this.#fired(ms), ms);
  }

  /** Disarms it (the robot was stopped). */
  disarm(): void {
    this.#clear();
  }

  /** Clears the timer and forgets the handlers. */
  dispose(): void {
    this.#clear();
    this.#handlers = [];
  }

  #clear(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#expiresAt = null;
  }

  #fired(ms: number): void {
    this.#timer = undefined;
    this.#expiresAt = null;
    log.warn("No movement command for {ms} ms: the watchdog stops the robot", { ms });
    if (this.#handlers.length === 0) {
      log.error("Watchdog ran out but no stop handler is registered; nothing was sent");
      return;
    }
    for (const handler of this.#handlers) {
      try {
        handler();
      } catch (error) {
        log.error("Watchdog stop handler threw: {error}", { error });
      }
    }
  }
}
