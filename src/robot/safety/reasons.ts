/**
 * The closed sets of the safety layer: who latches an emergency stop (the way it came in, and
 * whether that was a person, the model or code), why the server stops the robot before exiting
 * or losing the link, and why it stops it on its own (the `reason` label of
 * rvr_safety_auto_stops_total).
 *
 * @module
 */

/**
 * How an emergency stop came in (the `source` label of rvr_safety_emergency_stops_total): `tool`
 * the emergency_stop tool (the model), `http` the side port's POST /estop (the dashboard's
 * button), `fleet` a fleet-wide stop, `app` the MCP App's button, `api` code calling the robot API.
 */
export const ESTOP_SOURCES = ["tool", "http", "fleet", "app", "api"] as const;
export type EstopSource = typeof ESTOP_SOURCES[number];

/**
 * Who latched or clears an emergency stop: a person (a button they pressed), the model (a tool it
 * called) or code (the program itself). The model may clear an e-stop the model or code latched;
 * a person's needs that person's accept (see approval.ts and `Safety.clearNeedsApproval`).
 */
export const ESTOP_ACTORS = ["person", "model", "code"] as const;
export type EstopActor = typeof ESTOP_ACTORS[number];

/** Who is behind each source. */
export const ESTOP_ACTOR_OF: Readonly<Record<EstopSource, EstopActor>> = Object.freeze({
  tool: "model",
  http: "person",
  fleet: "person",
  app: "person",
  api: "code",
});

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
