/**
 * Connection tools: connect, disconnect, get_connection_status.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { BAUD_RATES } from "../../config.ts";
import { connectionStatus, connectionStatusShape } from "../_status.ts";
import { defineTool, type ToolEnv } from "../_tool.ts";

export const CONNECTION_TOOLS = ["connect", "disconnect", "get_connection_status"] as const;

export function registerConnectionTools(server: McpServer, deps: ToolEnv): void {
  const { runtime } = deps;

  defineTool(server, {
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
    async run(args, call) {
      const spec: { path?: string; baudRate?: number } = {};
      if (args.port !== undefined) spec.path = args.port;
      if (args.baud !== undefined) spec.baudRate = args.baud;
      const result = await runtime.connection.connect(spec, call.signal);
      // The set-up of this link: queued at high priority as it came up, a few ms of replies.
      const setup = await runtime.rvr.ready();
      return {
        connected: true as const,
        port: result.port,
        baud: runtime.connection.spec.baudRate,
        simulated: result.simulated,
        wake_ms: result.wakeMs,
        attempts: result.attempts,
        safety_setup_ok: setup.ok,
        safety_setup_failures: [...setup.failures],
      };
    },
  });

  defineTool(server, {
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
    async run() {
      await runtime.connection.disconnect("disconnect requested by an MCP client");
      return { connected: false, status: runtime.state.connection.status } as const;
    },
  });

  defineTool(server, {
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
    run() {
      return Promise.resolve(connectionStatus(runtime));
    },
  });
}
