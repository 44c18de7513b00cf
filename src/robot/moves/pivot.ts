/**
 * pivot: turns in place by a signed relative angle of any size (270 is 270 degrees, 360 a full
 * turn): the yaw of every IMU sample is unwrapped into a cumulative angle, and `drive_with_yaw_si`
 * (linear 0) is steered to a target at most {@link PIVOT_LEAD_DEG} ahead of the measured yaw (so
 * the firmware always turns the intended way), resent as the robot turns and at least every
 * {@link PIVOT_RESEND_MS} (the firmware's 2 s control timeout). It completes when the measured
 * turn is within {@link PIVOT_TOLERANCE_DEG} of the request, then sends drive_stop. Timeout:
 * `|degrees| / 45 deg/s + 3 s`.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { wrap180 } from "../../protocol/mod.ts";
import type { MoveResult } from "../drive.ts";
import type { Rvr } from "../rvr.ts";
import { End, type MoveRun } from "./_run.ts";
import { MoveTimeoutError } from "./errors.ts";
import type { PoseTracker } from "./pose.ts";
import {
  type MoveOutcome,
  PIVOT_LEAD_DEG,
  PIVOT_RESEND_MS,
  PIVOT_TOLERANCE_DEG,
  TIMEOUT_MARGIN_MS,
  TIMEOUT_TURN_RATE_DPS,
} from "./types.ts";

const log = getLogger(["rvr", "robot", "moves"]);

export interface PivotContext {
  rvr: Rvr;
  poses: PoseTracker;
}

/** Turns `run` by `degrees` (+ = right, the heading convention) on the measured IMU yaw. */
export async function turnInPlace(
  run: MoveRun,
  ctx: PivotContext,
  degrees: number,
): Promise<MoveOutcome> {
  const start = await ctx.poses.start(run);
  const goal = -degrees; // in yaw terms: + = left
  const timeoutMs = Math.ceil(
    (Math.abs(degrees) / TIMEOUT_TURN_RATE_DPS) * 1000 + TIMEOUT_MARGIN_MS,
  );
  const total = Math.abs(degrees);
  let turned = 0; // cumulative measured yaw change, + = left
  let lastYaw = start.yaw_deg;
  const arrived = () => Math.abs(goal - turned) <= PIVOT_TOLERANCE_DEG;
  if (arrived()) {
    return {
      success: true,
      move: "pivot",
      pose: start,
      turned_deg: 0,
      duration_ms: 0,
      timeout_ms: 0,
      requested: { degrees },
      applied: { degrees },
      limited: false,
      speed_limit_percent: ctx.rvr.safetyStatus().speedLimitPercent,
    };
  }
  let lastSentYaw: number | undefined;
  let lastSentAt = -Infinity;
  let first: MoveResult | undefined;
  const send = async (): Promise<void> => {
    if (run.signal.aborted) return;
    const step = Math.max(-PIVOT_LEAD_DEG, Math.min(PIVOT_LEAD_DEG, goal - turned));
    const yaw = wrap180(lastYaw + step);
    const now = Date.now();
    if (
      lastSentYaw !== undefined && Math.abs(wrap180(yaw - lastSentYaw)) < 1 &&
      now - lastSentAt < PIVOT_RESEND_MS
    ) return;
    lastSentYaw = yaw;
    lastSentAt = now;
    run.sent = true; // from here on it may be out
    const result = await ctx.rvr.driveWithYawSi({ yawDeg: yaw, linearMps: 0 }, {
      signal: run.commandSignal,
    });
    first ??= result;
  };
  const done = Promise.withResolvers<void>();
  const sentAt = Date.now();
  run.watch(ctx.rvr.movesSignal());
  try {
    await run.until(send());
  } catch (error) {
    if (!(error instanceof End) && first === undefined) run.sent = false; // refused
    throw error;
  }
  run.deadline(timeoutMs, () =>
    new MoveTimeoutError(
      "pivot",
      timeoutMs,
      `${degrees} deg requested, ${
        (-turned).toFixed(1)
      } deg measured, at ${TIMEOUT_TURN_RATE_DPS} deg/s ` +
        `+${TIMEOUT_MARGIN_MS / 1000} s margin`,
      run.lastPose,
    ));
  ctx.poses.follow(run, (pose, r) => {
    if (r.sensor !== "imu") return;
    turned += wrap180(pose.yaw_deg - lastYaw);
    lastYaw = pose.yaw_deg;
    const progress = Math.min(total, Math.max(0, Math.sign(degrees) * -turned));
    run.progress(progress, total, `pivot: ${(-turned).toFixed(1)} of ${degrees} deg`);
    if (arrived()) {
      done.resolve();
      return;
    }
    send().catch((error) => run.end("error", error));
  });
  // Keep the yaw target alive even when no sample comes (the firmware's control timeout).
  const keepAlive = setInterval(() => {
    send().catch((error) => run.end("error", error));
  }, PIVOT_RESEND_MS);
  run.onDispose(() => clearInterval(keepAlive));
  await run.until(done.promise);
  clearInterval(keepAlive);
  const durationMs = Date.now() - sentAt;
  // Arrived: stop turning. Our own stop must not end this move, so it is detached first.
  run.dispose();
  await ctx.rvr.stop();
  const pose = await ctx.poses.final(run, run.lastPose ?? start);
  turned += wrap180(pose.yaw_deg - lastYaw);
  run.lastPose = pose;
  log.info("pivot of {degrees} deg turned {turned} deg in {ms} ms", {
    degrees,
    turned: -turned,
    ms: durationMs,
  });
  return {
    success: true,
    move: "pivot",
    pose,
    turned_deg: -turned,
    duration_ms: durationMs,
    timeout_ms: timeoutMs,
    requested: { degrees },
    applied: { degrees },
    limited: first?.limited ?? false,
    speed_limit_percent: first?.speedLimitPercent ?? ctx.rvr.safetyStatus().speedLimitPercent,
  };
}
