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
 * const sub = bus.subscribe(["state", "sample"], (e) => handle(e)); // e is a union on e.topic
 * ```
 *
 * Rules:
 * - **publish never blocks and never throws**: it only appends to each subscriber's buffer.
 *   Publishing after `close()` is ignored and counted (`stats.publishedAfterClose`).
 * - **Bounded, drop-oldest**: each subscriber has its own buffer (`bufferSize`, default 256); when
 *   it is full the oldest event is dropped and counted (per subscriber and in total). A slow
 *   subscriber only loses its own events.
 * - **Async delivery, per subscriber, in order**: a callback subscriber is called from a microtask
 *   loop, one event at a time (an async callback is awaited before the next event). Nothing is
 *   delivered synchronously inside `publish`.
 * - **Isolation**: a callback that throws (or rejects) is logged through
 *   `getLogger(["rvr", "core"])` (rate-limited) and counted; it keeps receiving later events and
 *   never disturbs the publisher or other subscribers.
 * - **unsubscribe** stops delivery at once (buffered events are discarded); a subscription can
 *   also be tied to an AbortSignal. **close()** ends every subscription after its buffered events
 *   are delivered.
 *
 * Events are shared between subscribers: treat them as read-only.
 *
 * Observability (for the metrics layer): {@link EventBus.stats} (published per topic, delivered,
 * dropped, subscriber errors, subscribers) and each {@link Subscription.stats} (delivered,
 * dropped, errors, buffered).
 *
 * @module
 */
import { CallbackSubscriber, type Counters, type Subscriber } from "./_subscriber.ts";
import { checkIntegerAtLeast } from "./validate.ts";

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
        `subscribe needs a callback function (event) => void, got ${typeof callback}.`,
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
