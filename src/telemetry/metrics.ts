/**
 * The telemetry layer's instruments: the aggregator's windows (aggregator.ts) and the flight
 * recorder's writes (recorder.ts).
 *
 * @module
 */
import {
  type Counter,
  type Histogram,
  type Instrumented,
  MetricsRegistry,
  withInstruments,
} from "../core/mod.ts";

/** The instruments telemetryInstruments() declares. */
export interface TelemetryInstruments {
  readonly aggregatorEventsTotal: Counter<string>;
  readonly aggregatorOverflowTotal: Counter<"stage">;
  readonly aggregatorBatchesTotal: Counter<string>;
  readonly aggregatorSubscriberErrorsTotal: Counter<"subscriber">;
  readonly aggregatorDeliveryLagSeconds: Histogram<string>;
  readonly recorderBatchesTotal: Counter<string>;
  readonly recorderBytesTotal: Counter<string>;
  readonly recorderLostTotal: Counter<"reason">;
}

/** Declares the aggregator's and the recorder's instruments on `r`. */
export function telemetryInstruments(r: MetricsRegistry): TelemetryInstruments {
  return {
    aggregatorEventsTotal: r.counter(
      "rvr_aggregator_events_total",
      "Events the aggregator delivered in batches.",
    ),
    aggregatorOverflowTotal: r.counter(
      "rvr_aggregator_overflow_total",
      "Events the aggregator lost, by stage (window: window at capacity; bus: its bus buffer was full; closed: arrived after close).",
      ["stage"],
    ),
    aggregatorBatchesTotal: r.counter(
      "rvr_aggregator_batches_total",
      "Batches the aggregator delivered.",
    ),
    aggregatorSubscriberErrorsTotal: r.counter(
      "rvr_aggregator_subscriber_errors_total",
      "Batch subscribers that threw or rejected, by subscriber.",
      ["subscriber"],
    ),
    aggregatorDeliveryLagSeconds: r.histogram(
      "rvr_aggregator_delivery_lag_seconds",
      "Time from a window's scheduled close (its first event + the window) to its batch reaching the subscribers.",
    ),
    recorderBatchesTotal: r.counter(
      "rvr_telemetry_recorder_batches_total",
      "Batches written to RVR_TELEMETRY_FILE.",
    ),
    recorderBytesTotal: r.counter(
      "rvr_telemetry_recorder_bytes_total",
      "Bytes written to RVR_TELEMETRY_FILE.",
    ),
    recorderLostTotal: r.counter(
      "rvr_telemetry_recorder_lost_batches_total",
      "Batches not recorded, by reason (write: I/O error, serialize: not JSON, queue_full: the disk fell behind).",
      ["reason"],
    ),
  };
}

/** A registry carrying the telemetry instruments. */
export type TelemetryMetrics = Instrumented<TelemetryInstruments>;

/** A registry (a new one unless given) with the telemetry instruments declared on it. */
export function telemetryMetrics(
  registry: MetricsRegistry = new MetricsRegistry(),
): TelemetryMetrics {
  return withInstruments(registry, telemetryInstruments(registry));
}
