/**
 * The drive_shape prompt: a shape (square, triangle, pentagon, hexagon, star, circle) driven as
 * timed moves only, drive_forward for each side and pivot at each corner, so every move ends by
 * itself and the watchdog never has a continuous drive to catch. A circle is twelve straight
 * pieces. The turns add up to whole turns, so the robot ends where it started, facing the same
 * way.
 *
 * @module
 */
import { z } from "zod";
import { MIN_MOVE_SPEED_MPS } from "../robot/mod.ts";
import { clearEmergencyStop, emergencyStop, stop } from "./movement_stops.ts";
import { driveForward, pivot } from "./movement_moves.ts";
import { driveRawMotors, driveRc, driveTank, driveWithHeading } from "./movement_drives.ts";
import { resetLocator, resetYaw } from "./movement_frame.ts";
import { connect, getConnectionStatus } from "./connection.ts";
import { getSafetyStatus, setSpeedLimit } from "./safety.ts";
import { callText, prompt, round, toolText } from "./_prompt.ts";
import { robotFacts, speedLimitMps } from "./prompt_facts.ts";

/** Each shape: its sides, the turn at each corner (degrees), and its width in sides. */
export const SHAPES = {
  square: { sides: 4, turnDeg: 90, widthSides: 1 },
  triangle: { sides: 3, turnDeg: 120, widthSides: 1 },
  pentagon: { sides: 5, turnDeg: 72, widthSides: 1.62 },
  hexagon: { sides: 6, turnDeg: 60, widthSides: 2 },
  star: { sides: 5, turnDeg: 144, widthSides: 1 },
  circle: { sides: 12, turnDeg: 30, widthSides: 3.86 },
} as const;
export type Shape = keyof typeof SHAPES;
export const SHAPE_NAMES = Object.keys(SHAPES) as Shape[];

export const MIN_SHAPE_SIZE_M = 0.2;
export const MAX_SHAPE_SIZE_M = 3;
export const MAX_SHAPE_SPEED_MPS = 1.5;
const MIN_SHAPE_SPEED_MPS = Math.max(0.05, MIN_MOVE_SPEED_MPS);

/** The side of `shape` with size `sizeM` (a circle's size is its diameter), metres. */
export function sideLengthM(shape: Shape, sizeM: number): number {
  return shape === "circle" ? round(sizeM * Math.sin(Math.PI / SHAPES.circle.sides)) : round(sizeM);
}

/** Metres of free floor the shape needs ahead and to the side of its start (its width). */
function spaceM(shape: Shape, sizeM: number): number {
  return round(sideLengthM(shape, sizeM) * SHAPES[shape].widthSides, 2);
}

export const driveShape = prompt({
  name: "drive_shape",
  title: "Drive a shape",
  description: "Drives the RVR along a square, triangle, pentagon, hexagon, star or circle of " +
    "the size and speed you choose, using straight moves and turns in place that each end by " +
    "themselves, and brings it back to where it started.",
  arguments: {
    shape: z.enum(SHAPE_NAMES).describe(`Which shape: ${SHAPE_NAMES.join(", ")}.`),
    size: z.number().min(MIN_SHAPE_SIZE_M).max(MAX_SHAPE_SIZE_M).default(0.5).describe(
      `Side length in metres (a circle: its diameter), ${MIN_SHAPE_SIZE_M} to ` +
        `${MAX_SHAPE_SIZE_M} (default 0.5).`,
    ),
    speed: z.number().min(MIN_SHAPE_SPEED_MPS).max(MAX_SHAPE_SPEED_MPS).default(0.3).describe(
      `Driving speed in m/s, ${MIN_SHAPE_SPEED_MPS} to ${MAX_SHAPE_SPEED_MPS} (default 0.3); ` +
        "the speed limit slows it if it is lower.",
    ),
    direction: z.enum(["right", "left"]).default("right").describe(
      "Which way to turn at the corners: right (clockwise, default) or left.",
    ),
  },
  suggestions: {
    size: ["0.3", "0.5", "0.75", "1", "1.5", "2"],
    speed: ["0.1", "0.2", "0.3", "0.5", "0.75", "1"],
  },
  messages(args, robot) {
    const { sides, turnDeg } = SHAPES[args.shape];
    const side = sideLengthM(args.shape, args.size);
    const degrees = args.direction === "right" ? turnDeg : -turnDeg;
    const limit = speedLimitMps(robot);
    const what = args.shape === "circle"
      ? `a circle ${args.size} m across (${sides} straight pieces of ${side} m)`
      : `a ${args.shape} with sides of ${side} m`;
    const moves: string[] = [];
    for (let i = 1; i <= sides; i++) {
      moves.push(
        `${callText(driveForward, { distance: side, speed: args.speed })} then ` +
          `${callText(pivot, { degrees })} (side ${i} of ${sides})`,
      );
    }
    const slowed = args.speed > limit
      ? ` ${args.speed} m/s is above the speed limit, so the moves run at ${limit} m/s; do not ` +
        `raise it with ${toolText(setSpeedLimit)} unless the person asks for it.`
      : "";
    const text = [
      `Drive the RVR along ${what} at ${args.speed} m/s, turning ${args.direction} at each ` +
      "corner, and bring it back to its start.",
      "",
      robotFacts(robot),
      "",
      "Use only the timed moves below: each ends by itself and returns the measured pose. " +
      `Never use ${
        [driveRawMotors, driveTank, driveRc, driveWithHeading].map(toolText).join(", ")
      } ` +
      "for this: they keep driving until the next command or the watchdog.",
      "",
      "Before moving:",
      `1. ${toolText(getConnectionStatus)}: if it is not connected, call ${toolText(connect)} ` +
      "once; if that fails, stop here and offer the diagnose_connection prompt.",
      `2. ${toolText(getSafetyStatus)}: if the emergency stop is latched, tell the person and ` +
      `ask them before calling ${toolText(clearEmergencyStop)} (never clear it on your own); ` +
      `if the battery is critical, stop here.${slowed}`,
      `3. Ask the person to clear about ${spaceM(args.shape, args.size)} m of floor ahead and ` +
      `to the ${args.direction} of the robot, and wait until they say it is ready.`,
      "",
      "Then make these calls in this order, each after the previous one returned:",
      `4. ${callText(resetLocator, {})} and ${callText(resetYaw, {})}: the start is (0, 0), ` +
      "facing heading 0.",
      ...moves.map((m, i) => `${i + 5}. ${m}`),
      "",
      "Each pivot result has turned_deg, the measured turn: when it differs from the degrees " +
      "asked, add the difference to the next pivot, so small errors do not add up.",
      "",
      "The last pose should be within a few centimetres of x 0, y 0, heading 0: tell the " +
      "person how far from the start it ended. If a move fails, call " +
      `${callText(stop, {})} and tell the person what the error says; do not retry on your ` +
      `own. If anything looks dangerous, call ${callText(emergencyStop, {})} at once.`,
    ].join("\n");
    return [{ role: "user", text }];
  },
});
