/**
 * The background connect: one attempt now and, while the robot is not there, more with growing
 * pauses (250 ms up to 5 s by default) until one succeeds or the loop is stopped. Used by the
 * auto-connect at start-up and the reconnect after a lost link. What a failed attempt means
 * (state, callers waiting for the robot) is the caller's `onFailure`.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { backoff, delay } from "../../core/async.ts";
import { errorMessage } from "../../core/errors.ts";

const log = getLogger(["rvr", "robot", "connection"]);

export interface ReconnectLoopOptions {
  /** First pause between attempts, ms (default 250). */
  initialMs?: number;
  /** Longest pause, ms (default 5000). */
  maxMs?: number;
  /** One connect attempt; resolves when connected. */
  attempt(signal: AbortSignal): Promise<unknown>;
  /** An attempt failed (the loop was not stopped); `first`: the very first of an auto-connect. */
  onFailure(error: unknown, first: boolean): void;
}

export class ReconnectLoop {
  readonly #o: ReconnectLoopOptions;
  /** Aborts the loop (and the connect attempt it runs). */
  #controller: AbortController | undefined;
  #done: Promise<void> | undefined;

  constructor(options: ReconnectLoopOptions) {
    this.#o = options;
  }

  /** True while the loop runs (also in its pauses between attempts). */
  get running(): boolean {
    return this.#controller !== undefined;
  }

  /** Starts the loop; `reconnecting`: after a lost link (else an auto-connect's first try). */
  start(reconnecting: boolean): void {
    const controller = new AbortController();
    this.#controller = controller;
    const signal = controller.signal;
    const pauses = backoff({
      initialMs: this.#o.initialMs ?? 250,
      maxMs: this.#o.maxMs ?? 5000,
    });
    const loop = async () => {
      let first = !reconnecting;
      while (!signal.aborted) {
        try {
          await this.#o.attempt(signal);
          return;
        } catch (e) {
          if (signal.aborted) return;
          this.#o.onFailure(e, first);
          first = false;
        }
        try {
          await delay(pauses.next().value as number, { signal });
        } catch (e) {
          if (!signal.aborted) throw e;
        }
      }
    };
    this.#done = loop().catch((e) => {
      log.error("Background connect stopped unexpectedly: {error}", { error: errorMessage(e), e });
    }).finally(() => {
      if (this.#controller === controller) this.#controller = undefined;
    });
  }

  /** Stops the loop and waits until it ended (an attempt in progress is aborted). */
  async stop(): Promise<void> {
    this.#controller?.abort(new Error("background connect stopped"));
    this.#controller = undefined;
    await this.#done;
    this.#done = undefined;
  }
}
