/**
 * Safety tools: set_speed_limit, set_command_timeout (both applied live), get_safety_status,
 * get_motor_fault_state; and the safety status view (also part of rvr://status). Raising the
 * speed limit above RVR_APPROVAL's speed_limit_above and switching the watchdog off with
 * disable_watchdog in it ask a person first (ctx.approve).
 *
 * @module
 */
import { z } from "zod";
import {
  APPROVAL_ACTIONS,
  AUTO_STOP_REASONS,
  BATTERY_STATES,
  ESTOP_ACTORS,
  ESTOP_SOURCES,
  type SafetyStatus,
} from "../robot/mod.ts";
import { requireApproval, settingWayOut } from "./_approval.ts";
import { commandOptions, tool } from "./_tool.ts";

/** Longest watchdog timeout set_command_timeout accepts, seconds. */
export const MAX_COMMAND_TIMEOUT_S = 3600;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

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
    latched_by: z.enum(ESTOP_ACTORS).nullable().describe(
      "Who latched it: person (dashboard, fleet or app button), model (emergency_stop) or code.",
    ),
    source: z.enum(ESTOP_SOURCES).nullable().describe(
      "How it came in: tool, http (dashboard / POST /estop), fleet, app or api.",
    ),
    clear_needs_approval: z.boolean().describe(
      "True when clear_emergency_stop must ask the person who pressed it (and clears only if " +
        "they accept).",
    ),
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
  approval_required_for: z.array(z.string().max(40)).max(APPROVAL_ACTIONS.length).describe(
    "What a person must accept before it is done (RVR_APPROVAL): clear_person_estop, " +
      "speed_limit_above:<percent>, disable_watchdog, raw_motors.",
  ),
};

export type SafetyStatusView = z.infer<z.ZodObject<typeof safetyStatusShape>>;

/** The safety state as get_safety_status and rvr://status show it. */
export function safetyView(s: SafetyStatus): SafetyStatusView {
  return {
    speed_limit_percent: s.speedLimitPercent,
    command_timeout_s: s.commandTimeoutS,
    estop: {
      latched: s.estop.latched,
      reason: s.estop.reason,
      latched_at: iso(s.estop.latchedAt),
      latched_by: s.estop.latchedBy,
      source: s.estop.source,
      clear_needs_approval: s.estop.clearNeedsApproval,
    },
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
    approval_required_for: s.approval.items(),
  };
}

export const setSpeedLimit = tool({
  name: "set_speed_limit",
  title: "Set the speed limit",
  description: "Caps every later movement command at `percent` of full scale (255 for " +
    "drive_with_heading and raw duty, 1.555 m/s for SI velocities, 624 deg/s for the RC yaw " +
    "rate); faster commands are reduced to the cap (both values by one factor, keeping the " +
    "curve) and report limited: true. A drive already running keeps its speed until the next " +
    "command. 100 turns the limit off; the start-up value is RVR_MAX_SPEED_PERCENT (default 50). " +
    "Raising it above RVR_APPROVAL's speed_limit_above asks a person first.",
  input: {
    percent: z.number().min(0).max(100).describe("0-100; 100 = no limit."),
  },
  output: {
    speed_limit_percent: z.number().min(0).max(100),
    previous_percent: z.number().min(0).max(100),
  },
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler(robot, args, ctx) {
    const before = robot.safety.speedLimitPercent;
    const above = robot.safety.approval.speedLimitAbovePercent;
    if (robot.safety.approval.speedLimitNeedsApproval(args.percent, before)) {
      await requireApproval(ctx, {
        action: "speed_limit_above",
        tool: "set_speed_limit",
        message: `The assistant asks to raise the robot's speed limit from ${before} % to ` +
          `${args.percent} % of top speed (above the ${above} % that needs your approval). ` +
          `Allow it?`,
        details: { percent: args.percent, previous: before, approval_above_percent: above },
      }, {
        what: `Raising the speed limit to ${args.percent} % (above ${above} %)`,
        wayOut: settingWayOut(`speed_limit_above:${above}`) +
          ` Or set a limit of at most ${above} %.`,
      });
    }
    const previous = robot.safety.speedLimitPercent;
    robot.safety.setSpeedLimitPercent(args.percent);
    ctx.notify(
      "speed_limit_percent",
      `Speed limit set to ${args.percent} % (was ${previous} %).`,
      { percent: args.percent, previous },
    );
    return { speed_limit_percent: robot.safety.speedLimitPercent, previous_percent: previous };
  },
});

export const setCommandTimeout = tool({
  name: "set_command_timeout",
  title: "Set the auto-stop watchdog",
  description:
    "Sets the watchdog: the robot is stopped when no movement command arrives for `seconds` " +
    "(continuous drives must be repeated within it). 0 switches the watchdog off (the robot " +
    "then drives until told to stop). Applies at once (a running countdown restarts with the " +
    "new value); the start-up value is RVR_COMMAND_TIMEOUT (default 5). Switching it off " +
    "asks a person first when RVR_APPROVAL lists disable_watchdog.",
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
  async handler(robot, args, ctx) {
    if (
      args.seconds === 0 && robot.safety.approval.disableWatchdog &&
      robot.safety.commandTimeoutS > 0
    ) {
      await requireApproval(ctx, {
        action: "disable_watchdog",
        tool: "set_command_timeout",
        message: `The assistant asks to switch the auto-stop watchdog off (now ` +
          `${robot.safety.commandTimeoutS} s): the robot would then keep driving until told to ` +
          `stop, even if the assistant goes silent. Allow it?`,
        details: { seconds: 0, previous: robot.safety.commandTimeoutS },
      }, {
        what: "Switching the auto-stop watchdog off",
        wayOut: settingWayOut("disable_watchdog") + " Or set a timeout above 0.",
      });
    }
    const previous = robot.safety.commandTimeoutS;
    robot.safety.setCommandTimeoutS(args.seconds);
    ctx.notify(
      "command_timeout_s",
      args.seconds === 0
        ? `Auto-stop watchdog switched off (was ${previous} s).`
        : `Auto-stop watchdog set to ${args.seconds} s (was ${previous} s).`,
      { seconds: args.seconds, previous },
    );
    return {
      command_timeout_s: robot.safety.commandTimeoutS,
      previous_s: previous,
      watchdog_enabled: robot.safety.commandTimeoutS > 0,
    };
  },
});

export const getSafetyStatus = tool({
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
  handler(robot) {
    return Promise.resolve(safetyView(robot.rvr.safetyStatus()));
  },
});

export const getMotorFaultState = tool({
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
  async handler(robot, _args, ctx) {
    const r = await robot.rvr.command("get_motor_fault_state", {}, commandOptions(ctx));
    return { fault: r.is_fault, last_notified_fault: robot.state.safety.motorFault };
  },
});

export const SAFETY_TOOLS = [
  setSpeedLimit,
  setCommandTimeout,
  getSafetyStatus,
  getMotorFaultState,
] as const;
