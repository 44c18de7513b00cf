/**
 * The robot layer's instruments, and the link's beside them: the runtime composes the queue, the
 * circuit breaker, the event bus, the link and the connection, so it declares and feeds their
 * instruments (from their stats and listeners), besides its own commands, safety, sensors and
 * robot state. Declared in the order Prometheus shows them.
 *
 * @module
 */
import {
  type Counter,
  type Gauge,
  type Histogram,
  type Instrumented,
  MetricsRegistry,
  withInstruments,
} from "../core/mod.ts";
import { type LinkInstruments, linkInstruments } from "../link/mod.ts";

/** Commands through the queue and their execution. */
interface CommandInstruments {
  readonly commandsTotal: Counter<"command" | "outcome">;
  readonly commandSeconds: Histogram<"command">;
  readonly queueWaitSeconds: Histogram<"priority">;
  readonly queueDepth: Gauge<"priority">;
  readonly queueRejectionsTotal: Counter<"reason">;
  readonly queueSupersededTotal: Counter<"key">;
}

function commandInstruments(r: MetricsRegistry): CommandInstruments {
  return {
    commandsTotal: r.counter(
      "rvr_commands_total",
      "Robot commands by command and outcome.",
      ["command", "outcome"],
    ),
    commandSeconds: r.histogram(
      "rvr_command_duration_seconds",
      "Time from enqueue to completion of a robot command.",
      ["command"],
    ),
    queueWaitSeconds: r.histogram(
      "rvr_queue_wait_seconds",
      "Time a command waited in the queue before running.",
      ["priority"],
    ),
    queueDepth: r.gauge(
      "rvr_queue_depth",
      "Commands waiting in the queue, by priority.",
      ["priority"],
    ),
    queueRejectionsTotal: r.counter(
      "rvr_queue_rejections_total",
      "Commands the queue refused, by reason (full, estop, circuit_open, closed).",
      ["reason"],
    ),
    queueSupersededTotal: r.counter(
      "rvr_queue_superseded_total",
      "Queued continuous-drive commands replaced by a newer one.",
      ["key"],
    ),
  };
}

/** Connection, power, heartbeat and wake. */
interface ConnectionInstruments {
  readonly connectionState: Gauge<"state">;
  readonly connectionUptimeSeconds: Gauge<string>;
  readonly connectionAttemptsTotal: Counter<"result">;
  readonly connectionReconnectsTotal: Counter<string>;
  readonly powerState: Gauge<"state">;
  readonly heartbeatFailuresTotal: Counter<string>;
  readonly wakeSeconds: Histogram<string>;
}

function connectionInstruments(r: MetricsRegistry): ConnectionInstruments {
  return {
    connectionState: r.gauge(
      "rvr_connection_state",
      "1 for the current connection state, 0 for the others.",
      ["state"],
    ),
    connectionUptimeSeconds: r.gauge(
      "rvr_connection_uptime_seconds",
      "Seconds since the robot last became connected (0 when not connected).",
    ),
    connectionAttemptsTotal: r.counter(
      "rvr_connection_attempts_total",
      "Connection attempts, by result (ok, failed).",
      ["result"],
    ),
    connectionReconnectsTotal: r.counter(
      "rvr_connection_reconnects_total",
      "Times a lost robot was found again.",
    ),
    powerState: r.gauge(
      "rvr_power_state",
      "1 for the robot's current power state (unknown, awake, asleep), 0 for the others.",
      ["state"],
    ),
    heartbeatFailuresTotal: r.counter(
      "rvr_heartbeat_failures_total",
      "Heartbeat echoes that got no answer.",
    ),
    wakeSeconds: r.histogram(
      "rvr_wake_seconds",
      "Time from wake to both processors answering.",
    ),
  };
}

/** The runtime's circuit breaker. */
interface BreakerInstruments {
  readonly breakerState: Gauge<string>;
  readonly breakerTransitionsTotal: Counter<"to">;
  readonly breakerFailuresTotal: Counter<string>;
  readonly breakerRejectionsTotal: Counter<string>;
}

function breakerInstruments(r: MetricsRegistry): BreakerInstruments {
  return {
    breakerState: r.gauge(
      "rvr_breaker_state",
      "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
    ),
    breakerTransitionsTotal: r.counter(
      "rvr_breaker_transitions_total",
      "Circuit breaker transitions, by target state.",
      ["to"],
    ),
    breakerFailuresTotal: r.counter(
      "rvr_breaker_failures_total",
      "Failures the circuit breaker counted.",
    ),
    breakerRejectionsTotal: r.counter(
      "rvr_breaker_rejections_total",
      "Commands refused at once because the circuit was open.",
    ),
  };
}

/** The safety rules: e-stops, the speed limit, automatic stops, refusals. */
interface SafetyInstruments {
  readonly emergencyStopsTotal: Counter<"source">;
  readonly estopLatched: Gauge<string>;
  readonly limitedCommandsTotal: Counter<"command">;
  readonly autoStopsTotal: Counter<"reason">;
  readonly safetyRejectionsTotal: Counter<"reason">;
  readonly speedLimitPercent: Gauge<string>;
}

function safetyInstruments(r: MetricsRegistry): SafetyInstruments {
  return {
    emergencyStopsTotal: r.counter(
      "rvr_safety_emergency_stops_total",
      "Emergency stops, by source (tool, http, api).",
      ["source"],
    ),
    estopLatched: r.gauge(
      "rvr_safety_estop_latched",
      "1 while the emergency stop is latched.",
    ),
    limitedCommandsTotal: r.counter(
      "rvr_safety_limited_commands_total",
      "Movement commands scaled down by the speed limit, by command.",
      ["command"],
    ),
    autoStopsTotal: r.counter(
      "rvr_safety_auto_stops_total",
      "Stops the server sent on its own, by reason (watchdog, stall, motor_fault, thermal, battery_critical, stdin_eof, stdout_closed, sigint, sigterm, sighup, uncaught_error, link_loss, disconnect).",
      ["reason"],
    ),
    safetyRejectionsTotal: r.counter(
      "rvr_safety_rejected_commands_total",
      "Movement refused by safety, by reason (estop, battery_critical).",
      ["reason"],
    ),
    speedLimitPercent: r.gauge(
      "rvr_safety_speed_limit_percent",
      "The speed limit applied to every movement command.",
    ),
  };
}

/** Sensor streams, and the robot's own state (battery, motor temperatures). */
interface SensorInstruments {
  readonly sensorSamplesTotal: Counter<"sensor">;
  readonly sensorRateHz: Gauge<"sensor">;
  readonly sensorDataAgeSeconds: Gauge<"sensor">;
  readonly sensorDropsTotal: Counter<"reason">;
  readonly batteryPercent: Gauge<string>;
  readonly batteryVolts: Gauge<string>;
  readonly motorTemperatureCelsius: Gauge<"motor">;
}

function sensorInstruments(r: MetricsRegistry): SensorInstruments {
  return {
    sensorSamplesTotal: r.counter(
      "rvr_sensor_samples_total",
      "Streamed sensor samples decoded, by sensor.",
      ["sensor"],
    ),
    sensorRateHz: r.gauge(
      "rvr_sensor_rate_hz",
      "Streamed samples per second over the last window, by sensor.",
      ["sensor"],
    ),
    sensorDataAgeSeconds: r.gauge(
      "rvr_sensor_data_age_seconds",
      "Age of the newest sample, by sensor.",
      ["sensor"],
    ),
    sensorDropsTotal: r.counter(
      "rvr_sensor_drops_total",
      "Sensor samples dropped, by reason (invalid, undecodable, unknown_token).",
      ["reason"],
    ),

    // Robot state
    batteryPercent: r.gauge("rvr_battery_percent", "Battery charge in percent."),
    batteryVolts: r.gauge("rvr_battery_volts", "Battery voltage."),
    motorTemperatureCelsius: r.gauge(
      "rvr_motor_temperature_celsius",
      "Motor temperature, by motor (left, right).",
      ["motor"],
    ),
  };
}

/** The robot's event bus. */
interface BusInstruments {
  readonly busPublishedTotal: Counter<"topic">;
  readonly busDroppedTotal: Counter<"subscriber">;
  readonly busSubscriberErrorsTotal: Counter<"subscriber">;
}

function busInstruments(r: MetricsRegistry): BusInstruments {
  return {
    busPublishedTotal: r.counter(
      "rvr_bus_published_total",
      "Events published on the bus, by topic.",
      ["topic"],
    ),
    busDroppedTotal: r.counter(
      "rvr_bus_dropped_total",
      "Events dropped because a subscriber's buffer was full, by subscriber.",
      ["subscriber"],
    ),
    busSubscriberErrorsTotal: r.counter(
      "rvr_bus_subscriber_errors_total",
      "Subscriber callbacks that threw, by subscriber.",
      ["subscriber"],
    ),
  };
}

/** The instruments robotInstruments() declares. */
export type RobotInstruments =
  & CommandInstruments
  & LinkInstruments
  & ConnectionInstruments
  & BreakerInstruments
  & SafetyInstruments
  & SensorInstruments
  & BusInstruments;

/** Declares the robot layer's instruments, the link's among them, on `r`. */
export function robotInstruments(r: MetricsRegistry): RobotInstruments {
  return {
    ...commandInstruments(r),
    ...linkInstruments(r),
    ...connectionInstruments(r),
    ...breakerInstruments(r),
    ...safetyInstruments(r),
    ...sensorInstruments(r),
    ...busInstruments(r),
  };
}

/** What the runtime and its parts take: a registry carrying the robot's instruments. */
export type RobotMetrics = Instrumented<RobotInstruments>;

/** A registry (a new one unless given) with the robot's instruments declared on it. */
export function robotMetrics(registry: MetricsRegistry = new MetricsRegistry()): RobotMetrics {
  return withInstruments(registry, robotInstruments(registry));
}
