/**
 * Stops: stop (controlled, not latched), emergency_stop (latched) and clear_emergency_stop. Who
 * pressed the stop releases it: clear_emergency_stop on a stop a person latched (the dashboard,
 * POST /estop, a fleet-wide stop, the MCP App's button) asks that person first (ctx.approve) and
 * clears only on their accept; the model's own e-stop clears at once.
 *
 * @module
 */
import { z } from "zod";
import {
  type ApprovalDecision,
  MAX_STOP_DECELERATION_MPS2,
  MAX_STOP_TIME_S,
  MIN_STOP_DECELERATION_MPS2,
  PERSON_ESTOP_WAY_OUT,
  STOP_CONFIRM_MS,
  TOP_SPEED_MPS,
} from "../robot/mod.ts";
import { askPerson } from "./_approval.ts";
import { tool } from "./_tool.ts";

export const stop = tool({
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
  async handler(robot, args, ctx) {
    const r = await robot.rvr.stop({
      decelerationMps2: args.deceleration,
      correlationId: ctx.correlationId,
      signal: ctx.signal,
    });
    return { command: r.command };
  },
});

export const emergencyStop = tool({
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
  async handler(robot, _args, ctx) {
    const r = await robot.rvr.emergencyStop("tool", {
      reason: "emergency_stop tool",
      correlationId: ctx.correlationId,
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

export const clearEmergencyStop = tool({
  name: "clear_emergency_stop",
  title: "Clear the emergency stop",
  description:
    "Releases the emergency-stop latch so movement commands are accepted again. Nothing " +
    "resumes: send a movement command afterwards. Harmless when not latched. An e-stop you " +
    "latched (emergency_stop) clears at once; one a person latched (the dashboard's button, a " +
    "fleet-wide stop, the app's button; get_safety_status: estop.latched_by) is theirs to " +
    "release: the person is asked and it clears only if they accept; if they decline, do not " +
    "ask again unprompted.",
  input: {},
  output: {
    released: z.boolean().describe("True when a latched e-stop was released."),
    latched: z.literal(false),
    approval: z.enum(["not_needed", "accepted"]).describe(
      "accepted: a person latched it and accepted clearing it.",
    ),
  },
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler(robot, _args, ctx) {
    const needed = robot.safety.clearNeedsApproval("model");
    let approval: ApprovalDecision | undefined;
    if (needed) {
      const estop = robot.rvr.safetyStatus().estop;
      const since = estop.latchedAt === null
        ? ""
        : ` at ${new Date(estop.latchedAt).toISOString()}`;
      approval = await askPerson(ctx, {
        action: "clear_person_estop",
        tool: "clear_emergency_stop",
        message: `The robot's emergency stop was pressed by a person (${estop.source}${since}: ` +
          `${estop.reason}). The assistant asks to clear it so the robot accepts movement ` +
          `commands again (nothing moves by itself). Clear the emergency stop?`,
        details: { source: estop.source, reason: estop.reason, latched_at: estop.latchedAt },
      }, {
        what: `Clearing the emergency stop a person latched (${estop.source})`,
        wayOut: PERSON_ESTOP_WAY_OUT,
      });
    }
    // The robot checks again: without the accept it refuses (ApprovalRefusedError) and keeps the latch.
    const released = robot.rvr.clearEmergencyStop("cleared by the clear_emergency_stop tool", {
      by: "model",
      approval,
    });
    return { released, latched: false, approval: needed ? "accepted" : "not_needed" } as const;
  },
});
