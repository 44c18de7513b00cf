/**
 * Element ids the dashboard page always has (index.html): the hooks tests and scripts may rely
 * on, and the only ids the page's code looks up. Pure: the server and the browser import it.
 *
 * Numeric fields carry their raw value in `data-value`, `#path-points` carries `data-count`
 * (points drawn), `#path-canvas` carries `data-last` (the last point drawn, "x,y" in metres, ""
 * before one), `#estop-state` carries `data-latched`, `#conn-status` and `#ws-status` carry
 * `data-status`, `#telemetry-stats` carries `data-seq`, `data-frames`, `data-resyncs`,
 * `data-gaps`, `data-errors`, and `#estop-result` carries `data-status` (HTTP status, or "error").
 *
 * @module
 */

/** Element ids the page always has (tests and scripts may rely on them). */
export const DASHBOARD_ELEMENT_IDS = [
  "conn-status",
  "conn-detail",
  "ws-status",
  "estop-state",
  "estop-reason",
  "estop-button",
  "estop-result",
  "path-canvas",
  "path-points",
  "path-clear",
  "pose-x",
  "pose-y",
  "heading",
  "heading-dial",
  "yaw",
  "speed",
  "battery-percent",
  "battery-bar",
  "battery-volts",
  "battery-state",
  "color-swatch",
  "color-detail",
  "ambient-lux",
  "imu-chart",
  "imu-pitch",
  "imu-roll",
  "imu-yaw",
  "accel-chart",
  "accel-x",
  "accel-y",
  "accel-z",
  "speed-limit",
  "battery-critical",
  "power-status",
  "motor-left",
  "motor-right",
  "updated-at",
  "telemetry-stats",
  "telemetry-error",
] as const;
export type DashboardElementId = typeof DASHBOARD_ELEMENT_IDS[number];
