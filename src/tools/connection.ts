/**
 * Connection tools: connect, disconnect, get_connection_status; and the connection status view
 * (also part of rvr://status).
 *
 * @module
 */
import { z } from "zod";
import { CIRCUIT_STATE_NAMES } from "../core/mod.ts";
import { BAUD_RATES } from "../link/mod.ts";
import { tool, type ToolRobot } from "./_tool.ts";
import { CONNECTION_STATUSES, POWER_STATUSES } from "../robot/mod.ts";

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

/** The connection as get_connection_status and rvr://status show it. */
export function connectionStatus(runtime: ToolRobot): ConnectionStatusView {
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

export const connect = tool({
  name: "connect",
  title: "Connect to the RVR",
  description:
    "Opens the serial port, wakes the robot and waits until both of its processors answer " +
    "(closing an existing connection first, which stops the robot; while a connect to the " +
    "same port is in progress it joins that one). Takes up to the wake timeout " +
    "(RVR_WAKE_TIMEOUT, default 5 s). Then it switches on the safety monitors (stall, motor " +
    "fault, thermal and battery notifications): safety_setup_failures lists any step that " +
    "failed (the server retries those that may pass). Without arguments it uses the " +
    "configured port and baud rate. The server already connects on its own at start-up and " +
    "reconnects after a lost link; call this to force a new attempt or to switch ports. " +
    "Fails with the reason (port missing, no permission, robot silent) and what to check.",
  input: {
    port: z.string().min(1).max(4096).optional().describe(
      "Serial device, e.g. /dev/serial0 (Raspberry Pi UART) or /dev/ttyUSB0; 'sim' for the " +
        "built-in simulator. Default: the configured port (RVR_SERIAL_PORT).",
    ),
    baud: z.literal(BAUD_RATES).optional().describe(
      "Line speed in baud; the RVR uses 115200. Default: the configured rate (RVR_BAUD_RATE).",
    ),
  },
  output: {
    connected: z.literal(true),
    port: z.string().describe("The port the robot answered on."),
    baud: z.number().int(),
    simulated: z.boolean().describe("True when the built-in simulator answers."),
    wake_ms: z.number().min(0).describe("Time until both processors answered."),
    attempts: z.number().int().min(1).describe("Wake attempts it took."),
    safety_setup_ok: z.boolean().describe(
      "True when every safety monitor is on and the battery was read.",
    ),
    safety_setup_failures: z.array(z.string()).describe(
      "'command: reason' for each safety set-up step that failed (empty when ok).",
    ),
  },
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler(robot, args, ctx) {
    const spec: { path?: string; baudRate?: number } = {};
    if (args.port !== undefined) spec.path = args.port;
    if (args.baud !== undefined) spec.baudRate = args.baud;
    const result = await robot.connection.connect(spec, ctx.signal);
    // The set-up of this link: queued at high priority as it came up, a few ms of replies.
    const setup = await robot.rvr.ready();
    return {
      connected: true as const,
      port: result.port,
      baud: robot.connection.spec.baudRate,
      simulated: result.simulated,
      wake_ms: result.wakeMs,
      attempts: result.attempts,
      safety_setup_ok: setup.ok,
      safety_setup_failures: [...setup.failures],
    };
  },
});

export const disconnect = tool({
  name: "disconnect",
  title: "Disconnect from the RVR",
  description:
    "Stops the robot (drive_stop, IR following/evading stopped), closes the link and the port, " +
    "and stays disconnected (no background reconnect) until connect is called.",
  input: {},
  output: {
    connected: z.literal(false),
    status: connectionStatusShape.status,
  },
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler(robot) {
    await robot.connection.disconnect("disconnect requested by the disconnect tool");
    return { connected: false, status: robot.state.connection.status } as const;
  },
});

export const getConnectionStatus = tool({
  name: "get_connection_status",
  title: "Connection status",
  description:
    "The link to the robot: status (connected, connecting, reconnecting, disconnected, error), " +
    "since when and why, the port and baud rate, whether it is the simulator, the robot's " +
    "power state, the circuit breaker (open = the robot stopped answering; commands are " +
    "refused until a probe succeeds) and the command queue.",
  input: {},
  output: connectionStatusShape,
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
  handler(robot) {
    return Promise.resolve(connectionStatus(robot));
  },
});

export const CONNECTION_TOOLS = [connect, disconnect, getConnectionStatus] as const;
