/**
 * Continuous drives: drive_with_heading, drive_tank, drive_rc, drive_raw_motors. Also what every
 * movement tool shares: the safety rules appended to its description, its hints, and the result
 * of a movement command (moveResultShape, moveResultView: the IR tools return it too).
 *
 * @module
 */
import { z } from "zod";
import { MAX_YAW_RATE_DPS, type MoveResult, TOP_SPEED_MPS } from "../robot/mod.ts";
import { requireApproval, settingWayOut } from "./_approval.ts";
import { commandOptions, tool } from "./_tool.ts";

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

/** Hints of every tool that moves the robot. */
export const MOVE_HINTS = { readOnlyHint: false, destructiveHint: true, idempotentHint: false };

export const driveWithHeading = tool({
  name: "drive_with_heading",
  title: "Drive with heading",
  description: "Drives at `speed` toward compass-like `heading` relative to the robot's yaw zero " +
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
  async handler(robot, args, ctx) {
    const r = await robot.rvr.driveWithHeading(
      { speed: args.speed, headingDeg: args.heading, flags: args.reverse ? 0x01 : 0 },
      commandOptions(ctx),
    );
    return moveResultView(r, robot.safety.commandTimeoutS);
  },
});

export const driveTank = tool({
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
  async handler(robot, args, ctx) {
    const r = await robot.rvr.driveTankSi(
      { leftMps: args.left_velocity, rightMps: args.right_velocity },
      commandOptions(ctx),
    );
    return moveResultView(r, robot.safety.commandTimeoutS);
  },
});

export const driveRc = tool({
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
  async handler(robot, args, ctx) {
    const r = await robot.rvr.driveRcSi(
      { linearMps: args.linear_velocity, yawRateDps: args.yaw_rate },
      commandOptions(ctx),
    );
    return moveResultView(r, robot.safety.commandTimeoutS);
  },
});

export const driveRawMotors = tool({
  name: "drive_raw_motors",
  title: "Raw motor power",
  description:
    "Open-loop motor power per side, no speed control: mode off/forward/reverse and duty " +
    "0-255. Small duties may not overcome friction. Both duties are reduced by the same factor " +
    `above the speed limit. With raw_motors in RVR_APPROVAL a person is asked first (turning ` +
    `both motors off never asks). ${CONTINUOUS} ${MOVEMENT_RULES}`,
  input: {
    left_mode: z.enum(MOTOR_MODES).describe("Left motor: off, forward or reverse."),
    left_duty: z.number().int().min(0).max(255).describe("Left duty cycle 0-255."),
    right_mode: z.enum(MOTOR_MODES).describe("Right motor: off, forward or reverse."),
    right_duty: z.number().int().min(0).max(255).describe("Right duty cycle 0-255."),
  },
  output: moveResultShape,
  hints: MOVE_HINTS,
  async handler(robot, args, ctx) {
    const turns = (mode: MotorMode, duty: number) => mode !== "off" && duty > 0;
    if (
      robot.safety.approval.rawMotors &&
      (turns(args.left_mode, args.left_duty) || turns(args.right_mode, args.right_duty))
    ) {
      const what = `Raw motor power (left ${args.left_mode} ${args.left_duty}, right ` +
        `${args.right_mode} ${args.right_duty} of 255)`;
      await requireApproval(ctx, {
        action: "raw_motors",
        tool: "drive_raw_motors",
        message: `The assistant asks to drive the motors open-loop, without speed control: ` +
          `left ${args.left_mode} at ${args.left_duty}/255, right ${args.right_mode} at ` +
          `${args.right_duty}/255. Allow it?`,
        details: { ...args },
      }, { what, wayOut: settingWayOut("raw_motors") });
    }
    const r = await robot.rvr.move("raw_motors", {
      left_mode: MOTOR_MODES.indexOf(args.left_mode),
      left_duty_cycle: args.left_duty,
      right_mode: MOTOR_MODES.indexOf(args.right_mode),
      right_duty_cycle: args.right_duty,
    }, commandOptions(ctx));
    return moveResultView(r, robot.safety.commandTimeoutS);
  },
});
