/**
 * Moves that take time: drive_to_position, drive_forward, drive_backward, pivot (progress
 * notifications, stop on cancellation, the measured pose as the result).
 *
 * @module
 */
import { z } from "zod";
import {
  DEFAULT_DISTANCE_SPEED_MPS,
  MAX_MOVE_DISTANCE_M,
  MAX_MOVE_SPEED_MPS,
  MAX_PIVOT_DEG,
  MIN_MOVE_SPEED_MPS,
  type MoveOutcome,
  type MoveProgress,
  type Pose,
  TOP_SPEED_MPS,
} from "../robot/mod.ts";
import { tool, type ToolContext } from "./_tool.ts";
import { MOVE_HINTS, MOVEMENT_RULES } from "./movement_drives.ts";

/** A move's speed, m/s: below the smallest that moves it is refused as too small to move. */
function moveSpeed() {
  return z.number().min(MIN_MOVE_SPEED_MPS, {
    error: `too small to move (the smallest speed that moves is ${MIN_MOVE_SPEED_MPS} m/s)`,
  }).max(MAX_MOVE_SPEED_MPS);
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

/** Options for a Moves call: cancelling the call aborts it; progress when the caller asked. */
function moveOptions(
  ctx: ToolContext,
): { signal: AbortSignal; onProgress?: (p: MoveProgress) => void } {
  const progress = ctx.progress;
  if (progress === undefined) return { signal: ctx.signal };
  return {
    signal: ctx.signal,
    onProgress: (p) => progress(p.progress, p.total, p.message),
  };
}

const TIMED_MOVE =
  "Waits until the move ends and returns the final pose; sends progress notifications when " +
  "the request carries a progressToken; cancelling the request stops the robot. Stop, " +
  "emergency_stop or a safety stop end it early (error result).";

export const driveToPosition = tool({
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
    speed: moveSpeed().describe(
      `Top speed in m/s (${MIN_MOVE_SPEED_MPS} to ${MAX_MOVE_SPEED_MPS}: slower does not move); ` +
        `reduced to the speed limit (a share of ${TOP_SPEED_MPS} m/s).`,
    ),
    final_heading: z.number().min(0).lt(360).optional().describe(
      "Heading to end at, degrees 0-359.99 clockwise (0 forward at the last reset, 90 " +
        "right). Default: the direction of travel.",
    ),
  },
  output: moveOutcomeShape,
  hints: MOVE_HINTS,
  async handler(robot, args, ctx) {
    const goal: { x_m: number; y_m: number; speed_mps: number; final_heading_deg?: number } = {
      x_m: args.x,
      y_m: args.y,
      speed_mps: args.speed,
    };
    if (args.final_heading !== undefined) goal.final_heading_deg = args.final_heading;
    return outcomeView(await robot.moves.driveToPosition(goal, moveOptions(ctx)));
  },
});

/** drive_forward and drive_backward: one definition, the direction fixed in each. */
function driveDistanceTool(direction: "forward" | "backward") {
  return tool({
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
      speed: moveSpeed().optional().describe(
        `Top speed in m/s (${MIN_MOVE_SPEED_MPS} to ${MAX_MOVE_SPEED_MPS}: slower does not move), ` +
          `default ${DEFAULT_DISTANCE_SPEED_MPS}; reduced to the speed limit.`,
      ),
    },
    output: moveOutcomeShape,
    hints: MOVE_HINTS,
    async handler(robot, args, ctx) {
      const move: { distance_m: number; direction: typeof direction; speed_mps?: number } = {
        distance_m: args.distance,
        direction,
      };
      if (args.speed !== undefined) move.speed_mps = args.speed;
      return outcomeView(await robot.moves.driveDistance(move, moveOptions(ctx)));
    },
  });
}

export const driveForward = driveDistanceTool("forward");
export const driveBackward = driveDistanceTool("backward");

export const pivot = tool({
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
  async handler(robot, args, ctx) {
    return outcomeView(await robot.moves.pivot({ degrees: args.degrees }, moveOptions(ctx)));
  },
});
