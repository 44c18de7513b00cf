/**
 * The reference frame of headings and positions: reset_yaw and reset_locator.
 *
 * @module
 */
import { z } from "zod";
import { commandOptions, tool } from "./_tool.ts";

export const resetYaw = tool({
  name: "reset_yaw",
  title: "Reset yaw",
  description: "Makes the direction the robot faces now its yaw zero: drive_with_heading 0 and " +
    "drive_to_position's final_heading are measured from here. Does not move the robot.",
  input: {},
  output: { reset: z.literal("yaw") },
  hints: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
  async handler(robot, _args, ctx) {
    await robot.moves.resetYaw(commandOptions(ctx));
    return { reset: "yaw" } as const;
  },
});

export const resetLocator = tool({
  name: "reset_locator",
  title: "Reset locator",
  description:
    "Makes the robot's current position the origin (x = y = 0) of the locator frame used by " +
    "drive_to_position and the locator sensor. Does not move the robot or change its yaw.",
  input: {},
  output: { reset: z.literal("locator") },
  hints: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
  async handler(robot, _args, ctx) {
    await robot.moves.resetLocator(commandOptions(ctx));
    return { reset: "locator" } as const;
  },
});
