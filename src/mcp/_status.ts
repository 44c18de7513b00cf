/**
 * Snapshots of the runtime in the shape tools and resources return (snake_case, units in the
 * names, ISO-8601 times), with the zod shapes that describe them. Private to src/mcp.
 *
 * @module
 */
import { z } from "zod";
import {
  BATTERY_STATES,
  CIRCUIT_STATE_NAMES,
  CONNECTION_STATUSES,
  POWER_STATUSES,
} from "../core/mod.ts";
import { AUTO_STOP_REASONS, type SafetyStatus } from "../robot/mod.ts";
import type { Runtime } from "../robot/runtime.ts";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export const connectionStatusShape = {
  status: z.enum(CONNECTION_STATUSES).describe(
    "connected: commands go through; connecting/reconnecting: the server is trying (call " +
      "connect to force it); disconnected: call connect; error: the last connect failed (see error).",
  ),
  since: z.string().describe("ISO-8601 time this status was entered."),
  reason: z.string().nullable().describe("Why the status last changed."),
  error: z.string().nullable().describe("The error that led here, if any."),
  reconnect_attempt: z.number().int().min(0).describe("Reconnect attempt while reconnecting."),
  port: z.string().describe("The serial port (or 'sim') the server connects to."),
  baud: z.number().int().describe("Line speed in baud."),
  simulated: z.boolean().nullable().describe("True when the built-in simulator answers."),
  wake_ms: z.number().nullable().describe("How long the last connect took to wake the robot."),
  connected_for_ms: z.number().min(0).describe("Time since the robot answered (0 when not)."),
  power: z.enum(POWER_STATUSES).describe("Robot power state as last known."),
  circuit: z.object({
    state: z.enum(CIRCUIT_STATE_NAMES).describe(
      "open: the robot stopped answering and commands are refused until a probe succeeds.",
    ),
    retry_in_ms: z.number().nullable().describe("While open: time to the next probe."),
  }),
  queue: z.object({
    depth: z.number().int().min(0).describe("Commands waiting."),
    capacity: z.number().int().min(0),
    running: z.string().nullable().describe("The command being sent now."),
  }),
};

export type ConnectionStatusView = z.infer<z.ZodObject<typeof connectionStatusShape>>;

export function connectionStatus(runtime: Runtime): ConnectionStatusView {
  const c = runtime.state.connection;
  const info = runtime.connection.info;
  const spec = runtime.connection.spec;
  const breaker = runtime.breaker.state;
  const q = runtime.queue.stats;
  return {
    status: c.status,
    since: new Date(c.enteredAt).toISOString(),
    reason: c.reason,
    error: c.error,
    reconnect_attempt: c.attempt,
    port: spec.path,
    baud: spec.baudRate,
    simulated: info?.simulated ?? null,
    wake_ms: info?.wakeMs ?? null,
    connected_for_ms: c.status === "connected" ? runtime.state.connectedForMs() : 0,
    power: runtime.state.power.status,
    circuit: {
      state: breaker.name,
      retry_in_ms: breaker.name === "open" ? Math.max(0, breaker.retryAt - Date.now()) : null,
    },
    queue: { depth: q.depth, capacity: q.capacity, running: q.runningCommand },
  };
}

export const safetyStatusShape = {
  speed_limit_percent: z.number().min(0).max(100).describe(
    "Movement speeds above this share of full scale are reduced to it (100 = no limit).",
  ),
  command_timeout_s: z.number().min(0).describe(
    "The watchdog stops the robot this long after the last movement command (0 = off).",
  ),
  estop: z.object({
    latched: z.boolean().describe("While true every movement command is refused."),
    reason: z.string().nullable(),
    latched_at: z.string().nullable().describe("ISO-8601."),
  }),
  battery: z.object({
    state: z.enum(BATTERY_STATES),
    percent: z.number().nullable().describe("0-100 as last read, or null."),
    critical: z.boolean().describe("While true movement is refused."),
  }),
  motor_fault: z.boolean().describe("The motor driver reported a fault."),
  watchdog: z.object({
    enabled: z.boolean(),
    armed: z.boolean().describe("A movement is running and will be stopped when it runs out."),
    expires_in_ms: z.number().nullable(),
  }),
  last_auto_stop: z.object({
    reason: z.enum(AUTO_STOP_REASONS),
    detail: z.string(),
    at: z.string().describe("ISO-8601."),
  }).nullable().describe("The last time the server stopped the robot on its own."),
};

export type SafetyStatusView = z.infer<z.ZodObject<typeof safetyStatusShape>>;

export function safetyView(s: SafetyStatus): SafetyStatusView {
  return {
    speed_limit_percent: s.speedLimitPercent,
    command_timeout_s: s.commandTimeoutS,
    estop: { latched: s.estop.latched, reason: s.estop.reason, latched_at: iso(s.estop.latchedAt) },
    battery: { state: s.battery.state, percent: s.battery.percent, critical: s.battery.critical },
    motor_fault: s.motorFault,
    watchdog: {
      enabled: s.watchdog.enabled,
      armed: s.watchdog.armed,
      expires_in_ms: s.watchdog.expiresAt === null
        ? null
        : Math.max(0, s.watchdog.expiresAt - Date.now()),
    },
    last_auto_stop: s.lastAutoStop === null ? null : {
      reason: s.lastAutoStop.reason,
      detail: s.lastAutoStop.detail,
      at: new Date(s.lastAutoStop.at).toISOString(),
    },
  };
}
