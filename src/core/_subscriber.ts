/**
 * Private to src/core: one subscriber of the {@link EventBus} (event_bus.ts): its bounded
 * drop-oldest ring buffer and counters ({@link Subscriber}), and delivery to a callback from a
 * microtask loop ({@link CallbackSubscriber}), isolated from the publisher and the other
 * subscribers.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Subscription, SubscriptionStats } from "./event_bus.ts";

const log = getLogger(["rvr", "core"]);

/** Logs the 1st, 10th, 100th, ... occurrence so a misbehaving subscriber cannot flood the log. */
function worthLogging(count: number): boolean {
  while (count >= 10 && count % 10 === 0) count /= 10;
  return count === 1;
}

/** The bus-wide counters every subscriber adds to. */
export interface Counters {
  delivered: number;
  dropped: number;
  subscriberErrors: number;
}

/** A subscriber's ring buffer and counters; delivery is done by the subclasses. */
export abstract class Subscriber<E> implements Subscription {
  readonly name: string;
  readonly topics: readonly string[];
  protected ring: (E | undefined)[];
  protected head = 0;
  protected len = 0;
  protected delivered = 0;
  protected dropped = 0;
  protected errors = 0;
  /** Unsubscribed: deliver nothing more. */
  protected stopped = false;
  /** Bus closed: deliver what is buffered, then finish. */
  protected ending = false;
  #detach: (sub: Subscriber<E>) => void;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;
  protected counters: Counters;

  constructor(
    name: string,
    topics: readonly string[],
    bufferSize: number,
    counters: Counters,
    detach: (sub: Subscriber<E>) => void,
    signal: AbortSignal | undefined,
  ) {
    this.name = name;
    this.topics = topics;
    this.ring = new Array(bufferSize);
    this.counters = counters;
    this.#detach = detach;
    if (signal?.aborted) {
      this.stopped = true;
    } else if (signal !== undefined) {
      this.#signal = signal;
      this.#onAbort = () => this.unsubscribe();
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  get closed(): boolean {
    return this.stopped || (this.ending && this.len === 0);
  }

  get stats(): SubscriptionStats {
    return {
      delivered: this.delivered,
      dropped: this.dropped,
      errors: this.errors,
      buffered: this.len,
    };
  }

  /** Buffers an event (dropping the oldest when full) and wakes delivery. */
  offer(event: E): void {
    const cap = this.ring.length;
    if (this.len === cap) {
      this.head = (this.head + 1) % cap;
      this.len--;
      this.dropped++;
      this.counters.dropped++;
      if (worthLogging(this.dropped)) {
        log.warn(
          "Subscriber {name} is too slow: dropped {dropped} event(s) (buffer {bufferSize})",
          {
            name: this.name,
            dropped: this.dropped,
            bufferSize: cap,
          },
        );
      }
    }
    this.ring[(this.head + this.len) % cap] = event;
    this.len++;
    this.wake();
  }

  protected shift(): E {
    const event = this.ring[this.head] as E;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.ring.length;
    this.len--;
    return event;
  }

  protected countDelivered(): void {
    this.delivered++;
    this.counters.delivered++;
  }

  unsubscribe(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.ring.fill(undefined);
    this.len = 0;
    this.release();
    this.finish();
  }

  /** The bus closed: finish once the buffer is delivered. */
  end(): void {
    if (this.ending || this.stopped) return;
    this.ending = true;
    this.release();
    this.wake();
  }

  /** Detaches from the bus and the abort signal. */
  protected release(): void {
    this.#detach(this);
    if (this.#onAbort !== undefined) {
      this.#signal?.removeEventListener("abort", this.#onAbort);
      this.#onAbort = undefined;
    }
  }

  protected abstract wake(): void;
  protected abstract finish(): void;
}

/** Delivers to a callback from a microtask loop, one event at a time, awaiting async callbacks. */
export class CallbackSubscriber<E> extends Subscriber<E> {
  #callback: (event: E) => void | Promise<void>;
  #running = false;

  constructor(
    callback: (event: E) => void | Promise<void>,
    ...rest: ConstructorParameters<typeof Subscriber<E>>
  ) {
    super(...rest);
    this.#callback = callback;
  }

  protected wake(): void {
    if (this.#running || this.len === 0) return;
    this.#running = true;
    // A resolved promise rather than queueMicrotask: fake-timer libraries replace the latter.
    Promise.resolve().then(() => this.#loop());
  }

  protected finish(): void {}

  async #loop(): Promise<void> {
    while (this.len > 0 && !this.stopped) {
      const event = this.shift();
      try {
        const result = this.#callback(event);
        if (result !== undefined && typeof (result as Promise<void>).then === "function") {
          await result;
        }
      } catch (error) {
        this.errors++;
        this.counters.subscriberErrors++;
        if (worthLogging(this.errors)) {
          log.error("Subscriber {name} threw ({errors} so far): {error}", {
            name: this.name,
            errors: this.errors,
            error,
          });
        }
      }
      this.countDelivered();
    }
    this.#running = false;
  }
}
