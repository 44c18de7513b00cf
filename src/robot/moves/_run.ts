/**
 * The bookkeeping of one running move: why it ended (the first reason wins), the signals its
 * awaits and its robot commands follow, its deadline, its progress reports and its clean-ups.
 * Private to moves/.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { errorMessage } from "../../core/mod.ts";
import type { MoveName, MoveOptions, MoveProgress, Pose } from "./types.ts";

const log = getLogger(["rvr", "robot", "moves"]);

/**
 * Why a move ended early: cancelled by the caller, stopped by a stop from anywhere, superseded by
 * a newer move, timed out, failed as the firmware reported, or an error sending its commands.
 */
export type EndKind = "cancelled" | "stopped" | "superseded" | "timeout" | "failed" | "error";

/** Why a move ended early; what its awaits reject with (turned into `error` at the end). */
export class End {
  constructor(readonly kind: EndKind, readonly error: unknown) {}
}

/** The bookkeeping of one move: abort sources, listeners, the last pose. */
export class MoveRun {
  readonly name: MoveName;
  readonly #ctl = new AbortController();
  /** Handed to the move's robot commands: aborted (AbortError) when the move ends. */
  readonly #commands = new AbortController();
  readonly #cleanups: (() => void)[] = [];
  /** True once the move's own movement command may have gone out (ending it then stops the robot). */
  sent = false;
  lastPose: Pose | null = null;
  #lastProgress = -Infinity;
  readonly #onProgress: ((p: MoveProgress) => void) | undefined;

  #watching = false;

  constructor(name: MoveName, options: MoveOptions) {
    this.name = name;
    this.#onProgress = options.onProgress;
    const user = options.signal;
    if (user !== undefined) {
      const onAbort = () => this.end("cancelled", user.reason);
      if (user.aborted) onAbort();
      else {
        user.addEventListener("abort", onAbort, { once: true });
        this.#cleanups.push(() => user.removeEventListener("abort", onAbort));
      }
    }
  }

  /**
   * Ends the move when `moves` (rvr.movesSignal()) aborts: any stop. An already aborted signal
   * (the e-stop is latched) is not watched: the movement command itself is then refused.
   */
  watch(moves: AbortSignal): void {
    if (this.#watching || moves.aborted) return;
    this.#watching = true;
    const onStop = () => this.end("stopped", moves.reason);
    moves.addEventListener("abort", onStop, { once: true });
    this.#cleanups.push(() => moves.removeEventListener("abort", onStop));
  }

  get signal(): AbortSignal {
    return this.#ctl.signal;
  }

  /** For the move's robot commands: a command still queued when the move ends is dropped. */
  get commandSignal(): AbortSignal {
    return this.#commands.signal;
  }

  get ended(): End | undefined {
    return this.#ctl.signal.aborted ? this.#ctl.signal.reason as End : undefined;
  }

  /** Ends the move (first reason wins). */
  end(kind: EndKind, error: unknown): void {
    if (this.#ctl.signal.aborted) return;
    this.#ctl.abort(new End(kind, error));
    this.#commands.abort(new DOMException(`${this.name} ended (${kind})`, "AbortError"));
  }

  /** Registers a clean-up run once by {@link dispose}. */
  onDispose(fn: () => void): void {
    this.#cleanups.push(fn);
  }

  /** Settles like `p`, or rejects with the end reason as soon as the move ends. */
  until<T>(p: Promise<T>): Promise<T> {
    const signal = this.#ctl.signal;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      // `p` is always followed, so its late rejection is handled (settling twice is a no-op).
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
      p.then(
        (v) => {
          signal.removeEventListener("abort", onAbort);
          resolve(v);
        },
        (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      );
    });
  }

  /** Ends the move with a timeout after `ms` (the timer is cleared on dispose). */
  deadline(ms: number, error: () => unknown): void {
    const timer = setTimeout(() => this.end("timeout", error()), ms);
    this.#cleanups.push(() => clearTimeout(timer));
  }

  progress(progress: number, total: number, message: string): void {
    if (
      this.#onProgress === undefined || !(progress > this.#lastProgress) || this.lastPose === null
    ) {
      return;
    }
    this.#lastProgress = progress;
    try {
      this.#onProgress({ progress, total, message, pose: this.lastPose });
    } catch (error) {
      log.error("A progress listener of {move} threw: {error}", {
        move: this.name,
        error: errorMessage(error),
      });
    }
  }

  dispose(): void {
    for (const fn of this.#cleanups.splice(0)) {
      try {
        fn();
      } catch (error) {
        log.error("Clean-up of {move} failed: {error}", {
          move: this.name,
          error: errorMessage(error),
        });
      }
    }
  }
}
