/**
 * The closed sets of the safety layer: who latches an emergency stop, why the server stops the
 * robot before exiting or losing the link, and why it stops it on its own (the `reason` label of
 * rvr_safety_auto_stops_total).
 *
 * @module
 */

/** Who latched an emergency stop: an MCP tool, the HTTP dashboard, or code using the API. */
export const ESTOP_SOURCES = ["tool", "http", "api", "fleet"] as const;
export type EstopSource = typeof ESTOP_SOURCES[number];

/**
 * Why the server stopped the robot on its own before exiting or losing the link. The client going
 * away: stdin_eof, stdout_closed (a write to stdout failed: EPIPE), sighup; asked to stop: sigint,
 * sigterm; uncaught_error: the last resort for an error nothing caught (the process then exits 1).
 */
export const SHUTDOWN_REASONS = [
  "stdin_eof",
  "stdout_closed",
  "sigint",
  "sigterm",
  "sighup",
  "uncaught_error",
  "link_loss",
  "disconnect",
] as const;
export type ShutdownReason = typeof SHUTDOWN_REASONS[number];

/** Why the server stopped the robot on its own (the `reason` label of rvr_safety_auto_stops_total). */
export const AUTO_STOP_REASONS = [
  "watchdog",
  "stall",
  "motor_fault",
  "thermal",
  "battery_critical",
  ...SHUTDOWN_REASONS,
] as const;
export type AutoStopReason = typeof AUTO_STOP_REASONS[number];
