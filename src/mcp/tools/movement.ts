/**
 * Movement tools: continuous drives (drive_with_heading, drive_tank, drive_rc, drive_raw_motors),
 * moves that take time (drive_to_position, drive_forward, drive_backward, pivot: progress
 * notifications, stop on cancellation), stops (stop, emergency_stop, clear_emergency_stop) and
 * the reference frame (reset_yaw, reset_locator).
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import {
  MAX_STOP_DECELERATION_MPS2,
  MAX_STOP_TIME_S,
  MAX_YAW_RATE_DPS,
  MIN_STOP_DECELERATION_MPS2,
  type MoveResult,
  STOP_CONFIRM_MS,
  TOP_SPEED_MPS,
} from "../../robot/mod.ts";
import {
  DEFAULT_DISTANCE_SPEED_MPS,
  MAX_MOVE_DISTANCE_M,
  MAX_MOVE_SPEED_MPS,
  MAX_PIVOT_DEG,
  type MoveOutcome,
  type MoveProgress,
  type Pose,
} from "../../robot/moves/mod.ts";
import { defineTool, type ToolCall, type ToolEnv } from "../_tool.ts";

export const MOVEMENT_TOOLS = [
  "drive_with_heading",
  "drive_tank",
  "drive_rc",
  "drive_raw_motors",
  "drive_to_position",
  "drive_forward",
  "drive_backward",
  "pivot",
  "stop",
  "emergency_stop",
  "clear_emergency_stop",
  "reset_yaw",
  "reset_locator",
] as const;

/** raw_motors modes in wire order (0 off, 1 forward, 2 reverse). */
export const MOTOR_MODES = ["off", "forward", "reverse"] as const;
export type MotorMode = typeof MOTOR_MODES[number];

/** Appended to every movement description. */
export const MOVEMENT_RULES =
  "Safety: refused while the emergency stop is latched (call clear_emergency_stop first) or the " +
  "battery is critical; speeds above the speed limit (set_speed_limit, get_safety_status) are " +
  "reduced to it and the result says so (limited, requested vs applied); the watchdog stops the " +
  "robot when no movement command arrives for command_timeout_s (set_command_timeout).";

const CONTINUOUS =
  "The robot keeps going until the next movement command, stop, emergency_stop, or the " +
  "watchdog; a newer drive replaces one still waiting to be sent (superseded: true).";

export const moveResultShape = {
  command: z.string().describe("The RVR command that was sent."),
  requested: z.record(z.string(), z.number()).describe("Speed fields as requested."),
  applied: z.record(z.string(), z.number()).describe(
    "Speed fields as sent, after the speed limit.",
  ),
  limited: z.boolean().describe("True when the speed limit reduced the command."),
  speed_limit_percent: z.number().min(0).max(100),
  superseded: z.boolean().describe(
    "True when a newer drive replaced this one before it was sent (nothing was sent).",
  ),
  watchdog_s: z.number().min(0).describe(
    "The robot stops this long after the last movement command (0 = watchdog off).",
  ),
};

export function moveResultView(
  r: MoveResult,
  watchdogS: number,
): z.infer<z.ZodObject<typeof moveResultShape>> {
  return {
    command: r.command,
    requested: { ...r.requested },
    applied: { ...r.applied },
    limited: r.limited,
    speed_limit_percent: r.speedLimitPercent,
    superseded: r.superseded,
    watchdog_s: watchdogS,
  };
}

const poseShape = z.object({
  x_m: z.number().describe("Metres along the locator x axis (+x = right at the last reset)."),
  y_m: z.number().describe("Metres along the locator y axis (+y = forward at the last reset)."),
  heading_deg: z.number().min(0).lt(360).describe(
    "0-359.99 clockwise like drive_with_heading: 0 forward at the last reset, 90 right.",
  ),
  yaw_deg: z.number().describe("The IMU yaw, -180..180, + = left (= -heading)."),
});

const moveOutcomeShape = {
  success: z.boolean().describe("True: the robot arrived (a move that does not, fails)."),
  move: z.enum(["drive_to_position", "drive_forward", "drive_backward", "pivot"]),
  pose: poseShape.describe("Measured pose after arriving."),
  target: poseShape.nullable().describe("Target pose of a drive; null for pivot."),
  turned_deg: z.number().nullable().describe(
    "Pivot: the measured turn, + = right (clockwise); null for drives.",
  ),
  duration_ms: z.number().min(0),
  timeout_ms: z.number().min(0).describe("The move's derived time limit."),
  requested: z.record(z.string(), z.number()).describe(
    "Drives: speed_mps; pivot: degrees.",
  ),
  applied: z.record(z.string(), z.number()).describe("The same after the speed limit."),
  limited: z.boolean().describe("True when the speed limit reduced the speed."),
  speed_limit_percent: z.number().min(0).max(100),
};

const poseView = (p: Pose) => ({
  x_m: p.x_m,
  y_m: p.y_m,
  heading_deg: p.heading_deg,
  yaw_deg: p.yaw_deg,
});

function outcomeView(o: MoveOutcome): z.infer<z.ZodObject<typeof moveOutcomeShape>> {
  return {
    success: o.success,
    move: o.move,
    pose: poseView(o.pose),
    target: o.target === undefined ? null : poseView(o.target),
    turned_deg: o.turned_deg ?? null,
    duration_ms: o.duration_ms,
    timeout_ms: o.timeout_ms,
    requested: { ...o.requested },
    applied: { ...o.applied },
    limited: o.limited,
    speed_limit_percent: o.speed_limit_percent,
  };
}

/** Options for a Moves call: MCP cancellation aborts it; progress when the client asked. */
function moveOptions(
  call: ToolCall,
): { signal: AbortSignal; onProgress?: (p: MoveProgress) => void } {
  if (!call.wantsProgress) return { signal: call.signal };
  return {
    signal: call.signal,
    onProgress: (p) => call.progress(p.progress, p.total, p.message),
  };
}

const TIMED_MOVE =
  "Waits until the move ends and returns the final pose; sends progress notifications when " +
  "the request carries a progressToken; cancelling the request stops the robot. Stop, " +
  "emergency_stop or a safety stop end it early (error result).";

export function registerMovementTools(server: McpServer, deps: ToolEnv): void {
  const { runtime, moves } = deps;
  const rvr = runtime.rvr;
  const watchdogS = () => runtime.safety.commandTimeoutS;
  const MOVE_HINTS = { readOnlyHint: false, destructiveHint: true, idempotentHint: false };

  defineTool(server, {
    name: "drive_with_heading",
    title: "Drive with heading",
    description:
      "Drives at `speed` toward compass-like `heading` relative to the robot's yaw zero " +
      "(reset_yaw): 0 = forward, 90 = right, 180 = backward, 270 = left (clockwise, like " +
      "pivot and drive_to_position's final_heading; yaw counts the other way). The robot " +
      "turns to the heading and drives; speed 0 turns in place and holds. `reverse` drives " +
      "backwards while facing " +
      `the heading. ${CONTINUOUS} ${MOVEMENT_RULES}`,
    input: {
      speed: z.number().int().min(0).max(255).describe(
        "0-255 of top speed (255 about 1.5 m/s); reduced to the speed limit.",
      ),
      heading: z.number().int().min(0).max(359).describe(
        "Degrees 0-359 clockwise: 0 forward, 90 right, 180 back, 270 left.",
      ),
      reverse: z.boolean().default(false).describe("Drive backwards (default false)."),
    },
    output: moveResultShape,
    hints: MOVE_HINTS,
    async run(args, call) {
      const r = await rvr.driveWithHeading(
        { speed: args.speed, headingDeg: args.heading, flags: args.reverse ? 0x01 : 0 },
        call.command,
      );
      return moveResultView(r, watchdogS());
    },
  });

  defineTool(server, {
    name: "drive_tank",
    title: "Drive tank (tread velocities)",
    description:
      "Sets each tread's velocity in m/s, like a tank: equal values drive straight, opposite " +
      "values spin in place, negative drives that tread backwards. Both values are reduced by " +
      `the same factor when one exceeds the speed limit, so the curve is kept. ${CONTINUOUS} ` +
      MOVEMENT_RULES,
    input: {
      left_velocity: z.number().min(-TOP_SPEED_MPS).max(TOP_SPEED_MPS).describe(
        `Left tread, m/s (-${TOP_SPEED_MPS} to ${TOP_SPEED_MPS}).`,
      ),
      right_velocity: z.number().min(-TOP_SPEED_MPS).max(TOP_SPEED_MPS).describe(
        `Right tread, m/s (-${TOP_SPEED_MPS} to ${TOP_SPEED_MPS}).`,
      ),
    },
    output: moveResultShape,
    hints: MOVE_HINTS,
    async run(args, call) {
      const r = await rvr.driveTankSi(
        { leftMps: args.left_velocity, rightMps: args.right_velocity },
        call.command,
      );
      return moveResultView(r, watchdogS());
    },
  });

  defineTool(server, {
    name: "drive_rc",
    title: "Drive like an RC car",
    description: "Drives at `linear_velocity` m/s while turning at `yaw_rate` degrees per second " +
      "(positive = turn left / counter-clockwise seen from above, negative = right). Both are " +
      `reduced by the same factor when either exceeds the speed limit. ${CONTINUOUS} ` +
      MOVEMENT_RULES,
    input: {
      linear_velocity: z.number().min(-TOP_SPEED_MPS).max(TOP_SPEED_MPS).describe(
        `m/s, negative = backwards (-${TOP_SPEED_MPS} to ${TOP_SPEED_MPS}).`,
      ),
      yaw_rate: z.number().min(-MAX_YAW_RATE_DPS).max(MAX_YAW_RATE_DPS).describe(
        `Degrees per second, + = left (-${MAX_YAW_RATE_DPS} to ${MAX_YAW_RATE_DPS}).`,
      ),
    },
    output: moveResultShape,
    hints: MOVE_HINTS,
    async run(args, call) {
      const r = await rvr.driveRcSi(
        { linearMps: args.linear_velocity, yawRateDps: args.yaw_rate },
        call.command,
      );
      return moveResultView(r, watchdogS());
    },
  });

  defineTool(server, {
    name: "drive_raw_motors",
    title: "Raw motor power",
    description:
      "Open-loop motor power per side, no speed control: mode off/forward/reverse and duty " +
      "0-255. Small duties may not overcome friction. Both duties are reduced by the same factor " +
      `above the speed limit. ${CONTINUOUS} ${MOVEMENT_RULES}`,
    input: {
      left_mode: z.enum(MOTOR_MODES).describe("Left motor: off, forward or reverse."),
      left_duty: z.number().int().min(0).max(255).describe("Left duty cycle 0-255."),
      right_mode: z.enum(MOTOR_MODES).describe("Right motor: off, forward or reverse."),
      right_duty: z.number().int().min(0).max(255).describe("Right duty cycle 0-255."),
    },
    output: moveResultShape,
    hints: MOVE_HINTS,
    async run(args, call) {
      const r = await rvr.move("raw_motors", {
        left_mode: MOTOR_MODES.indexOf(args.left_mode),
        left_duty_cycle: args.left_duty,
        right_mode: MOTOR_MODES.indexOf(args.right_mode),
        right_duty_cycle: args.right_duty,
      }, call.command);
      return moveResultView(r, watchdogS());
    },
  });

  defineTool(server, {
    name: "drive_to_position",
    title: "Drive to a position",
    description: "Drives to (x, y) in metres in the locator frame (origin and axes from the last " +
      "reset_locator / reset_yaw: +y = forward, +x = right at that moment) using the robot's " +
      "position controller, at up to `speed` m/s, and ends facing `final_heading` (clockwise " +
      "like drive_with_heading: 0 = forward at the last reset, 90 = right) or, without it, the " +
      `direction of travel. Nothing is reset first: coordinates stay in your frame. ${TIMED_MOVE} ` +
      MOVEMENT_RULES,
    input: {
      x: z.number().min(-MAX_MOVE_DISTANCE_M).max(MAX_MOVE_DISTANCE_M).describe(
        `Target x in metres, + = right of the reset heading (+-${MAX_MOVE_DISTANCE_M}).`,
      ),
      y: z.number().min(-MAX_MOVE_DISTANCE_M).max(MAX_MOVE_DISTANCE_M).describe(
        `Target y in metres, + = forward along the reset heading (+-${MAX_MOVE_DISTANCE_M}).`,
      ),
      speed: z.number().gt(0).max(MAX_MOVE_SPEED_MPS).describe(
        `Top speed in m/s (>0 to ${MAX_MOVE_SPEED_MPS}); reduced to the speed limit ` +
          `(a share of ${TOP_SPEED_MPS} m/s).`,
      ),
      final_heading: z.number().min(0).lt(360).optional().describe(
        "Heading to end at, degrees 0-359.99 clockwise (0 forward at the last reset, 90 " +
          "right). Default: the direction of travel.",
      ),
    },
    output: moveOutcomeShape,
    hints: MOVE_HINTS,
    async run(args, call) {
      const goal: { x_m: number; y_m: number; speed_mps: number; final_heading_deg?: number } = {
        x_m: args.x,
        y_m: args.y,
        speed_mps: args.speed,
      };
      if (args.final_heading !== undefined) goal.final_heading_deg = args.final_heading;
      return outcomeView(await moves.driveToPosition(goal, moveOptions(call)));
    },
  });

  for (const direction of ["forward", "backward"] as const) {
    defineTool(server, {
      name: `drive_${direction}`,
      title: `Drive ${direction}`,
      description: `Drives ${direction} in a straight line by \`distance\` metres from where the ` +
        `robot is, along the way it faces, using the position controller (the robot ` +
        `${direction === "backward" ? "backs up without turning round" : "does not turn"}). ` +
        `${TIMED_MOVE} ${MOVEMENT_RULES}`,
      input: {
        distance: z.number().gt(0).max(MAX_MOVE_DISTANCE_M).describe(
          `Metres to drive (>0 to ${MAX_MOVE_DISTANCE_M}).`,
        ),
        speed: z.number().gt(0).max(MAX_MOVE_SPEED_MPS).optional().describe(
          `Top speed in m/s (>0 to ${MAX_MOVE_SPEED_MPS}), default ` +
            `${DEFAULT_DISTANCE_SPEED_MPS}; reduced to the speed limit.`,
        ),
      },
      output: moveOutcomeShape,
      hints: MOVE_HINTS,
      async run(args, call) {
        const move: { distance_m: number; direction: typeof direction; speed_mps?: number } = {
          distance_m: args.distance,
          direction,
        };
        if (args.speed !== undefined) move.speed_mps = args.speed;
        return outcomeView(await moves.driveDistance(move, moveOptions(call)));
      },
    });
  }

  defineTool(server, {
    name: "pivot",
    title: "Pivot in place",
    description: "Turns in place by `degrees` relative to the current heading, clockwise like " +
      "drive_with_heading: positive = right, negative = left (seen from above). Any size: 90 " +
      "is a quarter turn right, 270 is 270 degrees right (not 90 left), 360 a full turn, 0 " +
      `nothing. Completes when the measured (IMU) yaw has turned that far. ${TIMED_MOVE} ` +
      MOVEMENT_RULES,
    input: {
      degrees: z.number().min(-MAX_PIVOT_DEG).max(MAX_PIVOT_DEG).describe(
        `Signed relative angle in degrees, + = right/clockwise (-${MAX_PIVOT_DEG} to ` +
          `${MAX_PIVOT_DEG}).`,
      ),
    },
    output: moveOutcomeShape,
    hints: MOVE_HINTS,
    async run(args, call) {
      return outcomeView(await moves.pivot({ degrees: args.degrees }, moveOptions(call)));
    },
  });

  defineTool(server, {
    name: "stop",
    title: "Stop",
    description:
      "Brings the robot to a controlled stop: drive_stop at the firmware's default 2 m/s^2, or " +
      `at \`deceleration\` m/s^2 (${MIN_STOP_DECELERATION_MPS2} to ` +
      `${MAX_STOP_DECELERATION_MPS2}) when given: from top speed (${TOP_SPEED_MPS} m/s) the ` +
      `robot is at rest within ${MAX_STOP_TIME_S} s at any accepted rate. If the robot has not ` +
      `reported that it stopped ${STOP_CONFIRM_MS / 1000} s after the stop, the server sends ` +
      "drive_stop again. Runs ahead of queued movement (which is then dropped), works while " +
      "the circuit is open, and ends any running move. Does not latch anything: the next " +
      "movement command drives again. For a latched stop use emergency_stop.",
    input: {
      deceleration: z.number().min(MIN_STOP_DECELERATION_MPS2).max(MAX_STOP_DECELERATION_MPS2)
        .optional().describe(
          `Deceleration in m/s^2 (${MIN_STOP_DECELERATION_MPS2} to ` +
            `${MAX_STOP_DECELERATION_MPS2}; slower would take too long to stop); default 2.`,
        ),
    },
    output: {
      command: z.enum(["drive_stop", "drive_stop_custom_decel"]).describe("What was sent."),
    },
    hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    async run(args, call) {
      const r = await rvr.stop({
        decelerationMps2: args.deceleration,
        correlationId: call.correlationId,
        signal: call.signal,
      });
      return { command: r.command };
    },
  });

  defineTool(server, {
    name: "emergency_stop",
    title: "Emergency stop",
    description:
      "Stops the robot at once and latches: drive_stop goes to the robot ahead of everything " +
      "(even while the circuit is open), IR following/evading are stopped, queued movement is " +
      "thrown away, and every movement command is refused until clear_emergency_stop. Works " +
      "even when not connected (the latch holds; sent is false).",
    input: {},
    output: {
      sent: z.boolean().describe("True when drive_stop reached the port."),
      error: z.string().nullable().describe("Why drive_stop could not be sent, if it was not."),
      cancelled_queued: z.number().int().min(0).describe("Queued movement commands dropped."),
      newly_latched: z.boolean().describe("False when the e-stop was already latched."),
      latched_at: z.string().describe("ISO-8601 time of the latch."),
    },
    hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    async run(_args, call) {
      const r = await rvr.emergencyStop("tool", {
        reason: "emergency_stop tool",
        correlationId: call.correlationId,
      });
      return {
        sent: r.sent,
        error: r.error ?? null,
        cancelled_queued: r.cancelledQueued,
        newly_latched: r.newlyLatched,
        latched_at: new Date(r.latchedAt).toISOString(),
      };
    },
  });

  defineTool(server, {
    name: "clear_emergency_stop",
    title: "Clear the emergency stop",
    description:
      "Releases the emergency-stop latch so movement commands are accepted again. Nothing " +
      "resumes: send a movement command afterwards. Harmless when not latched.",
    input: {},
    output: {
      released: z.boolean().describe("True when a latched e-stop was released."),
      latched: z.literal(false),
    },
    hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    run() {
      const released = rvr.clearEmergencyStop("cleared by the clear_emergency_stop tool");
      return Promise.resolve({ released, latched: false } as const);
    },
  });

  defineTool(server, {
    name: "reset_yaw",
    title: "Reset yaw",
    description: "Makes the direction the robot faces now its yaw zero: drive_with_heading 0 and " +
      "drive_to_position's final_heading are measured from here. Does not move the robot.",
    input: {},
    output: { reset: z.literal("yaw") },
    hints: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
    async run(_args, call) {
      await rvr.command("reset_yaw", {}, call.command);
      return { reset: "yaw" } as const;
    },
  });

  defineTool(server, {
    name: "reset_locator",
    title: "Reset locator",
    description:
      "Makes the robot's current position the origin (x = y = 0) of the locator frame used by " +
      "drive_to_position and the locator sensor. Does not move the robot or change its yaw.",
    input: {},
    output: { reset: z.literal("locator") },
    hints: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
    async run(_args, call) {
      await rvr.command("reset_locator_x_and_y", {}, call.command);
      return { reset: "locator" } as const;
    },
  });
}
