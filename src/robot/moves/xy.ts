/**
 * drive_to_position, drive_forward, drive_backward: one `drive_to_position_si` (the firmware's
 * position controller), completed by its `xy_position_drive_result_notify` (0x3A). The results are
 * matched to drives in order ({@link XyResults}: each XY drive ends with exactly one 0x3A, also
 * when it is interrupted or stopped), so the result of a drive that was replaced is not taken for
 * the new one's; this assumes XY drives are only started here. Timeout:
 * `1.5 * distance / applied speed + turns / 45 deg/s + 3 s`.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RvrLink } from "../../link/mod.ts";
import { wrap180 } from "../../protocol/mod.ts";
import type { MoveResult } from "../drive.ts";
import type { Rvr } from "../rvr.ts";
import { End, type MoveRun } from "./_run.ts";
import { MoveFailedError, MoveTimeoutError } from "./errors.ts";
import { describePose, makePose, type PoseTracker } from "./pose.ts";
import {
  MIN_MOVE_SPEED_MPS,
  type MoveOutcome,
  type Pose,
  TIMEOUT_DISTANCE_FACTOR,
  TIMEOUT_MARGIN_MS,
  TIMEOUT_TURN_RATE_DPS,
} from "./types.ts";

const log = getLogger(["rvr", "robot", "moves"]);

/** The 0x3A of a drive that ended without it (stopped, replaced) is expected this soon. */
const XY_RESULT_GRACE_MS = 2000;

/** One XY drive waiting for its 0x3A. */
export interface XyWaiter {
  /** Set while its move waits; cleared when the move ended without its result. */
  resolve: ((success: boolean) => void) | undefined;
  /** When its move ended without the result (ms since epoch), else null. */
  abandonedAt: number | null;
}

/** XY drives sent and not yet answered by 0x3A, oldest first, and the 0x3As that answer them. */
export class XyResults {
  #waiters: XyWaiter[] = [];

  /** Listens to `link`'s 0x3A until it closes; returns the unsubscribe functions. */
  listen(link: RvrLink): (() => void)[] {
    const off = link.on("xy_position_drive_result_notify", (v) => this.#onResult(v.success));
    const offClose = link.onClose(() => {
      off();
      offClose();
    });
    return [off, offClose];
  }

  add(waiter: XyWaiter): void {
    this.#waiters.push(waiter);
  }

  remove(waiter: XyWaiter): void {
    const i = this.#waiters.indexOf(waiter);
    if (i >= 0) this.#waiters.splice(i, 1);
  }

  /** The link is gone, and with it the robot's answers to drives sent on it. */
  clear(): void {
    this.#waiters = [];
  }

  /** A 0x3A: it answers the oldest XY drive still waiting (see the module doc). */
  #onResult(success: boolean): void {
    const now = Date.now();
    // Drives that ended long ago without their answer will not get one any more.
    while (
      this.#waiters.length > 0 && this.#waiters[0].abandonedAt !== null &&
      now - (this.#waiters[0].abandonedAt as number) > XY_RESULT_GRACE_MS
    ) {
      this.#waiters.shift();
    }
    const waiter = this.#waiters.shift();
    if (waiter === undefined) {
      log.debug("xy_position_drive_result_notify ({success}) for no drive of ours", { success });
      return;
    }
    waiter.resolve?.(success);
  }
}

export interface XyContext {
  rvr: Rvr;
  poses: PoseTracker;
  results: XyResults;
}

/**
 * Why the position controller gave up: a speed that is 0 on the wire (the speed limit is 0 %, or
 * caps the speed to less than a 32-bit float holds) cannot move; otherwise another drive command
 * most likely replaced this one.
 */
function failureReason(appliedMps: number, speedLimitPercent: number): string {
  if (Math.fround(appliedMps) > 0) {
    return "the robot's position controller reported failure (another drive command probably took over)";
  }
  if (speedLimitPercent === 0) {
    return "the speed limit is 0 %, so the position controller cannot move (raise it with set_speed_limit)";
  }
  return `the speed limit of ${speedLimitPercent} % caps the speed at ${appliedMps} m/s, which is ` +
    `0 on the wire: too small to move; the smallest speed that moves is ${MIN_MOVE_SPEED_MPS} ` +
    "m/s (raise the limit with set_speed_limit)";
}

/** Drives `run` to (x, y), ending at `yaw`; resolves on the firmware's success. */
export async function driveXy(
  run: MoveRun,
  ctx: XyContext,
  p: {
    start: Pose;
    x: number;
    y: number;
    yaw: number;
    speed: number;
    flags: number;
    travelYaw: number;
  },
): Promise<MoveOutcome> {
  const name = run.name;
  const target = makePose(p.x, p.y, p.yaw);
  const total = Math.hypot(p.x - p.start.x_m, p.y - p.start.y_m);
  // Register for the answer before the command can produce it.
  const waiter: XyWaiter = { resolve: undefined, abandonedAt: null };
  const result = new Promise<boolean>((resolve) => waiter.resolve = resolve);
  ctx.results.add(waiter);
  run.onDispose(() => {
    if (waiter.resolve !== undefined) {
      waiter.resolve = undefined;
      waiter.abandonedAt = Date.now();
    }
  });
  const sentAt = Date.now();
  let move: MoveResult;
  run.watch(ctx.rvr.movesSignal());
  run.sent = true; // from here on it may be out
  try {
    move = await run.until(ctx.rvr.driveToPositionSi({
      yawDeg: p.yaw,
      xM: p.x,
      yM: p.y,
      speedMps: p.speed,
      flags: p.flags,
    }, { signal: run.commandSignal }));
  } catch (error) {
    if (!(error instanceof End)) {
      // Refused or not sent (e-stop latched, not connected, stopped meanwhile): no answer comes.
      run.sent = false;
      ctx.results.remove(waiter);
      waiter.resolve = undefined;
    }
    throw error;
  }
  const applied = move.applied.linear_speed ?? p.speed;
  const turns = Math.abs(wrap180(p.travelYaw - p.start.yaw_deg)) +
    Math.abs(wrap180(p.yaw - p.travelYaw));
  const timeoutMs = Math.ceil(
    (TIMEOUT_DISTANCE_FACTOR * total / Math.max(applied, MIN_MOVE_SPEED_MPS)) * 1000 +
      (turns / TIMEOUT_TURN_RATE_DPS) * 1000 + TIMEOUT_MARGIN_MS,
  );
  run.deadline(timeoutMs, () =>
    new MoveTimeoutError(
      name,
      timeoutMs,
      `${total.toFixed(2)} m at ${applied.toFixed(2)} m/s to (${p.x.toFixed(2)}, ${
        p.y.toFixed(2)
      }) m, ${turns.toFixed(0)} deg of turns, +${TIMEOUT_MARGIN_MS / 1000} s margin`,
      run.lastPose,
    ));
  ctx.poses.follow(run, (pose, r) => {
    if (r.sensor !== "locator") return;
    const remaining = Math.hypot(p.x - pose.x_m, p.y - pose.y_m);
    const covered = Math.min(total, Math.max(0, total - remaining));
    run.progress(
      covered,
      total,
      `${name}: ${covered.toFixed(2)} of ${total.toFixed(2)} m, ${remaining.toFixed(2)} m to go`,
    );
  });
  const success = await run.until(result);
  waiter.resolve = undefined;
  const durationMs = Date.now() - sentAt;
  if (success) {
    // Arrived: nothing can undo that any more (a stop now must not fail the move).
    run.dispose();
  } else {
    run.end(
      "failed",
      new MoveFailedError(
        name,
        failureReason(applied, move.speedLimitPercent),
        run.lastPose,
      ),
    );
    throw run.ended;
  }
  const pose = await ctx.poses.final(run, target);
  run.progress(total, total, `${name}: arrived at ${describePose(pose)}`);
  log.info("{move} arrived at {pose} in {ms} ms", { move: name, pose, ms: durationMs });
  return {
    success: true,
    move: name,
    pose,
    target,
    duration_ms: durationMs,
    timeout_ms: timeoutMs,
    requested: { speed_mps: p.speed },
    applied: { speed_mps: applied },
    limited: move.limited,
    speed_limit_percent: move.speedLimitPercent,
  };
}
