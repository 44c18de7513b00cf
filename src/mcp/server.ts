/**
 * The MCP server: every RVR tool of the catalog (src/tools, registered by _tool.ts), the three
 * resources (resources.ts), the prompts (prompts.ts), the MCP App resources (apps.ts), logging
 * (safety events and robot warnings reach the client as log messages), and the server
 * instructions. {@link createServer} is the one factory behind every transport and both
 * protocol eras: the SDK's entries (`serveStdio` in main.ts, `createMcpHandler` in http.ts) call
 * it for a stdio connection, a 2025-era Streamable HTTP session, or one 2026-era HTTP request,
 * all driving the same runtime; {@link RvrMcpServer.close} (or the transport closing) releases its
 * bus subscriptions and timers.
 *
 * Eras: a 2025-era server (`era: "legacy"`, the default) has sessions, `resources/subscribe`
 * and unsolicited log messages. A 2026-07-28 server (`era: "modern"`) has none of these: the
 * robot's events reach the client as `notifications/resources/updated` of rvr://events (and
 * rvr://status) on the `subscriptions/listen` streams that asked for them (resources.ts).
 *
 * Logging: every bus "safety" event becomes `notifications/message` (logger "rvr.safety") at a
 * level by type: emergency stop latched and auto-stops "warning", stall "warning", motor fault
 * "error", thermal "warning" (critical: "error"), battery critical "critical", recoveries and
 * e-stop cleared "notice", speed limiting "debug". Robot notifications add battery low
 * ("warning", logger "rvr.robot"), will sleep ("warning") and did sleep ("notice"). The
 * client's logging/setLevel filters them. 2025 era only (2026-07-28 deprecates logging and has
 * no unsolicited messages).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { type LoggingLevel, McpServer } from "@modelcontextprotocol/server";
import {
  BATTERY_STATES,
  type RobotBus,
  type RobotNotification,
  type SafetyEvent,
} from "../robot/mod.ts";
import { CATALOG, TOOL_NAMES as CATALOG_TOOL_NAMES } from "../tools/mod.ts";
import { registerTool, type ServerDeps, type ToolEnv } from "./_tool.ts";
import { APP_TOOL_NAMES, registerApps } from "./apps.ts";
import { registerResources, type ResourceOptions } from "./resources.ts";
import { type PromptOptions, registerPrompts } from "./prompts.ts";

export type { ServerDeps } from "./_tool.ts";

const log = getLogger(["rvr", "mcp"]);

/** The catalog's tools by group. */
export { TOOL_GROUPS } from "../tools/mod.ts";

/** Every tool's name in the order tools/list shows them: the catalog's, then the apps' (apps.ts). */
export const TOOL_NAMES: readonly string[] = [...CATALOG_TOOL_NAMES, ...APP_TOOL_NAMES];

export const SERVER_NAME = "rvr-mcp";

/** The server `instructions`: how to use the tools well. */
export const INSTRUCTIONS = `Drives one Sphero RVR robot.

Units: distances and positions in metres, speeds in m/s (drive_with_heading: 0-255 of top speed), angles in degrees, times in ms unless a name says _s.

Directions: headings count clockwise like a compass: drive_with_heading heading, pivot degrees (+ = right) and drive_to_position final_heading (0 = forward at the last reset_yaw, 90 = right, 270 = left). Yaw counts the other way, + = left (counter-clockwise): drive_rc yaw_rate, the imu sensor, pose.yaw_deg. Positions are in the locator frame: +y forward, +x right at the last reset_locator/reset_yaw; moves never reset it.

Safety: speeds above the speed limit (get_safety_status, set_speed_limit; default 50 %) are reduced and reported as limited. The watchdog stops the robot when no movement command arrives for command_timeout_s (default 5 s): repeat continuous drives or raise it with set_command_timeout. emergency_stop stops at once and refuses all movement until clear_emergency_stop (which resumes nothing). A stall, motor fault, critical motor temperature or critical battery stops the robot on its own; these arrive as log messages and in rvr://events. Use stop for an ordinary stop.

Moves that take time (drive_to_position, drive_forward, drive_backward, pivot, calibrate_magnetometer) return when done; send a progressToken for progress, cancel the request to stop the robot.

Sensors: one-shot readings have get_* tools (battery, temperatures, encoders, magnetometer, ambient light, colour, IR). For continuous data call start_sensor_streaming, then read get_sensor_data or subscribe to rvr://sensors; each sample has its age. rvr://status and rvr://events are subscribable too. get_telemetry returns everything a dashboard shows in one call; show_dashboard opens a live dashboard (map, battery, e-stop state, an EMERGENCY STOP button for the person) inside the chat where the client shows MCP Apps.

Errors come back as tool errors that name the cause and what to do (e.g. call connect, or clear_emergency_stop first).

Simulation: a result with simulated_robot: true came from the built-in simulated RVR, not a real robot; tell the person so.`;

/** The protocol era a server instance serves: 2025-era (`initialize`) or 2026-07-28. */
export type Era = "legacy" | "modern";

/** Options beyond the deps. */
export interface ServerOptions extends ResourceOptions, PromptOptions {
  /** Default "legacy". The SDK's serving entries say which one each instance serves. */
  era?: Era;
}

/** An McpServer that releases what it registered on the runtime when it closes. */
export class RvrMcpServer extends McpServer {
  #cleanups: (() => void)[] = [];
  #disposed = false;

  /** Runs `cleanup` once when the server is closed or its transport closes. */
  onDispose(cleanup: () => void): void {
    if (this.#disposed) cleanup();
    else this.#cleanups.push(cleanup);
  }

  /** Unsubscribes from the bus and clears timers (idempotent). close() calls it. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const cleanup of this.#cleanups.splice(0)) {
      try {
        cleanup();
      } catch (error) {
        log.error("MCP server cleanup failed: {error}", { error: String(error) });
      }
    }
  }

  override async close(): Promise<void> {
    this.dispose();
    await super.close();
  }
}

/** MCP level and logger for a safety event. */
export function safetyLogLevel(e: SafetyEvent): LoggingLevel {
  const stopped = e.data !== undefined && "reason" in e.data;
  switch (e.type) {
    case "estop":
      return "warning";
    case "estop_cleared":
      return "notice";
    case "auto_stop":
      return "warning";
    case "stall":
      return stopped ? "warning" : "info";
    case "motor_fault":
      return stopped ? "error" : "notice";
    case "thermal":
      return stopped ? "error" : "warning";
    case "battery":
      return stopped ? "critical" : "notice";
    case "limited":
      return "debug";
  }
}

/** A log message for a robot notification worth telling the client about, or undefined. */
export function notificationLog(
  n: RobotNotification,
): { level: LoggingLevel; event: string; message: string } | undefined {
  switch (n.name) {
    case "battery_voltage_state_change_notify": {
      const state = BATTERY_STATES[n.values.state as number] ?? "unknown";
      if (state !== "low") return undefined; // critical and recovered come as safety events
      return {
        level: "warning",
        event: "battery_low",
        message: "Battery low: charge or swap it soon (at critical the robot stops and " +
          "movement is refused).",
      };
    }
    case "will_sleep_notify":
      return {
        level: "warning",
        event: "will_sleep",
        message: "The robot goes to sleep in 10 s for lack of activity; send any command to " +
          "keep it awake.",
      };
    case "did_sleep_notify":
      return {
        level: "notice",
        event: "did_sleep",
        message: "The robot went to sleep: driving, LEDs and sensors are off until it is " +
          "woken (call connect).",
      };
    default:
      return undefined;
  }
}

/** Sends safety events and robot warnings to the client as log messages. */
function forwardRobotLogs(server: McpServer, bus: RobotBus): () => void {
  const send = (
    level: LoggingLevel,
    logger: string,
    data: Record<string, unknown>,
  ) => {
    // Nothing but answers before the client's initialize: it has not agreed to anything yet.
    if (!server.isConnected() || server.server.getClientVersion() === undefined) return;
    server.sendLoggingMessage({ level, logger, data }).catch((error) => {
      log.warn("Log message to the MCP client not sent: {error}", { error: String(error) });
    });
  };
  const subscription = bus.subscribe(["safety", "robot.notification"], (e) => {
    if (e.topic === "safety") {
      const s = e.payload as SafetyEvent;
      send(safetyLogLevel(s), "rvr.safety", {
        event: s.type,
        message: s.detail,
        at: new Date(s.at).toISOString(),
        ...(s.data === undefined ? {} : { details: s.data }),
      });
      return;
    }
    const n = e.payload as RobotNotification;
    const entry = notificationLog(n);
    if (entry === undefined) return;
    send(entry.level, "rvr.robot", {
      event: entry.event,
      message: entry.message,
      at: new Date(n.at).toISOString(),
      notification: n.name,
    });
  }, { name: "mcp-logging", bufferSize: 1024 });
  return () => subscription.unsubscribe();
}

/**
 * Builds the MCP server over `deps`: every tool, the resources, logging and the instructions.
 * Connect it to a transport; close it (or let the transport close) to release its subscriptions.
 */
export function createServer(deps: ServerDeps, options: ServerOptions = {}): RvrMcpServer {
  const legacy = (options.era ?? "legacy") === "legacy";
  const server = new RvrMcpServer(
    { name: SERVER_NAME, title: "Sphero RVR", version: deps.version },
    {
      capabilities: {
        ...(legacy ? { logging: {} } : {}),
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        // The prompt catalog (prompts.ts); the SDK adds `completions` for their completable
        // arguments.
        prompts: { listChanged: true },
      },
      instructions: INSTRUCTIONS,
    },
  );
  const resources = registerResources(server, deps, {
    ...options,
    updates: options.updates ?? (legacy ? "subscribed" : "all"),
  });
  server.onDispose(() => resources.dispose());
  const env: ToolEnv = {
    robot: deps.runtime,
    notify: (name, detail, data) => resources.eventLog.noteSetting(name, detail, data),
  };
  for (const tool of CATALOG) registerTool(server, tool, env);
  registerPrompts(server, deps.runtime, options);
  registerApps(server, deps, env);
  if (legacy) server.onDispose(forwardRobotLogs(server, deps.runtime.bus));
  const previous = server.server.onclose;
  server.server.onclose = () => {
    server.dispose();
    previous?.();
  };
  return server;
}
