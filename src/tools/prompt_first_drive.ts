/**
 * The first_drive prompt: a guided first drive for someone new to the robot. It checks the
 * connection, the safety state and the battery, explains the speed limit, the watchdog and the
 * stops, lights the LEDs, then drives a short way out, turns round, drives back and turns to face
 * the way it started: timed moves only, each ending by itself.
 *
 * @module
 */
import { z } from "zod";
import { connect, getConnectionStatus } from "./connection.ts";
import { setAllLeds } from "./leds.ts";
import { resetLocator, resetYaw } from "./movement_frame.ts";
import { driveForward, pivot } from "./movement_moves.ts";
import { clearEmergencyStop, emergencyStop, stop } from "./movement_stops.ts";
import { getBatteryStatus } from "./sensor_readings.ts";
import { getSafetyStatus, setCommandTimeout, setSpeedLimit } from "./safety.ts";
import { callText, prompt, toolText } from "./_prompt.ts";
import { robotFacts, speedLimitMps } from "./prompt_facts.ts";
import { COLOUR_NAMES, COLOURS } from "./prompt_light_show.ts";

export const MIN_FIRST_DISTANCE_M = 0.1;
export const MAX_FIRST_DISTANCE_M = 2;
export const MIN_FIRST_SPEED_MPS = 0.05;
export const MAX_FIRST_SPEED_MPS = 1;

export const firstDrive = prompt({
  name: "first_drive",
  title: "Guided first drive",
  description: "A first drive, step by step: checks the connection, the safety settings and " +
    "the battery, explains how the robot is kept safe, lights it up, then drives a short way " +
    "out and back to where it started.",
  arguments: {
    distance: z.number().min(MIN_FIRST_DISTANCE_M).max(MAX_FIRST_DISTANCE_M).default(0.3)
      .describe(
        `How far to drive out, metres, ${MIN_FIRST_DISTANCE_M} to ${MAX_FIRST_DISTANCE_M} ` +
          "(default 0.3).",
      ),
    speed: z.number().min(MIN_FIRST_SPEED_MPS).max(MAX_FIRST_SPEED_MPS).default(0.2).describe(
      `Speed in m/s, ${MIN_FIRST_SPEED_MPS} to ${MAX_FIRST_SPEED_MPS} (default 0.2); the ` +
        "speed limit slows it if it is lower.",
    ),
    colour: z.enum(COLOUR_NAMES).default("green").describe(
      `The LED colour while it drives: ${COLOUR_NAMES.join(", ")} (default green).`,
    ),
  },
  suggestions: {
    distance: ["0.2", "0.3", "0.5", "1"],
    speed: ["0.1", "0.2", "0.3", "0.5"],
  },
  messages(args, robot) {
    const [red, green, blue] = COLOURS[args.colour];
    const out = { distance: args.distance, speed: args.speed };
    const limit = speedLimitMps(robot);
    const slowed = args.speed > limit
      ? ` (${args.speed} m/s is above it: the moves run at ${limit} m/s)`
      : "";
    const text = [
      `Guide me through a first drive of the RVR: ${args.distance} m out at ${args.speed} m/s ` +
      "and back. Explain each step in a sentence before you make it.",
      "",
      robotFacts(robot),
      "",
      "Check first (these calls do not move the robot):",
      `1. ${toolText(getConnectionStatus)}: if it is not connected, call ${toolText(connect)} ` +
      "once; if that fails, stop here and offer the diagnose_connection prompt. If the result " +
      "says simulated, tell me that no real robot will move.",
      `2. ${toolText(getSafetyStatus)}: tell me the speed limit${slowed}, that the watchdog ` +
      "stops the robot when no movement command comes for its timeout, and that " +
      `${toolText(stop)} stops it and ${toolText(emergencyStop)} stops it and refuses all ` +
      "movement until cleared. If the emergency stop is latched, ask me before calling " +
      `${toolText(clearEmergencyStop)}. Do not change ${toolText(setSpeedLimit)} or ` +
      `${toolText(setCommandTimeout)} unless I ask.`,
      `3. ${callText(getBatteryStatus, {})}: if movement_blocked is true, stop here and tell me ` +
      "to charge the battery.",
      `4. Ask me to put the robot on the floor with ${args.distance} m free in front of it, ` +
      "and wait until I say it is ready.",
      "",
      "Then drive, each call after the previous one returned:",
      `5. ${callText(setAllLeds, { red, green, blue })}: the lights say it is about to move.`,
      `6. ${callText(resetYaw, {})} and ${callText(resetLocator, {})}: here is (0, 0), ` +
      "facing heading 0.",
      `7. ${callText(driveForward, out)}: out.`,
      `8. ${callText(pivot, { degrees: 180 })}: turn round (clockwise).`,
      `9. ${callText(driveForward, out)}: back.`,
      `10. ${callText(pivot, { degrees: 180 })}: face the way it started (add what the first ` +
      "pivot's turned_deg fell short of 180, so the errors do not add up).",
      "",
      "Tell me where it ended (the last pose: x_m and y_m should be near 0) and what I could " +
      "try next (the drive_shape or light_show prompts). If a move fails, call " +
      `${callText(stop, {})} and tell me what the error says; do not retry on your own.`,
    ].join("\n");
    return [{ role: "user", text }];
  },
});
