/**
 * Moves that take time: drive to a position, drive a distance, pivot. Each one is tracked on the
 * robot's own measurements until it arrives, reports progress, can be cancelled, and resolves with
 * the final pose.
 *
 * **Frames and conventions** (the robot's locator frame, section 9.4/9.5; a move never resets it:
 * no `reset_yaw`, no `reset_locator_x_and_y`, so the user's frame is kept; the user resets it with
 * {@link Moves.resetYaw} / {@link Moves.resetLocator}, after which the next move starts from a
 * pose read in the new frame, see pose.ts):
 * - Position `x_m`, `y_m`: metres, +x to the right and +y forward of the robot at the last locator
 *   reset (power-on, or the user's reset_locator / reset_yaw).
 * - `yaw_deg`: the IMU yaw, right-hand rule: + = left (counter-clockwise seen from above), 0 = the
 *   direction the robot faced at the last yaw reset, -180..180.
 * - `heading_deg`: the same direction in the left-hand heading convention of drive_with_heading,
 *   0-359: 0 forward, 90 right, 180 back, 270 left (`heading = -yaw` mod 360).
 * - {@link Moves.pivot} `degrees` and `final_heading_deg` use the heading convention: **positive
 *   turns right (clockwise seen from above)**, negative turns left, matching drive_with_heading.
 * - It assumes the locator axes follow the yaw (the default; they diverge only when
 *   set_locator_flags auto_calibrate is on and the yaw was reset afterwards).
 *
 * **drive_to_position, drive_forward, drive_backward** send one `drive_to_position_si` (the
 * firmware's position controller) and complete on its `xy_position_drive_result_notify` (0x3A):
 * success resolves, failure (the firmware gave up, e.g. another drive command took over) rejects
 * with {@link MoveFailedError}. The results are matched to drives in order (each XY drive ends with
 * exactly one 0x3A, also when it is interrupted or stopped), so the result of a drive that was
 * replaced is not taken for the new one's; this assumes XY drives are only started here.
 * Forward/backward targets are computed from the current pose: `distance` along the current yaw
 * (backward: force-reverse flag 1, the robot keeps facing the same way), final yaw = the current
 * one. drive_to_position without a final heading ends facing its direction of travel (no extra
 * turn at the end).
 *
 * **pivot** turns in place by a signed relative angle of any size (270 is 270 degrees, 360 is a
 * full turn, 720 two): the yaw of every IMU sample is unwrapped into a cumulative angle, and
 * `drive_with_yaw_si` (linear 0) is steered to a target at most {@link PIVOT_LEAD_DEG} ahead of
 * the measured yaw (so the firmware always turns the intended way), resent as the robot turns and
 * at least every {@link PIVOT_RESEND_MS} (the firmware's 2 s control timeout). It completes when the
 * measured cumulative turn is within {@link PIVOT_TOLERANCE_DEG} of the request, then sends
 * drive_stop. A request within the tolerance (e.g. 0) sends nothing.
 *
 * **Timeouts** (derived, not configured):
 * - XY drives: `1.5 * distance / applied speed + turns / 45 deg/s + 3 s`, where turns = the
 *   heading change to the target's bearing plus the final turn; applied speed is the speed after
 *   the speed limit.
 * - pivot: `|degrees| / 45 deg/s + 3 s`.
 * When it runs out the robot is stopped (drive_stop) and the move rejects with
 * {@link MoveTimeoutError} naming the move, the numbers and the pose.
 *
 * **Cancellation**: `options.signal` (MCP cancellation) stops the robot (drive_stop) and rejects
 * with {@link MoveCancelledError}; cancelled before its movement command went out, it sends
 * nothing (a command of the move still queued is dropped). A stop from anywhere (stop, e-stop, watchdog, stall, link loss:
 * `rvr.movesSignal()`) ends the move with that stop's error (MotionStoppedError,
 * CancelledByEmergencyStopError), without another drive_stop (the stop already went out). A new
 * move replaces a running one ({@link MoveSupersededError}; its own command takes over, no stop).
 * Movement refused by the safety layer (EmergencyStopActiveError, BatteryCriticalError) rejects
 * unchanged. The auto-stop watchdog (RVR_COMMAND_TIMEOUT) is held while a move runs - the move's
 * own timeout supervises it and stops the robot - and re-armed when the move ends.
 *
 * **Progress**: `onProgress` gets locator-based progress for drives (metres covered toward the
 * target, of the straight-line distance) and IMU-based progress for pivots (degrees turned of the
 * requested), only when it increased, at most once per stream sample.
 *
 * Sensors: every move holds locator and imu ({@link SensorStreams.acquire}) at
 * {@link MOVE_STREAM_INTERVAL_MS} or faster while it runs.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { checkNumber } from "../../core/validate.ts";
import { errorMessage } from "../../core/mod.ts";
import { bearingYaw, wrap180 } from "../../protocol/mod.ts";
import { MotionStoppedError } from "../errors.ts";
import type { LinkProvider } from "../link_provider.ts";
import type { CommandOptions, Rvr } from "../rvr.ts";
import type { SensorStreams } from "../sensors/mod.ts";
import { End, MoveRun } from "./_run.ts";
import { MoveCancelledError, MoveSupersededError } from "./errors.ts";
import { type Pose, PoseTracker } from "./pose.ts";
import { turnInPlace } from "./pivot.ts";
import {
  DEFAULT_DISTANCE_SPEED_MPS,
  DRIVE_DIRECTIONS,
  type DriveDirection,
  MAX_MOVE_DISTANCE_M,
  MAX_MOVE_SPEED_MPS,
  MAX_PIVOT_DEG,
  MIN_MOVE_SPEED_MPS,
  MOVE_STREAM_INTERVAL_MS,
  type MoveName,
  type MoveOptions,
  type MoveOutcome,
} from "./types.ts";
import { driveXy, XyResults } from "./xy.ts";

const log = getLogger(["rvr", "robot", "moves"]);

export interface MovesOptions {
  rvr: Rvr;
  streams: SensorStreams;
  links: LinkProvider;
}

export class Moves {
  readonly #rvr: Rvr;
  readonly #streams: SensorStreams;
  readonly #links: LinkProvider;
  readonly #poses: PoseTracker;
  readonly #results = new XyResults();
  #current: MoveRun | undefined;
  #unsubscribes: (() => void)[] = [];
  #disposed = false;

  constructor(options: MovesOptions) {
    this.#rvr = options.rvr;
    this.#streams = options.streams;
    this.#links = options.links;
    this.#poses = new PoseTracker(this.#streams);
    this.#unsubscribes.push(
      this.#links.onConnected((link) => this.#unsubscribes.push(...this.#results.listen(link))),
      this.#links.onDisconnected(() => {
        // The robot's answers to drives sent on the old link are gone with it.
        this.#results.clear();
      }),
    );
    const link = this.#links.peek();
    if (link !== undefined) this.#unsubscribes.push(...this.#results.listen(link));
  }

  /**
   * Drives to (`x_m`, `y_m`) in the locator frame at up to `speed_mps` (> 0, at most 2; the speed
   * limit caps it) with the firmware's position controller, ending at `final_heading_deg` (heading
   * convention: 0 forward at reset, 90 right; default: the direction of travel). Resolves on the
   * firmware's success notification with the measured pose. See the module doc for errors.
   */
  driveToPosition(
    args: { x_m: number; y_m: number; speed_mps: number; final_heading_deg?: number },
    options: MoveOptions = {},
  ): Promise<MoveOutcome> {
    try {
      const x = checkNumber(
        "drive_to_position x_m",
        args?.x_m,
        -MAX_MOVE_DISTANCE_M,
        MAX_MOVE_DISTANCE_M,
        "metres in the locator frame (+x right)",
      );
      const y = checkNumber(
        "drive_to_position y_m",
        args.y_m,
        -MAX_MOVE_DISTANCE_M,
        MAX_MOVE_DISTANCE_M,
        "metres in the locator frame (+y forward)",
      );
      const speed = this.#checkSpeed("drive_to_position", args.speed_mps);
      const finalHeading = args.final_heading_deg === undefined ? undefined : checkNumber(
        "drive_to_position final_heading_deg",
        args.final_heading_deg,
        -3600,
        3600,
        "degrees, 0 forward, 90 right; leave it out to end facing the direction of travel",
      );
      return this.#move("drive_to_position", options, async (run) => {
        const start = await this.#poses.start(run);
        const travel = bearingYaw(x - start.x_m, y - start.y_m);
        const near = Math.hypot(x - start.x_m, y - start.y_m) < 0.005;
        const yaw = finalHeading !== undefined
          ? wrap180(-finalHeading)
          : near
          ? start.yaw_deg
          : travel;
        return driveXy(run, this.#ctx(), {
          start,
          x,
          y,
          yaw,
          speed,
          flags: 0,
          travelYaw: near ? start.yaw_deg : travel,
        });
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Drives `distance_m` (> 0) straight forward or backward from the current pose along the current
   * yaw (backward keeps facing the same way), via the position controller, at up to `speed_mps`
   * (default {@link DEFAULT_DISTANCE_SPEED_MPS}). No reset: the user's frame is kept.
   */
  driveDistance(
    args: { distance_m: number; direction: DriveDirection; speed_mps?: number },
    options: MoveOptions = {},
  ): Promise<MoveOutcome> {
    try {
      const direction = args?.direction;
      if (!(DRIVE_DIRECTIONS as readonly unknown[]).includes(direction)) {
        throw new RangeError(
          `direction must be "forward" or "backward", got ${JSON.stringify(direction)}.`,
        );
      }
      const name: MoveName = direction === "forward" ? "drive_forward" : "drive_backward";
      const distance = checkNumber(
        `${name} distance_m`,
        args.distance_m,
        0,
        MAX_MOVE_DISTANCE_M,
        "metres > 0",
      );
      if (distance === 0) {
        throw new RangeError(`${name} distance_m must be > 0 m, got 0; e.g. 0.5.`);
      }
      const speed = this.#checkSpeed(name, args.speed_mps ?? DEFAULT_DISTANCE_SPEED_MPS);
      return this.#move(name, options, async (run) => {
        const start = await this.#poses.start(run);
        const sign = direction === "forward" ? 1 : -1;
        const rad = start.yaw_deg * Math.PI / 180;
        const x = start.x_m - sign * distance * Math.sin(rad);
        const y = start.y_m + sign * distance * Math.cos(rad);
        return driveXy(run, this.#ctx(), {
          start,
          x,
          y,
          yaw: start.yaw_deg,
          speed,
          flags: direction === "forward" ? 0 : 1,
          travelYaw: start.yaw_deg,
        });
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Turns in place by `degrees` (**positive = right/clockwise seen from above**, negative = left;
   * any size: 270 turns 270 degrees, 360 a full turn; within the tolerance, e.g. 0, it does
   * nothing), measured on the IMU yaw.
   * Resolves once the measured turn is within {@link PIVOT_TOLERANCE_DEG}, after drive_stop.
   */
  pivot(args: { degrees: number }, options: MoveOptions = {}): Promise<MoveOutcome> {
    try {
      const degrees = checkNumber(
        "pivot degrees",
        args?.degrees,
        -MAX_PIVOT_DEG,
        MAX_PIVOT_DEG,
        "positive turns right (clockwise), negative left",
      );
      return this.#move("pivot", options, (run) => turnInPlace(run, this.#ctx(), degrees));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * reset_yaw: the direction the robot faces becomes yaw (and heading) 0, and with locator flag
   * bit 0 clear the locator axes turn with it. Cached readings stop counting as the pose, also
   * when the reply did not come (the robot may have reset anyway).
   */
  async resetYaw(options: CommandOptions = {}): Promise<void> {
    try {
      await this.#rvr.command("reset_yaw", {}, options);
    } finally {
      this.#poses.frameChanged();
    }
  }

  /** reset_locator_x_and_y: the robot's position becomes (0, 0); as {@link resetYaw} for the cache. */
  async resetLocator(options: CommandOptions = {}): Promise<void> {
    try {
      await this.#rvr.command("reset_locator_x_and_y", {}, options);
    } finally {
      this.#poses.frameChanged();
    }
  }

  /** The current pose from the locator and IMU streams (streams them briefly if needed). */
  pose(): Promise<Pose> {
    return this.#poses.current();
  }

  /** Stops listening; a running move is not affected on the robot (stop it first). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const u of this.#unsubscribes) u();
    this.#unsubscribes = [];
  }

  // ---- internals ---------------------------------------------------------------------------

  #checkSpeed(move: MoveName, speed: unknown): number {
    const v = checkNumber(
      `${move} speed_mps`,
      speed,
      0,
      MAX_MOVE_SPEED_MPS,
      "m/s > 0; the speed limit caps it",
    );
    if (v === 0) throw new RangeError(`${move} speed_mps must be > 0 m/s, got 0; e.g. 0.3.`);
    if (v < MIN_MOVE_SPEED_MPS) {
      throw new RangeError(
        `${move} speed_mps ${v} m/s is too small to move: the smallest speed that moves is ` +
          `${MIN_MOVE_SPEED_MPS} m/s; e.g. 0.3.`,
      );
    }
    return v;
  }

  /** Common frame of every move: streams, replacing the running move, ending, clean-up. */
  async #move(
    name: MoveName,
    options: MoveOptions,
    body: (run: MoveRun) => Promise<MoveOutcome>,
  ): Promise<MoveOutcome> {
    if (this.#disposed) throw new Error("Moves was disposed; build a new one.");
    const run = new MoveRun(name, options);
    run.watch(this.#rvr.movesSignal());
    const acquiring = this.#streams.acquire(["locator", "imu"], {
      intervalMs: Math.min(MOVE_STREAM_INTERVAL_MS, this.#streams.defaultIntervalMs),
    });
    let release: (() => Promise<void>) | undefined;
    // The move's own timeout supervises it; the watchdog would end any move longer than
    // RVR_COMMAND_TIMEOUT, since nothing is resent while the position controller drives.
    const unholdWatchdog = this.#rvr.holdWatchdog(name);
    try {
      release = await run.until(acquiring);
      const previous = this.#current;
      this.#current = run;
      previous?.end("superseded", new MoveSupersededError(previous.name, name));
      return await body(run);
    } catch (thrown) {
      const end = run.ended;
      const reason = thrown instanceof End ? thrown : end;
      if (reason === undefined) {
        // An unexpected failure (link, queue, ...): if our command already went out, stop.
        if (run.sent) await this.#stopQuietly(name);
        throw thrown;
      }
      throw await this.#finish(run, reason);
    } finally {
      unholdWatchdog();
      if (this.#current === run) this.#current = undefined;
      run.dispose();
      if (release !== undefined) await release();
      else {
        // Ended while the streams were being set up: hand them back once they are.
        void acquiring.then((r) => r(), (error) => {
          log.debug("{move}: streams for the move could not be set up: {error}", {
            move: name,
            error: errorMessage(error),
          });
        });
      }
    }
  }

  /** Turns an end reason into the error to throw, stopping the robot when that is ours to do. */
  async #finish(run: MoveRun, end: End): Promise<unknown> {
    // Ours to stop: the caller cancelled, the time ran out or sending failed, once our command
    // may be out. Not after a stop (it is done), a replacement (the new move drives) or a
    // failure the firmware reported (something else drives).
    const ours = end.kind === "cancelled" || end.kind === "timeout" || end.kind === "error";
    if (ours && run.sent) await this.#stopQuietly(run.name);
    if (end.kind === "cancelled") {
      return new MoveCancelledError(run.name, end.error, run.lastPose);
    }
    if (
      end.kind === "stopped" && end.error instanceof MotionStoppedError &&
      end.error.reason === "watchdog"
    ) {
      const s = this.#rvr.safetyStatus().commandTimeoutS;
      const e = new MotionStoppedError("watchdog");
      e.message = `${run.name} was ended by the auto-stop watchdog: no movement command for ` +
        `${s} s (RVR_COMMAND_TIMEOUT) during a move that takes longer. Raise it with ` +
        `set_command_timeout, or split the move into shorter ones.`;
      return e;
    }
    return end.error;
  }

  async #stopQuietly(name: MoveName): Promise<void> {
    try {
      await this.#rvr.stop();
    } catch (error) {
      log.error("Could not stop the robot after {move} ended: {error}", {
        move: name,
        error: errorMessage(error),
      });
    }
  }

  #ctx(): { rvr: Rvr; poses: PoseTracker; results: XyResults } {
    return { rvr: this.#rvr, poses: this.#poses, results: this.#results };
  }
}
