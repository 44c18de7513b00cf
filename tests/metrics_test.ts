/**
 * The program's metrics as main.ts composes them (each layer's instruments on one registry, then
 * the process metrics): exactly these names and types, in this order, as Prometheus text.
 */
import assert from "node:assert/strict";
import { programMetrics } from "../main.ts";

/** Every metric of our own: `name type`, in the order /metrics shows them. */
const OWN_METRICS = [
  "rvr_commands_total counter",
  "rvr_command_duration_seconds histogram",
  "rvr_queue_wait_seconds histogram",
  "rvr_queue_depth gauge",
  "rvr_queue_rejections_total counter",
  "rvr_queue_superseded_total counter",
  "rvr_link_requests_total counter",
  "rvr_link_request_seconds histogram",
  "rvr_link_timeouts_total counter",
  "rvr_link_robot_errors_total counter",
  "rvr_link_bytes_total counter",
  "rvr_link_frames_total counter",
  "rvr_link_frames_dropped_total counter",
  "rvr_link_notifications_total counter",
  "rvr_link_pending_requests gauge",
  "rvr_connection_state gauge",
  "rvr_connection_uptime_seconds gauge",
  "rvr_connection_attempts_total counter",
  "rvr_connection_reconnects_total counter",
  "rvr_power_state gauge",
  "rvr_heartbeat_failures_total counter",
  "rvr_wake_seconds histogram",
  "rvr_breaker_state gauge",
  "rvr_breaker_transitions_total counter",
  "rvr_breaker_failures_total counter",
  "rvr_breaker_rejections_total counter",
  "rvr_safety_emergency_stops_total counter",
  "rvr_safety_estop_latched gauge",
  "rvr_safety_limited_commands_total counter",
  "rvr_safety_auto_stops_total counter",
  "rvr_safety_rejected_commands_total counter",
  "rvr_safety_speed_limit_percent gauge",
  "rvr_sensor_samples_total counter",
  "rvr_sensor_rate_hz gauge",
  "rvr_sensor_data_age_seconds gauge",
  "rvr_sensor_drops_total counter",
  "rvr_battery_percent gauge",
  "rvr_battery_volts gauge",
  "rvr_motor_temperature_celsius gauge",
  "rvr_bus_published_total counter",
  "rvr_bus_dropped_total counter",
  "rvr_bus_subscriber_errors_total counter",
  "rvr_aggregator_events_total counter",
  "rvr_aggregator_overflow_total counter",
  "rvr_aggregator_batches_total counter",
  "rvr_aggregator_subscriber_errors_total counter",
  "rvr_aggregator_delivery_lag_seconds histogram",
  "rvr_telemetry_recorder_batches_total counter",
  "rvr_telemetry_recorder_bytes_total counter",
  "rvr_telemetry_recorder_lost_batches_total counter",
  "rvr_telemetry_clients gauge",
  "rvr_telemetry_frames_total counter",
  "rvr_telemetry_ws_dropped_total counter",
  "rvr_telemetry_ws_send_seconds histogram",
];

Deno.test("metrics: exactly the program's own metrics, then the process metrics", async () => {
  const m = programMetrics();
  const text = await m.text();
  const types = [...text.matchAll(/^# TYPE (rvr_\S+) (\S+)$/gm)].map((x) => `${x[1]} ${x[2]}`);
  const own = types.filter((t) => !t.startsWith("rvr_process_") && !t.startsWith("rvr_nodejs_"));
  assert.deepEqual(own, OWN_METRICS);
  assert.equal(own.length, 54);
  assert.deepEqual(types.slice(0, own.length), own, "the process metrics come after our own");
  assert.match(text, /^# TYPE rvr_process_cpu_seconds_total counter$/m);
  for (const line of own) assert.match(line, /^rvr_[a-z_]+ (counter|gauge|histogram)$/);
  assert.equal(m.contentType.startsWith("text/plain"), true);
});

Deno.test("metrics: without process metrics, only our own", async () => {
  const text = await programMetrics({ processMetrics: false }).text();
  const names = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((x) => `${x[1]} ${x[2]}`);
  assert.deepEqual(names, OWN_METRICS);
});
