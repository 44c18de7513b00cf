/**
 * Every Prometheus metric of the program, in one registry, as Prometheus text from one function.
 * Components do not import prom-client: they expose stats and hooks, and the composition root
 * (src/robot/runtime.ts) feeds these instruments from them. Names: rvr_<area>_<thing>_<unit>.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { registerProcessMetrics } from "./process_metrics.ts";

const LATENCY_BUCKETS = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
];

export class Metrics {
  readonly registry = new Registry();

  // Commands (queue + execution)
  readonly commandsTotal = this.#counter(
    "rvr_commands_total",
    "Robot commands by command and outcome.",
    ["command", "outcome"],
  );
  readonly commandSeconds = this.#histogram(
    "rvr_command_duration_seconds",
    "Time from enqueue to completion of a robot command.",
    ["command"],
  );
  readonly queueWaitSeconds = this.#histogram(
    "rvr_queue_wait_seconds",
    "Time a command waited in the queue before running.",
    ["priority"],
  );
  readonly queueDepth = this.#gauge(
    "rvr_queue_depth",
    "Commands waiting in the queue, by priority.",
    ["priority"],
  );
  readonly queueRejectionsTotal = this.#counter(
    "rvr_queue_rejections_total",
    "Commands the queue refused, by reason (full, estop, circuit_open, closed).",
    ["reason"],
  );
  readonly queueSupersededTotal = this.#counter(
    "rvr_queue_superseded_total",
    "Queued continuous-drive commands replaced by a newer one.",
    ["key"],
  );

  // Link
  readonly linkRequestsTotal = this.#counter(
    "rvr_link_requests_total",
    "Requests written to the robot, by command.",
    ["command"],
  );
  readonly linkRequestSeconds = this.#histogram(
    "rvr_link_request_seconds",
    "Round trip from writing a request to its reply.",
    ["command"],
  );
  readonly linkTimeoutsTotal = this.#counter(
    "rvr_link_timeouts_total",
    "Requests whose reply did not arrive in time, by command.",
    ["command"],
  );
  readonly linkRobotErrorsTotal = this.#counter(
    "rvr_link_robot_errors_total",
    "Replies carrying an error code, by code name.",
    ["code"],
  );
  readonly linkBytesTotal = this.#counter(
    "rvr_link_bytes_total",
    "Bytes on the wire, by direction (in, out).",
    ["direction"],
  );
  readonly linkFramesTotal = this.#counter(
    "rvr_link_frames_total",
    "Whole frames on the wire, by direction (in, out).",
    ["direction"],
  );
  readonly linkFramesDroppedTotal = this.#counter(
    "rvr_link_frames_dropped_total",
    "Received frames dropped, by reason (noise, bad_checksum, bad_escape, ..., unmatched).",
    ["reason"],
  );
  readonly linkNotificationsTotal = this.#counter(
    "rvr_link_notifications_total",
    "Notifications received from the robot, by name.",
    ["notification"],
  );
  readonly linkPendingRequests = this.#gauge(
    "rvr_link_pending_requests",
    "Requests awaiting a reply.",
  );

  // Connection
  readonly connectionState = this.#gauge(
    "rvr_connection_state",
    "1 for the current connection state, 0 for the others.",
    ["state"],
  );
  readonly connectionUptimeSeconds = this.#gauge(
    "rvr_connection_uptime_seconds",
    "Seconds since the robot last became connected (0 when not connected).",
  );
  readonly connectionAttemptsTotal = this.#counter(
    "rvr_connection_attempts_total",
    "Connection attempts, by result (ok, failed).",
    ["result"],
  );
  readonly connectionReconnectsTotal = this.#counter(
    "rvr_connection_reconnects_total",
    "Times a lost robot was found again.",
  );
  readonly powerState = this.#gauge(
    "rvr_power_state",
    "1 for the robot's current power state (unknown, awake, asleep), 0 for the others.",
    ["state"],
  );
  readonly heartbeatFailuresTotal = this.#counter(
    "rvr_heartbeat_failures_total",
    "Heartbeat echoes that got no answer.",
  );
  readonly wakeSeconds = this.#histogram(
    "rvr_wake_seconds",
    "Time from wake to both processors answering.",
  );

  // Circuit breaker
  readonly breakerState = this.#gauge(
    "rvr_breaker_state",
    "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
  );
  readonly breakerTransitionsTotal = this.#counter(
    "rvr_breaker_transitions_total",
    "Circuit breaker transitions, by target state.",
    ["to"],
  );
  readonly breakerFailuresTotal = this.#counter(
    "rvr_breaker_failures_total",
    "Failures the circuit breaker counted.",
  );
  readonly breakerRejectionsTotal = this.#counter(
    "rvr_breaker_rejections_total",
    "Commands refused at once because the circuit was open.",
  );

  // Safety
  readonly emergencyStopsTotal = this.#counter(
    "rvr_safety_emergency_stops_total",
    "Emergency stops, by source (tool, http, api).",
    ["source"],
  );
  readonly estopLatched = this.#gauge(
    "rvr_safety_estop_latched",
    "1 while the emergency stop is latched.",
  );
  readonly limitedCommandsTotal = this.#counter(
    "rvr_safety_limited_commands_total",
    "Movement commands scaled down by the speed limit, by command.",
    ["command"],
  );
  readonly autoStopsTotal = this.#counter(
    "rvr_safety_auto_stops_total",
    "Stops the server sent on its own, by reason (watchdog, stall, motor_fault, thermal, battery_critical, stdin_eof, stdout_closed, sigint, sigterm, sighup, uncaught_error, link_loss, disconnect).",
    ["reason"],
  );
  readonly safetyRejectionsTotal = this.#counter(
    "rvr_safety_rejected_commands_total",
    "Movement refused by safety, by reason (estop, battery_critical).",
    ["reason"],
  );
  readonly speedLimitPercent = this.#gauge(
    "rvr_safety_speed_limit_percent",
    "The speed limit applied to every movement command.",
  );

  // Sensors
  readonly sensorSamplesTotal = this.#counter(
    "rvr_sensor_samples_total",
    "Streamed sensor samples decoded, by sensor.",
    ["sensor"],
  );
  readonly sensorRateHz = this.#gauge(
    "rvr_sensor_rate_hz",
    "Streamed samples per second over the last window, by sensor.",
    ["sensor"],
  );
  readonly sensorDataAgeSeconds = this.#gauge(
    "rvr_sensor_data_age_seconds",
    "Age of the newest sample, by sensor.",
    ["sensor"],
  );
  readonly sensorDropsTotal = this.#counter(
    "rvr_sensor_drops_total",
    "Sensor samples dropped, by reason (invalid, undecodable, unknown_token).",
    ["reason"],
  );

  // Robot state
  readonly batteryPercent = this.#gauge("rvr_battery_percent", "Battery charge in percent.");
  readonly batteryVolts = this.#gauge("rvr_battery_volts", "Battery voltage.");
  readonly motorTemperatureCelsius = this.#gauge(
    "rvr_motor_temperature_celsius",
    "Motor temperature, by motor (left, right).",
    ["motor"],
  );

  // Event bus
  readonly busPublishedTotal = this.#counter(
    "rvr_bus_published_total",
    "Events published on the bus, by topic.",
    ["topic"],
  );
  readonly busDroppedTotal = this.#counter(
    "rvr_bus_dropped_total",
    "Events dropped because a subscriber's buffer was full, by subscriber.",
    ["subscriber"],
  );
  readonly busSubscriberErrorsTotal = this.#counter(
    "rvr_bus_subscriber_errors_total",
    "Subscriber callbacks that threw, by subscriber.",
    ["subscriber"],
  );

  // Telemetry aggregator and recorder (src/telemetry/aggregator.ts, src/telemetry/recorder.ts)
  readonly aggregatorEventsTotal = this.#counter(
    "rvr_aggregator_events_total",
    "Events the aggregator delivered in batches.",
  );
  readonly aggregatorOverflowTotal = this.#counter(
    "rvr_aggregator_overflow_total",
    "Events the aggregator lost, by stage (window: window at capacity; bus: its bus buffer was full; closed: arrived after close).",
    ["stage"],
  );
  readonly aggregatorBatchesTotal = this.#counter(
    "rvr_aggregator_batches_total",
    "Batches the aggregator delivered.",
  );
  readonly aggregatorSubscriberErrorsTotal = this.#counter(
    "rvr_aggregator_subscriber_errors_total",
    "Batch subscribers that threw or rejected, by subscriber.",
    ["subscriber"],
  );
  readonly aggregatorDeliveryLagSeconds = this.#histogram(
    "rvr_aggregator_delivery_lag_seconds",
    "Time from a window's scheduled close (its first event + the window) to its batch reaching the subscribers.",
  );
  readonly recorderBatchesTotal = this.#counter(
    "rvr_telemetry_recorder_batches_total",
    "Batches written to RVR_TELEMETRY_FILE.",
  );
  readonly recorderBytesTotal = this.#counter(
    "rvr_telemetry_recorder_bytes_total",
    "Bytes written to RVR_TELEMETRY_FILE.",
  );
  readonly recorderLostTotal = this.#counter(
    "rvr_telemetry_recorder_lost_batches_total",
    "Batches not recorded, by reason (write: I/O error, serialize: not JSON, queue_full: the disk fell behind).",
    ["reason"],
  );

  // Telemetry WebSocket (src/http/telemetry_ws.ts)
  readonly telemetryClients = this.#gauge(
    "rvr_telemetry_clients",
    "Telemetry WebSocket clients connected to GET /telemetry.",
  );
  readonly telemetryFramesTotal = this.#counter(
    "rvr_telemetry_frames_total",
    "Telemetry frames handed to WebSocket clients (one per client), by type (full, delta).",
    ["type"],
  );
  readonly telemetryWsDroppedTotal = this.#counter(
    "rvr_telemetry_ws_dropped_total",
    'Telemetry frames a backed-up WebSocket client did not get, by client; when a client disconnects its count moves to client="closed".',
    ["client"],
  );
  readonly telemetryWsSendSeconds = this.#histogram(
    "rvr_telemetry_ws_send_seconds",
    "Time to hand one telemetry frame to every WebSocket client (the broadcast loop, never waiting for a client).",
  );

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) {
      registerProcessMetrics(this.registry, "rvr_");
    }
  }

  readonly #collectors: (() => void)[] = [];
  readonly #seen = new Map<string, number>();

  /**
   * Registers `collect`, run before every scrape to bring gauges and counters up to date from a
   * component's stats snapshot. A collector that throws is reported in the scrape's error.
   */
  addCollector(collect: () => void): () => void {
    this.#collectors.push(collect);
    return () => {
      const i = this.#collectors.indexOf(collect);
      if (i >= 0) this.#collectors.splice(i, 1);
    };
  }

  /**
   * Advances `counter{labels}` to a cumulative `total` read from a stats snapshot (by the
   * difference since the last call under `key`). A total that went down (a new link, a new
   * component) starts counting again from it.
   */
  advance<L extends string>(
    key: string,
    counter: Counter<L>,
    total: number,
    labels?: Partial<Record<L, string | number>>,
  ): void {
    const last = this.#seen.get(key) ?? 0;
    const delta = total >= last ? total - last : total;
    this.#seen.set(key, total);
    if (delta > 0) {
      if (labels) counter.inc(labels, delta);
      else counter.inc(delta);
    }
  }

  /** Forgets the totals remembered under keys starting with `prefix` (a component that is gone). */
  forget(prefix: string): void {
    for (const key of [...this.#seen.keys()]) if (key.startsWith(prefix)) this.#seen.delete(key);
  }

  /** Everything as Prometheus text exposition format (collectors run first). */
  text(): Promise<string> {
    for (const collect of this.#collectors) collect();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  #counter<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
  ): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  #gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  #histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
  ): Histogram<L> {
    return new Histogram({
      name,
      help,
      labelNames,
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    });
  }
}
