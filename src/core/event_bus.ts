/**
 * A typed, in-process publish/subscribe bus: robot notifications, stream samples, state changes
 * and safety events go through one of these. The robot layer defines the topics as a map type
 * from topic name to payload type:
 *
 * ```ts
 * interface RobotTopics {
 *   "state": StateChange;
 *   "sample": SensorSample;
 *   "safety": SafetyEvent;
 * }
 * const bus = new EventBus<RobotTopics>();
 * const sub = bus.subscribe("safety", (e) => handle(e.payload));
 * for await (const e of bus.stream(["state", "sample"])) { ... } // e is a union on e.topic
 * ```
 *
 * Rules:
 * - **publish never blocks and never throws**: it only appends to each subscriber's buffer.
 *   Publishing after `close()` is ignored and counted (`stats.publishedAfterClose`).
 * - **Bounded, drop-oldest**: each subscriber has its own buffer (`bufferSize`, default 256); when
 *   it is full the oldest event is dropped and counted (per subscriber and in total). A slow
 *   subscriber only loses its own events.
 * - **Async delivery, per subscriber, in order**: a callback subscriber is called from a microtask
 *   loop, one event at a time (an async callback is awaited before the next event); a stream
 *   subscriber is an async iterator. Nothing is delivered synchronously inside `publish`.
 * - **Isolation**: a callback that throws (or rejects) is logged through
 *   `getLogger(["rvr", "core"])` (rate-limited) and counted; it keeps receiving later events and
 *   never disturbs the publisher or other subscribers.
 * - **unsubscribe** stops delivery at once (buffered events are discarded); a subscription can
 *   also be tied to an AbortSignal. **close()** ends every subscription after its buffered events
 *   are delivered; streams then finish.
 *
 * Events are shared between subscribers: treat them as read-only.
 *
 * Observability (for the metrics layer): {@link EventBus.stats} (published per topic, delivered,
 * dropped, subscriber errors, subscribers) and each {@link Subscription.stats} (delivered,
 * dropped, errors, buffered).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { checkIntegerAtLeast } from "./validate.ts";

const log = getLogger(["rvr", "core"]);

/** One delivered event; for several topics a union discriminated on `topic`. */
export type BusEvent<Topics, K extends keyof Topics = keyof Topics> = {
  [P in K]: {
    readonly topic: P;
    readonly payload: Topics[P];
    /** Bus-wide sequence number, from 1. */
    readonly seq: number;
    /** Epoch ms of the publish. */
    readonly publishedAt: number;
  };
}[K];

export interface SubscribeOptions {
  /** Events held for this subscriber before the oldest is dropped. Default: the bus default. */
  bufferSize?: number;
  /** Aborting unsubscribes. */
  signal?: AbortSignal;
  /** For logs. Default "subscriber-<n>". */
  name?: string;
}

export interface SubscriptionStats {
  /** Events handed to the callback or iterator. */
  delivered: number;
  /** Events dropped (oldest first) because the buffer was full. */
  dropped: number;
  /** Callback throws/rejections. */
  errors: number;
  /** Events waiting in the buffer now. */
  buffered: number;
}

export interface Subscription {
  readonly name: string;
  readonly topics: readonly string[];
  /** True after unsubscribe, abort, or bus close (once buffered events are delivered). */
  readonly closed: boolean;
  /** A snapshot of this subscriber's counters. */
  readonly stats: SubscriptionStats;
  /** Stops delivery at once; buffered events are discarded. Idempotent. */
  unsubscribe(): void;
}

/** A stream subscription: an async iterator of events, and a {@link Subscription}. */
export interface BusStream<T> extends AsyncIterableIterator<T>, Subscription {}

export interface EventBusStats {
  /** Publishes accepted, per topic. */
  publishedByTopic: Record<string, number>;
  published: number;
  /** Publishes ignored because the bus was closed. */
  publishedAfterClose: number;
  delivered: number;
  dropped: number;
  subscriberErrors: number;
  subscribers: number;
}

export interface EventBusOptions {
  /** For logs. Default "bus". */
  name?: string;
  /** Default per-subscriber buffer. Default 256. */
  bufferSize?: number;
}

const DEFAULT_BUFFER_SIZE = 256;

function checkBufferSize(n: number): void {
  checkIntegerAtLeast("bufferSize", n, 1, "the default is 256");
}

/** Logs the 1st, 10th, 100th, ... occurrence so a misbehaving subscriber cannot flood the log. */
function worthLogging(count: number): boolean {
  while (count >= 10 && count % 10 === 0) count /= 10;
  return count === 1;
}

interface Counters {
  delivered: number;
  dropped: number;
  subscriberErrors: number;
}

/** A subscriber's ring buffer and counters; delivery is done by the subclasses. */
abstract class Subscriber<E> implements Subscription {
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

class CallbackSubscriber<E> extends Subscriber<E> {
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

class StreamSubscriber<E> extends Subscriber<E> implements BusStream<E> {
  #waiter: ((result: IteratorResult<E>) => void) | undefined;

  protected wake(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    if (this.len > 0) {
      this.#waiter = undefined;
      this.countDelivered();
      waiter({ value: this.shift(), done: false });
    } else if (this.closed) {
      this.#waiter = undefined;
      waiter({ value: undefined, done: true });
    }
  }

  protected finish(): void {
    this.wake();
  }

  next(): Promise<IteratorResult<E>> {
    if (this.len > 0 && !this.stopped) {
      this.countDelivered();
      return Promise.resolve({ value: this.shift(), done: false });
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiter !== undefined) {
      return Promise.reject(
        new TypeError(
          `Stream ${this.name}: next() called again before the previous call resolved; await each call.`,
        ),
      );
    }
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  return(): Promise<IteratorResult<E>> {
    this.unsubscribe();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

type TopicOf<Topics> = keyof Topics & string;

/** See the module documentation. `Topics` maps each topic name to its payload type. */
export class EventBus<Topics extends { [K in keyof Topics]: unknown }> {
  readonly name: string;
  readonly bufferSize: number;
  #byTopic = new Map<string, Set<Subscriber<unknown>>>();
  #subscribers = new Set<Subscriber<unknown>>();
  #seq = 0;
  #closed = false;
  #publishedByTopic = new Map<string, number>();
  #publishedAfterClose = 0;
  #counters: Counters = { delivered: 0, dropped: 0, subscriberErrors: 0 };
  #nextId = 1;

  constructor(options: EventBusOptions = {}) {
    const { name = "bus", bufferSize = DEFAULT_BUFFER_SIZE } = options;
    checkBufferSize(bufferSize);
    this.name = name;
    this.bufferSize = bufferSize;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A snapshot of the counters. */
  get stats(): EventBusStats {
    return {
      publishedByTopic: Object.fromEntries(this.#publishedByTopic),
      published: this.#seq,
      publishedAfterClose: this.#publishedAfterClose,
      delivered: this.#counters.delivered,
      dropped: this.#counters.dropped,
      subscriberErrors: this.#counters.subscriberErrors,
      subscribers: this.#subscribers.size,
    };
  }

  /** Hands `payload` to every subscriber of `topic`. Never blocks, never throws. */
  publish<K extends TopicOf<Topics>>(topic: K, payload: Topics[K]): void {
    if (this.#closed) {
      this.#publishedAfterClose++;
      return;
    }
    const event = { topic, payload, seq: ++this.#seq, publishedAt: Date.now() };
    this.#publishedByTopic.set(topic, (this.#publishedByTopic.get(topic) ?? 0) + 1);
    const subs = this.#byTopic.get(topic);
    if (subs === undefined) return;
    for (const sub of subs) sub.offer(event);
  }

  /** Calls `callback` for every event on `topics`, in order, from a microtask loop. */
  subscribe<K extends TopicOf<Topics>>(
    topics: K | readonly K[],
    callback: (event: BusEvent<Topics, K>) => void | Promise<void>,
    options: SubscribeOptions = {},
  ): Subscription {
    if (typeof callback !== "function") {
      throw new TypeError(
        `subscribe needs a callback function, got ${typeof callback}; use stream() for an iterator.`,
      );
    }
    const [list, bufferSize, name] = this.#prepare(topics, options);
    const sub = new CallbackSubscriber<BusEvent<Topics, K>>(
      callback,
      name,
      list,
      bufferSize,
      this.#counters,
      (s) => this.#detach(s as Subscriber<unknown>),
      options.signal,
    );
    return this.#attach(sub as Subscriber<unknown>, list) as Subscriber<BusEvent<Topics, K>>;
  }

  /** An async iterator of every event on `topics`; `break` or `return()` unsubscribes. */
  stream<K extends TopicOf<Topics>>(
    topics: K | readonly K[],
    options: SubscribeOptions = {},
  ): BusStream<BusEvent<Topics, K>> {
    const [list, bufferSize, name] = this.#prepare(topics, options);
    const sub = new StreamSubscriber<BusEvent<Topics, K>>(
      name,
      list,
      bufferSize,
      this.#counters,
      (s) => this.#detach(s as Subscriber<unknown>),
      options.signal,
    );
    this.#attach(sub as Subscriber<unknown>, list);
    return sub;
  }

  /** Ends every subscription after its buffered events are delivered; later publishes are ignored. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const sub of [...this.#subscribers]) sub.end();
  }

  #prepare(
    topics: string | readonly string[],
    options: SubscribeOptions,
  ): [string[], number, string] {
    const list = typeof topics === "string" ? [topics] : [...topics];
    if (list.length === 0 || list.some((t) => typeof t !== "string" || t === "")) {
      throw new TypeError(`Subscribe to one or more topic names, got ${JSON.stringify(topics)}.`);
    }
    const bufferSize = options.bufferSize ?? this.bufferSize;
    checkBufferSize(bufferSize);
    return [[...new Set(list)], bufferSize, options.name ?? `subscriber-${this.#nextId++}`];
  }

  #attach(sub: Subscriber<unknown>, topics: readonly string[]): Subscriber<unknown> {
    if (this.#closed) {
      sub.end();
      return sub;
    }
    if (sub.closed) return sub; // its signal was already aborted
    this.#subscribers.add(sub);
    for (const topic of topics) {
      let set = this.#byTopic.get(topic);
      if (set === undefined) this.#byTopic.set(topic, set = new Set());
      set.add(sub);
    }
    return sub;
  }

  #detach(sub: Subscriber<unknown>): void {
    this.#subscribers.delete(sub);
    for (const topic of sub.topics) {
      const set = this.#byTopic.get(topic);
      set?.delete(sub);
      if (set?.size === 0) this.#byTopic.delete(topic);
    }
  }
}
