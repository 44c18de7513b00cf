/**
 * Robot-to-robot infrared tools: send_ir_message, start/stop broadcasting, following and
 * evading (docs/protocol.md section 9.5; codes 0-7).
 *
 * @module
 */
import { z } from "zod";
import { commandOptions, tool } from "./_tool.ts";
import { MOVEMENT_RULES, moveResultShape, moveResultView } from "./movement.ts";

export const IR_CODE_MAX = 7;
export const IR_STRENGTH_MAX = 64;

const code = (what: string) =>
  z.number().int().min(0).max(IR_CODE_MAX).describe(`${what} IR code 0-${IR_CODE_MAX}.`);

const codesInput = {
  far_code: code("Far (up to about 3 m)"),
  near_code: code("Near (under about 1 m)"),
};

export const sendIrMessage = tool({
  name: "send_ir_message",
  title: "Send an IR message",
  description:
    "Sends one infrared code (0-7) from all four emitters (front, left, right, rear) at " +
    "`strength` (0 = off, 64 = longest range, about 3 m). Other robots that enabled IR " +
    "message notifications receive it.",
  input: {
    code: code("The"),
    strength: z.number().int().min(0).max(IR_STRENGTH_MAX).describe(
      `Emitter strength 0-${IR_STRENGTH_MAX} (range grows with it).`,
    ),
  },
  output: {
    code: z.number().int(),
    strength: z.number().int(),
    emitters: z.array(z.string()),
  },
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  async handler(robot, args, ctx) {
    const s = args.strength;
    await robot.rvr.command("send_infrared_message", {
      infrared_code: args.code,
      front_strength: s,
      left_strength: s,
      right_strength: s,
      rear_strength: s,
    }, commandOptions(ctx));
    return { code: args.code, strength: s, emitters: ["front", "left", "right", "rear"] };
  },
});

export const startIrBroadcasting = tool({
  name: "start_ir_broadcasting",
  title: "Start IR broadcasting",
  description:
    "Makes this robot an IR beacon others can follow or evade: it keeps sending `far_code` " +
    "at full range and `near_code` at short range until stop_ir_broadcasting. Does not move " +
    "this robot.",
  input: codesInput,
  output: { broadcasting: z.literal(true), far_code: z.number(), near_code: z.number() },
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler(robot, args, ctx) {
    await robot.rvr.command("start_robot_to_robot_infrared_broadcasting", {
      far_code: args.far_code,
      near_code: args.near_code,
    }, commandOptions(ctx));
    return { broadcasting: true, far_code: args.far_code, near_code: args.near_code } as const;
  },
});

/** start_ir_following and start_ir_evading: the same shape, another command. */
function startIrTool(
  name: string,
  mode: "following" | "evading",
  command: "start_robot_to_robot_infrared_following" | "start_robot_to_robot_infrared_evading",
  verb: string,
) {
  return tool({
    name,
    title: `Start IR ${mode}`,
    description: `The robot ${verb} another robot that broadcasts these codes ` +
      `(start_ir_broadcasting on that robot) until stop_ir_${mode}, stop or emergency_stop. ` +
      `It is movement: ${MOVEMENT_RULES}`,
    input: codesInput,
    output: moveResultShape,
    hints: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
    async handler(robot, args, ctx) {
      const r = await robot.rvr.command(command, {
        far_code: args.far_code,
        near_code: args.near_code,
      }, commandOptions(ctx));
      return moveResultView(r, robot.safety.commandTimeoutS);
    },
  });
}

export const startIrFollowing = startIrTool(
  "start_ir_following",
  "following",
  "start_robot_to_robot_infrared_following",
  "follows",
);
export const startIrEvading = startIrTool(
  "start_ir_evading",
  "evading",
  "start_robot_to_robot_infrared_evading",
  "drives away from",
);

/** The three stop_ir_* tools: the same shape, another command. */
function stopIrTool(
  name: string,
  mode: "broadcasting" | "following" | "evading",
  command:
    | "stop_robot_to_robot_infrared_broadcasting"
    | "stop_robot_to_robot_infrared_following"
    | "stop_robot_to_robot_infrared_evading",
  what: string,
) {
  return tool({
    name,
    title: `Stop IR ${mode}`,
    description: `${what} Harmless when it was not running.`,
    input: {},
    output: { stopped: z.enum(["broadcasting", "following", "evading"]) },
    hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
    async handler(robot, _args, ctx) {
      await robot.rvr.command(command, {}, commandOptions(ctx));
      return { stopped: mode };
    },
  });
}

export const stopIrBroadcasting = stopIrTool(
  "stop_ir_broadcasting",
  "broadcasting",
  "stop_robot_to_robot_infrared_broadcasting",
  "Stops sending the IR beacon codes (robots following this one lose it).",
);
export const stopIrFollowing = stopIrTool(
  "stop_ir_following",
  "following",
  "stop_robot_to_robot_infrared_following",
  "Stops following an IR beacon; the robot stops.",
);
export const stopIrEvading = stopIrTool(
  "stop_ir_evading",
  "evading",
  "stop_robot_to_robot_infrared_evading",
  "Stops evading an IR beacon; the robot stops.",
);

export const IR_TOOLS = [
  sendIrMessage,
  startIrBroadcasting,
  startIrFollowing,
  startIrEvading,
  stopIrBroadcasting,
  stopIrFollowing,
  stopIrEvading,
] as const;
