/**
 * Safety tools: set_speed_limit, set_command_timeout (both applied live), get_safety_status,
 * get_motor_fault_state.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { safetyStatusShape, safetyView } from "../_status.ts";
import { defineTool, type ToolEnv } from "../_tool.ts";

export const SAFETY_TOOLS = [
  "set_speed_limit",
  "set_command_timeout",
  "get_safety_status",
  "get_motor_fault_state",
] as const;

/** Longest watchdog timeout set_command_timeout accepts, seconds. */
export const MAX_COMMAND_TIMEOUT_S = 3600;

export function registerSafetyTools(server: McpServer, deps: ToolEnv): void {
  const { runtime } = deps;
  const safety = runtime.safety;

  defineTool(server, {
    name: "set_speed_limit",
    title: "Set the speed limit",
    description: "Caps every later movement command at `percent` of full scale (255 for " +
      "drive_with_heading and raw duty, 1.555 m/s for SI velocities, 624 deg/s for the RC yaw " +
      "rate); faster commands are reduced to the cap (both values by one factor, keeping the " +
      "curve) and report limited: true. A drive already running keeps its speed until the next " +
      "command. 100 turns the limit off; the start-up value is RVR_MAX_SPEED_PERCENT (default 50).",
    input: {
      percent: z.number().min(0).max(100).describe("0-100; 100 = no limit."),
    },
    output: {
      speed_limit_percent: z.number().min(0).max(100),
      previous_percent: z.number().min(0).max(100),
    },
    hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    run(args) {
      const previous = safety.speedLimitPercent;
      safety.setSpeedLimitPercent(args.percent);
      deps.noteSetting(
        "speed_limit_percent",
        `Speed limit set to ${args.percent} % (was ${previous} %).`,
        { percent: args.percent, previous },
      );
      return Promise.resolve({
        speed_limit_percent: safety.speedLimitPercent,
        previous_percent: previous,
      });
    },
  });

  defineTool(server, {
    name: "set_command_timeout",
    title: "Set the auto-stop watchdog",
    description:
      "Sets the watchdog: the robot is stopped when no movement command arrives for `seconds` " +
      "(continuous drives must be repeated within it). 0 switches the watchdog off (the robot " +
      "then drives until told to stop). Applies at once (a running countdown restarts with the " +
      "new value); the start-up value is RVR_COMMAND_TIMEOUT (default 5).",
    input: {
      seconds: z.number().min(0).max(MAX_COMMAND_TIMEOUT_S).describe(
        `Seconds 0-${MAX_COMMAND_TIMEOUT_S}; 0 = off.`,
      ),
    },
    output: {
      command_timeout_s: z.number().min(0),
      previous_s: z.number().min(0),
      watchdog_enabled: z.boolean(),
    },
    hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    run(args) {
      const previous = safety.commandTimeoutS;
      safety.setCommandTimeoutS(args.seconds);
      deps.noteSetting(
        "command_timeout_s",
        args.seconds === 0
          ? `Auto-stop watchdog switched off (was ${previous} s).`
          : `Auto-stop watchdog set to ${args.seconds} s (was ${previous} s).`,
        { seconds: args.seconds, previous },
      );
      return Promise.resolve({
        command_timeout_s: safety.commandTimeoutS,
        previous_s: previous,
        watchdog_enabled: safety.commandTimeoutS > 0,
      });
    },
  });

  defineTool(server, {
    name: "get_safety_status",
    title: "Safety status",
    description:
      "The safety state: speed limit, watchdog (timeout, armed, time left), emergency stop " +
      "(latched, why, since when: while latched movement is refused; clear_emergency_stop " +
      "releases it), battery (state, percent, critical blocks movement), motor fault, and the " +
      "last stop the server made on its own (watchdog, stall, fault, thermal, battery, link loss).",
    input: {},
    output: safetyStatusShape,
    hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
    run() {
      return Promise.resolve(safetyView(runtime.rvr.safetyStatus()));
    },
  });

  defineTool(server, {
    name: "get_motor_fault_state",
    title: "Motor fault state",
    description:
      "Asks the robot whether its motor driver reports a fault (a fault stops the robot; check " +
      "motors and wheels). Also returns the fault flag the server last heard in a notification.",
    input: {},
    output: {
      fault: z.boolean().describe("The robot's answer now."),
      last_notified_fault: z.boolean().describe("From the last motor fault notification."),
    },
    hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
    async run(_args, call) {
      const r = await runtime.rvr.command("get_motor_fault_state", {}, call.command);
      return { fault: r.is_fault, last_notified_fault: runtime.state.safety.motorFault };
    },
  });
}
