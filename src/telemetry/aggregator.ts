/**
 * The telemetry aggregator: every robot bus event (stream samples, notifications, state and
 * safety changes) gathered into windows of `windowMs` (RVR_AGGREGATOR_WINDOW_MS, default 100) and
 * handed to subscribers as one {@link Batch} per window: MCP resource updates, the telemetry
 * WebSocket, the JSON-lines recorder.
 *
 * **Windows.** A window opens at its first event and closes `windowMs` later: that first event
 * starts the one timer, and the timer's callback closes the window and delivers the batch
 * synchronously, so the timer is the only wait between an event and its delivery. An idle
 * aggregator holds no timer (an empty window schedules nothing).
 *
 * **Bounded, never silent.** A window holds at most `capacity` events (RVR_AGGREGATOR_CAPACITY,
 * default 10 000). Later events of the same window are dropped (the window keeps its first
 * `capacity`, in order) and counted: in {@link Batch.overflowed}, in {@link AggregatorStats} and
 * in rvr_aggregator_overflow_total{stage="window"}. Below capacity nothing is lost.
 *
 * **Taking events off the bus.** The bus delivers to each subscriber asynchronously, from a
 * microtask loop, through the subscriber's own bounded buffer (src/core/event_bus.ts); `publish`
 * never waits for us. The aggregator subscribes to every topic of {@link AGGREGATED_TOPICS} with a
 * buffer of `capacity` events (at most {@link MAX_BUS_BUFFER}), so a synchronous burst the bus
 * would have to drop is one that overflows a window anyway. Events the bus does drop for this
 * subscriber are read from its subscription stats and counted as overflow of stage "bus" (added to
 * the next batch's `overflowed`). Events still in that buffer when {@link Aggregator.close} runs,
 * and events ingested after it, are counted as stage "closed". So every event the bus accepted is
 * either delivered in a batch or counted: `ingested = delivered + pending + window overflow` and
 * `published = ingested + busDropped + closed`.
 *
 * **Delivery.** Subscribers are called one after another, synchronously, with the same batch (its
 * events are shared: treat them as read-only). A subscriber that throws (or returns a promise that
 * rejects) is logged (the 1st, 10th, 100th, ... time) and counted, per subscriber and in
 * rvr_aggregator_subscriber_errors_total{subscriber}; the other subscribers and the aggregator go
 * on. Subscribers must be quick (hand off and return): a slow one delays the others' batches.
 *
 * Metrics (when `metrics` is given): rvr_aggregator_events_total, rvr_aggregator_batches_total,
 * rvr_aggregator_overflow_total{stage}, rvr_aggregator_subscriber_errors_total{subscriber},
 * rvr_aggregator_delivery_lag_seconds (scheduled close to delivery, for timer-closed windows).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { BusEvent, Subscription } from "../core/event_bus.ts";
import type { TelemetryInstruments as Metrics } from "./metrics.ts";
import { checkInteger } from "../core/validate.ts";
import type { RobotBus, RobotTopics } from "../robot/mod.ts";

const log = getLogger(["rvr", "telemetry", "aggregator"]);

/** One robot bus event, of any topic (a union discriminated on `topic`). */
export type RobotEvent = BusEvent<RobotTopics>;

/** The bus topics the aggregator takes: all of {@link RobotTopics}. */
export const AGGREGATED_TOPICS = [
  "robot.notification",
  "robot.sample",
  "robot.state",
  "safety",
] as const satisfies readonly (keyof RobotTopics)[];

export const DEFAULT_WINDOW_MS = 100;
export const DEFAULT_CAPACITY = 10_000;
/** Longest window accepted, ms. */
export const MAX_WINDOW_MS = 60_000;
/** Largest bus buffer the aggregator asks for (memory is allocated up front). */
export const MAX_BUS_BUFFER = 100_000;

/** The events of one window. */
export interface Batch {
  /** 1, 2, 3, ... per aggregator; a batch is made for every window that had an event. */
  seq: number;
  /** In arrival order; at most `capacity`. Shared between subscribers: read-only. */
  events: RobotEvent[];
  /** `now()` when the window's first event arrived (epoch ms by default). */
  openedAt: number;
  /** `now()` when the window closed. */
  closedAt: number;
  /** Events dropped for capacity since the previous batch (window full, or the bus buffer). */
  overflowed: number;
}

export interface AggregatorOptions {
  /** Window length, ms (RVR_AGGREGATOR_WINDOW_MS); an integer 1-60000. Default 100. */
  windowMs?: number;
  /** Most events one window holds (RVR_AGGREGATOR_CAPACITY); an integer >= 1. Default 10 000. */
  capacity?: number;
  metrics?: Metrics;
  /** Clock for openedAt/closedAt. Default Date.now. */
  now?: () => number;
}

export interface AggregatorStats {
  /** Events handed to {@link Aggregator.ingest} while open (kept or dropped for capacity). */
  ingested: number;
  /** Events delivered in batches. */
  delivered: number;
  /** Events in the open window now. */
  pending: number;
  /** Events dropped for capacity: window full, plus {@link busDropped}. */
  overflowed: number;
  /** Of `overflowed`: dropped by the bus because this subscriber's buffer was full. */
  busDropped: number;
  /** Events lost to close: still in the bus buffer at close, or ingested after it. */
  closedDropped: number;
  batches: number;
  subscriberErrors: number;
  subscribers: number;
}

export interface BatchSubscribeOptions {
  /** For logs and the subscriber label of the error metric. Default "batch-subscriber-<n>". */
  name?: string;
}

interface Listener {
  readonly name: string;
  readonly fn: (batch: Batch) => unknown;
  errors: number;
}

/** Logs the 1st, 10th, 100th, ... occurrence so a broken subscriber cannot flood the log. */
function worthLogging(count: number): boolean {
  while (count >= 10 && count % 10 === 0) count /= 10;
  return count === 1;
}

/** See the module documentation. */
export class Aggregator {
  readonly windowMs: number;
  readonly capacity: number;
  readonly #metrics: Metrics | undefined;
  readonly #now: () => number;
  readonly #subscription: Subscription | null;
  #listeners: Listener[] = [];
  #nextListenerId = 1;

  #events: RobotEvent[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #openedAt = 0;
  #openedPerf = 0;
  #windowOverflow = 0;
  #seq = 0;
  #closed = false;

  #ingested = 0;
  #delivered = 0;
  #overflowTotal = 0;
  #busDroppedSeen = 0;
  #closedDropped = 0;
  #subscriberErrors = 0;

  /**
   * Subscribes to every topic of `bus` (pass null to feed it only through {@link ingest}).
   * RangeError for a bad window or capacity.
   */
  constructor(bus: RobotBus | null, options: AggregatorOptions = {}) {
    this.windowMs = checkInteger(
      "windowMs (RVR_AGGREGATOR_WINDOW_MS)",
      options.windowMs ?? DEFAULT_WINDOW_MS,
      1,
      MAX_WINDOW_MS,
      "e.g. 100",
    );
    this.capacity = checkInteger(
      "capacity (RVR_AGGREGATOR_CAPACITY)",
      options.capacity ?? DEFAULT_CAPACITY,
      1,
      Number.MAX_SAFE_INTEGER,
      "e.g. 10000",
    );
    if (options.now !== undefined && typeof options.now !== "function") {
      throw new TypeError(`now must be a function returning ms, got ${typeof options.now}.`);
    }
    this.#metrics = options.metrics;
    this.#now = options.now ?? Date.now;
    this.#subscription = bus === null ? null : bus.subscribe(
      AGGREGATED_TOPICS,
      (event) => this.ingest(event),
      { name: "aggregator", bufferSize: Math.min(this.capacity, MAX_BUS_BUFFER) },
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Batches made so far (the seq of the last one). */
  get seq(): number {
    return this.#seq;
  }

  /** A snapshot of the counters (see {@link AggregatorStats}). */
  get stats(): AggregatorStats {
    const busDropped = this.#busDropped();
    return {
      ingested: this.#ingested,
      delivered: this.#delivered,
      pending: this.#events.length,
      overflowed: this.#overflowTotal + this.#windowOverflow + (busDropped - this.#busDroppedSeen),
      busDropped,
      closedDropped: this.#closedDropped,
      batches: this.#seq,
      subscriberErrors: this.#subscriberErrors,
      subscribers: this.#listeners.length,
    };
  }

  /**
   * Takes one event into the open window (opening one, and its timer, if none is open). Never
   * blocks and never throws; the bus subscription calls it, and benches and tests may call it
   * directly. After {@link close} the event is only counted.
   */
  ingest(event: RobotEvent): void {
    if (this.#closed) {
      this.#closedDropped++;
      this.#metrics?.aggregatorOverflowTotal.inc({ stage: "closed" });
      return;
    }
    this.#ingested++;
    const events = this.#events;
    if (events.length < this.capacity) {
      if (events.length === 0) this.#open();
      events.push(event);
    } else {
      this.#windowOverflow++;
    }
  }

  /**
   * Calls `listener` with every batch from now on, synchronously when its window closes (after
   * {@link close}: never). Returns a function that unsubscribes (idempotent).
   */
  subscribe(listener: (batch: Batch) => unknown, options: BatchSubscribeOptions = {}): () => void {
    if (typeof listener !== "function") {
      throw new TypeError(`subscribe needs a function (batch) => void, got ${typeof listener}.`);
    }
    const name = options.name ?? `batch-subscriber-${this.#nextListenerId++}`;
    if (typeof name !== "string" || name === "") {
      throw new TypeError(`Subscriber name must be a non-empty string, got ${String(name)}.`);
    }
    const entry: Listener = { name, fn: listener, errors: 0 };
    if (!this.#closed) this.#listeners = [...this.#listeners, entry];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== entry);
    };
  }

  /**
   * Closes the open window now and delivers its batch (returned); null when no window is open.
   * Windows normally close on their timer; this is for shutdown, tests and benches.
   */
  flush(): Batch | null {
    if (this.#events.length === 0) return null;
    return this.#closeWindow(false);
  }

  /**
   * Delivers the open window, unsubscribes from the bus and drops the subscribers. Events still
   * buffered for it in the bus, and later ingests, are counted (stage "closed"). Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    if (this.#subscription !== null) {
      const buffered = this.#subscription.stats.buffered;
      this.#subscription.unsubscribe();
      if (buffered > 0) {
        this.#closedDropped += buffered;
        this.#metrics?.aggregatorOverflowTotal.inc({ stage: "closed" }, buffered);
        log.warn("Aggregator closed with {buffered} bus event(s) not yet taken: counted as lost", {
          buffered,
        });
      }
    }
    // Bus drops after the last batch are not in any batch: count them now.
    this.#takeBusDrops();
    this.#listeners = [];
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // ---- internals ---------------------------------------------------------------------------

  #open(): void {
    this.#openedAt = this.#now();
    this.#openedPerf = performance.now();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#closeWindow(true);
    }, this.windowMs);
  }

  #busDropped(): number {
    return this.#subscription === null ? this.#busDroppedSeen : this.#subscription.stats.dropped;
  }

  /** Bus drops not yet counted: added to the overflow total and the metric; returns them. */
  #takeBusDrops(): number {
    const total = this.#busDropped();
    const fresh = total - this.#busDroppedSeen;
    this.#busDroppedSeen = total;
    if (fresh > 0) {
      this.#overflowTotal += fresh;
      this.#metrics?.aggregatorOverflowTotal.inc({ stage: "bus" }, fresh);
    }
    return fresh;
  }

  #closeWindow(byTimer: boolean): Batch {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const windowOverflow = this.#windowOverflow;
    const batch: Batch = {
      seq: ++this.#seq,
      events: this.#events,
      openedAt: this.#openedAt,
      closedAt: this.#now(),
      overflowed: windowOverflow + this.#takeBusDrops(),
    };
    this.#events = [];
    this.#windowOverflow = 0;
    this.#overflowTotal += windowOverflow;
    this.#delivered += batch.events.length;
    const m = this.#metrics;
    if (m !== undefined) {
      m.aggregatorBatchesTotal.inc();
      m.aggregatorEventsTotal.inc(batch.events.length);
      if (windowOverflow > 0) m.aggregatorOverflowTotal.inc({ stage: "window" }, windowOverflow);
      if (byTimer) {
        const lagMs = performance.now() - this.#openedPerf - this.windowMs;
        m.aggregatorDeliveryLagSeconds.observe(Math.max(0, lagMs) / 1000);
      }
    }
    if (windowOverflow > 0 && worthLogging(this.#overflowTotal)) {
      log.warn(
        "Aggregator window {seq} full ({capacity} events): dropped {dropped} event(s)",
        { seq: batch.seq, capacity: this.capacity, dropped: windowOverflow },
      );
    }
    for (const listener of this.#listeners) this.#deliver(listener, batch);
    return batch;
  }

  #deliver(listener: Listener, batch: Batch): void {
    try {
      const result = listener.fn(batch);
      if (
        result !== null && typeof result === "object" &&
        typeof (result as PromiseLike<unknown>).then === "function"
      ) {
        (result as PromiseLike<unknown>).then(undefined, (error) => this.#failed(listener, error));
      }
    } catch (error) {
      this.#failed(listener, error);
    }
  }

  #failed(listener: Listener, error: unknown): void {
    listener.errors++;
    this.#subscriberErrors++;
    this.#metrics?.aggregatorSubscriberErrorsTotal.inc({ subscriber: listener.name });
    if (worthLogging(listener.errors)) {
      log.error("Batch subscriber {name} threw ({errors} so far): {error}", {
        name: listener.name,
        errors: listener.errors,
        error,
      });
    }
  }
}
