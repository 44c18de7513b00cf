/**
 * Moves that take time: drive to a position, drive a distance, pivot. Each one is tracked on the
 * robot's own measurements until it arrives, reports progress, can be cancelled, and resolves with
 * the final pose.
 *
 * **Frames and conventions** (the robot's locator frame, section 9.4/9.5; nothing is ever reset
 * here: no `reset_yaw`, no `reset_locator_x_and_y`, so the user's frame is kept):
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
import { TimeoutError } from "../core/mod.ts";
import type { RvrLink } from "../link/mod.ts";
import { headingFromYaw } from "../protocol/mod.ts";
import type { LinkProvider } from "./link_provider.ts";
import { MotionStoppedError, type MoveResult, type Rvr } from "./rvr.ts";
import type { SensorReading, SensorStreams } from "./sensors.ts";

const log = getLogger(["rvr", "robot", "moves"]);

/** The moves, as named in errors and outcomes (the MCP tool names). */
export const MOVE_NAMES = [
  "drive_to_position",
  "drive_forward",
  "drive_backward",
  "pivot",
] as const;
export type MoveName = typeof MOVE_NAMES[number];

export const DRIVE_DIRECTIONS = ["forward", "backward"] as const;
export type DriveDirection = typeof DRIVE_DIRECTIONS[number];

/** Stream interval (ms, or faster) of locator and imu while a move runs. */
export const MOVE_STREAM_INTERVAL_MS = 100;
/** A pivot has arrived when the measured turn is this close to the request. */
export const PIVOT_TOLERANCE_DEG = 1;
/** How far ahead of the measured yaw a pivot's yaw target is set (< 180 so the way is certain). */
export const PIVOT_LEAD_DEG = 90;
/** A pivot resends its yaw target at least this often (firmware control timeout: 2000 ms). */
export const PIVOT_RESEND_MS = 500;
/** Speed of drive_forward / drive_backward when none is given. */
export const DEFAULT_DISTANCE_SPEED_MPS = 0.5;
/** Top speed a move accepts (SI drive commands saturate here; the speed limit caps lower). */
export const MAX_MOVE_SPEED_MPS = 2;
/** Largest |x|, |y| of drive_to_position, and the longest drive_forward/backward, metres. */
export const MAX_MOVE_DISTANCE_M = 1000;
/** Largest |degrees| of one pivot (10 turns). */
export const MAX_PIVOT_DEG = 3600;
/** Timeout terms (see the module doc). */
export const TIMEOUT_DISTANCE_FACTOR = 1.5;
export const TIMEOUT_TURN_RATE_DPS = 45;
export const TIMEOUT_MARGIN_MS = 3000;
/** How long a fresh pose may take to arrive (several stream periods). */
export const POSE_WAIT_MS = 1500;
/** A reading this recent counts as the current pose. */
const FRESH_MS = 150;
/** The 0x3A of a drive that ended without it (stopped, replaced) is expected this soon. */
const XY_RESULT_GRACE_MS = 2000;

/** Where the robot is, in the locator frame (see the module doc). */
export interface Pose {
  x_m: number;
  y_m: number;
  /** + = left/CCW, -180..180. */
  yaw_deg: number;
  /** Left-hand heading, 0-359.99: 0 forward, 90 right (= -yaw mod 360). */
  heading_deg: number;
}

export interface MoveProgress {
  /** Metres covered toward the target (drives) or degrees turned (pivot); increases. */
  progress: number;
  /** Straight-line distance to the target in m (drives) or |degrees| (pivot). */
  total: number;
  message: string;
  pose: Pose;
}

export interface MoveOutcome {
  /** Always true: a move that does not arrive rejects instead. */
  success: boolean;
  move: MoveName;
  /** Measured after the robot arrived. */
  pose: Pose;
  /** Target pose of a drive (yaw and heading: the final ones sent). */
  target?: Pose;
  /** Measured turn of a pivot, degrees, + = right (the pivot convention). */
  turned_deg?: number;
  /** From the movement command to arrival, ms. */
  duration_ms: number;
  /** The derived timeout, ms. */
  timeout_ms: number;
  /** Drives: { speed_mps }. Pivot: { degrees }. */
  requested: Record<string, number>;
  /** Drives: { speed_mps } as sent after the speed limit. Pivot: { degrees }. */
  applied: Record<string, number>;
  /** True when the speed limit reduced the speed. */
  limited: boolean;
  speed_limit_percent: number;
}

export interface MoveOptions {
  /** Aborting stops the robot and rejects with MoveCancelledError (MCP cancellation). */
  signal?: AbortSignal;
  /** Progress, from stream samples (see the module doc). A listener that throws is logged. */
  onProgress?: (p: MoveProgress) => void;
}

export interface MovesOptions {
  rvr: Rvr;
  streams: SensorStreams;
  links: LinkProvider;
}

function describePose(p: Pose): string {
  return `(${p.x_m.toFixed(3)} m, ${p.y_m.toFixed(3)} m) heading ${p.heading_deg.toFixed(1)} deg`;
}

/** The move did not finish within its derived timeout; the robot was stopped. */
export class MoveTimeoutError extends TimeoutError {
  override name = "MoveTimeoutError";
  readonly move: MoveName;
  /** Last measured pose, or null when none was measured. */
  readonly pose: Pose | null;

  constructor(move: MoveName, timeoutMs: number, detail: string, pose: Pose | null) {
    super(
      `${move} did not finish within ${(timeoutMs / 1000).toFixed(1)} s (${detail}); the robot ` +
        `was stopped${pose ? ` at ${describePose(pose)}` : ""}. Check for obstacles or a ` +
        `blocked tread, then try again.`,
      timeoutMs,
    );
    this.move = move;
    this.pose = pose;
  }
}

/** The firmware's position controller ended the drive without success. */
export class MoveFailedError extends Error {
  override name = "MoveFailedError";
  readonly move: MoveName;
  readonly pose: Pose | null;

  constructor(move: MoveName, detail: string, pose: Pose | null) {
    super(
      `${move} ended without reaching its target: ${detail}${
        pose ? `; the robot is at ${describePose(pose)}` : ""
      }. Send the move again when nothing else is driving the robot.`,
    );
    this.move = move;
    this.pose = pose;
  }
}

/** The caller cancelled the move (options.signal); the robot was stopped. */
export class MoveCancelledError extends Error {
  override name = "MoveCancelledError";
  readonly move: MoveName;
  readonly reason: unknown;

  constructor(move: MoveName, reason: unknown, pose: Pose | null) {
    super(
      `${move} was cancelled by the caller${
        reason instanceof Error ? ` (${reason.message})` : ""
      }; the robot was stopped${pose ? ` at ${describePose(pose)}` : ""}.`,
    );
    this.move = move;
    this.reason = reason;
  }
}

/** A newer move replaced this one before it finished. */
export class MoveSupersededError extends Error {
  override name = "MoveSupersededError";
  readonly move: MoveName;
  readonly by: MoveName;

  constructor(move: MoveName, by: MoveName) {
    super(`${move} was replaced by ${by} before it finished.`);
    this.move = move;
    this.by = by;
  }
}

// ---- small maths --------------------------------------------------------------------------

/** Degrees into [-180, 180). */
export function wrap180(deg: number): number {
  const r = ((deg + 180) % 360 + 360) % 360 - 180;
  return r + 0; // -0 -> 0
}

/** The drive_with_heading heading, [0, 360), of a yaw (src/protocol/angles.ts). */
export function yawToHeading(yawDeg: number): number {
  return headingFromYaw(yawDeg);
}

/** Yaw (-180..180) whose direction is the locator vector (dx, dy). */
export function bearingYaw(dx: number, dy: number): number {
  return wrap180(Math.atan2(-dx, dy) * 180 / Math.PI);
}

function makePose(x: number, y: number, yaw: number): Pose {
  return { x_m: x, y_m: y, yaw_deg: yaw, heading_deg: yawToHeading(yaw) };
}

function checkNumber(what: string, value: unknown, min: number, max: number, hint: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(
      `${what} must be a number from ${min} to ${max}, got ${String(value)}; ${hint}.`,
    );
  }
  return value;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---- one running move ---------------------------------------------------------------------

/**
 * Why a move ended early: cancelled by the caller, stopped by a stop from anywhere, superseded by
 * a newer move, timed out, failed as the firmware reported, or an error sending its commands.
 */
type EndKind = "cancelled" | "stopped" | "superseded" | "timeout" | "failed" | "error";

/** Why a move ended early; what its awaits reject with (turned into `error` at the end). */
class End {
  constructor(readonly kind: EndKind, readonly error: unknown) {}
}

interface XyWaiter {
  /** Set while its move waits; cleared when the move ended without its result. */
  resolve: ((success: boolean) => void) | undefined;
  /** When its move ended without the result (ms since epoch), else null. */
  abandonedAt: number | null;
}

/** The bookkeeping of one move: abort sources, listeners, the last pose. */
class MoveRun {
  readonly name: MoveName;
  readonly #ctl = new AbortController();
  /** Handed to the move's robot commands: aborted (AbortError) when the move ends. */
  readonly #commands = new AbortController();
  readonly #cleanups: (() => void)[] = [];
  /** True once the move's own movement command may have gone out (ending it then stops the robot). */
  sent = false;
  lastPose: Pose | null = null;
  #lastProgress = -Infinity;
  readonly #onProgress: ((p: MoveProgress) => void) | undefined;

  #watching = false;

  constructor(name: MoveName, options: MoveOptions) {
    this.name = name;
    this.#onProgress = options.onProgress;
    const user = options.signal;
    if (user !== undefined) {
      const onAbort = () => this.end("cancelled", user.reason);
      if (user.aborted) onAbort();
      else {
        user.addEventListener("abort", onAbort, { once: true });
        this.#cleanups.push(() => user.removeEventListener("abort", onAbort));
      }
    }
  }

  /**
   * Ends the move when `moves` (rvr.movesSignal()) aborts: any stop. An already aborted signal
   * (the e-stop is latched) is not watched: the movement command itself is then refused.
   */
  watch(moves: AbortSignal): void {
    if (this.#watching || moves.aborted) return;
    this.#watching = true;
    const onStop = () => this.end("stopped", moves.reason);
    moves.addEventListener("abort", onStop, { once: true });
    this.#cleanups.push(() => moves.removeEventListener("abort", onStop));
  }

  get signal(): AbortSignal {
    return this.#ctl.signal;
  }

  /** For the move's robot commands: a command still queued when the move ends is dropped. */
  get commandSignal(): AbortSignal {
    return this.#commands.signal;
  }

  get ended(): End | undefined {
    return this.#ctl.signal.aborted ? this.#ctl.signal.reason as End : undefined;
  }

  /** Ends the move (first reason wins). */
  end(kind: EndKind, error: unknown): void {
    if (this.#ctl.signal.aborted) return;
    this.#ctl.abort(new End(kind, error));
    this.#commands.abort(new DOMException(`${this.name} ended (${kind})`, "AbortError"));
  }

  /** Registers a clean-up run once by {@link dispose}. */
  onDispose(fn: () => void): void {
    this.#cleanups.push(fn);
  }

  /** Settles like `p`, or rejects with the end reason as soon as the move ends. */
  until<T>(p: Promise<T>): Promise<T> {
    const signal = this.#ctl.signal;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      // `p` is always followed, so its late rejection is handled (settling twice is a no-op).
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
      p.then(
        (v) => {
          signal.removeEventListener("abort", onAbort);
          resolve(v);
        },
        (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      );
    });
  }

  /** Ends the move with a timeout after `ms` (the timer is cleared on dispose). */
  deadline(ms: number, error: () => unknown): void {
    const timer = setTimeout(() => this.end("timeout", error()), ms);
    this.#cleanups.push(() => clearTimeout(timer));
  }

  progress(progress: number, total: number, message: string): void {
    if (
      this.#onProgress === undefined || !(progress > this.#lastProgress) || this.lastPose === null
    ) {
      return;
    }
    this.#lastProgress = progress;
    try {
      this.#onProgress({ progress, total, message, pose: this.lastPose });
    } catch (error) {
      log.error("A progress listener of {move} threw: {error}", {
        move: this.name,
        error: describe(error),
      });
    }
  }

  dispose(): void {
    for (const fn of this.#cleanups.splice(0)) {
      try {
        fn();
      } catch (error) {
        log.error("Clean-up of {move} failed: {error}", {
          move: this.name,
          error: describe(error),
        });
      }
    }
  }
}

// ---- the moves ----------------------------------------------------------------------------

export class Moves {
  readonly #rvr: Rvr;
  readonly #streams: SensorStreams;
  readonly #links: LinkProvider;
  #current: MoveRun | undefined;
  /** XY drives sent and not yet answered by 0x3A, oldest first. */
  #xyWaiters: XyWaiter[] = [];
  #unsubscribes: (() => void)[] = [];
  #disposed = false;

  constructor(options: MovesOptions) {
    this.#rvr = options.rvr;
    this.#streams = options.streams;
    this.#links = options.links;
    this.#unsubscribes.push(
      this.#links.onConnected((link) => this.#listen(link)),
      this.#links.onDisconnected(() => {
        // The robot's answers to drives sent on the old link are gone with it.
        this.#xyWaiters = [];
      }),
    );
    const link = this.#links.peek();
    if (link !== undefined) this.#listen(link);
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
        const start = await this.#pose(run);
        const travel = bearingYaw(x - start.x_m, y - start.y_m);
        const near = Math.hypot(x - start.x_m, y - start.y_m) < 0.005;
        const yaw = finalHeading !== undefined
          ? wrap180(-finalHeading)
          : near
          ? start.yaw_deg
          : travel;
        return this.#xy(run, {
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
        const start = await this.#pose(run);
        const sign = direction === "forward" ? 1 : -1;
        const rad = start.yaw_deg * Math.PI / 180;
        const x = start.x_m - sign * distance * Math.sin(rad);
        const y = start.y_m + sign * distance * Math.cos(rad);
        return this.#xy(run, {
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
      return this.#move("pivot", options, (run) => this.#pivot(run, degrees));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The current pose from the locator and IMU streams (streams them briefly if needed). */
  async pose(): Promise<Pose> {
    const cached = this.#cachedPose(FRESH_MS);
    if (cached) return cached;
    const release = await this.#streams.acquire(["locator", "imu"], {
      intervalMs: Math.min(MOVE_STREAM_INTERVAL_MS, this.#streams.defaultIntervalMs),
    });
    try {
      return await this.#freshPose(undefined);
    } finally {
      await release();
    }
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
    return v;
  }

  #listen(link: RvrLink): void {
    const off = link.on("xy_position_drive_result_notify", (v) => this.#onXyResult(v.success));
    const offClose = link.onClose(() => {
      off();
      offClose();
    });
    this.#unsubscribes.push(off, offClose);
  }

  /** A 0x3A: it answers the oldest XY drive still waiting (see the module doc). */
  #onXyResult(success: boolean): void {
    const now = Date.now();
    // Drives that ended long ago without their answer will not get one any more.
    while (
      this.#xyWaiters.length > 0 && this.#xyWaiters[0].abandonedAt !== null &&
      now - (this.#xyWaiters[0].abandonedAt as number) > XY_RESULT_GRACE_MS
    ) {
      this.#xyWaiters.shift();
    }
    const waiter = this.#xyWaiters.shift();
    if (waiter === undefined) {
      log.debug("xy_position_drive_result_notify ({success}) for no drive of ours", { success });
      return;
    }
    waiter.resolve?.(success);
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
            error: describe(error),
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
        error: describe(error),
      });
    }
  }

  /** The last valid locator and imu readings as a pose, if both are at most `maxAgeMs` old. */
  #cachedPose(maxAgeMs: number): Pose | undefined {
    const [loc, imu] = [
      this.#streams.latest(["locator"])[0],
      this.#streams.latest(["imu"])[0],
    ];
    if (loc === undefined || imu === undefined || !loc.valid || !imu.valid) return undefined;
    if (loc.ageMs > maxAgeMs || imu.ageMs > maxAgeMs) return undefined;
    return makePose(loc.values.x_m, loc.values.y_m, imu.values.yaw_deg);
  }

  /** Waits for locator and imu readings newer than now; rejects after POSE_WAIT_MS. */
  #freshPose(run: MoveRun | undefined): Promise<Pose> {
    const since = Date.now();
    let loc: SensorReading | undefined;
    let imu: SensorReading | undefined;
    let off = () => {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    const p = new Promise<Pose>((resolve, reject) => {
      off = this.#streams.onReading((r) => {
        if (!r.valid || r.at < since) return;
        if (r.sensor === "locator") loc = r;
        else if (r.sensor === "imu") imu = r;
        if (loc && imu) resolve(makePose(loc.values.x_m, loc.values.y_m, imu.values.yaw_deg));
      });
      timer = setTimeout(() => {
        reject(
          new Error(
            `No locator/IMU sample arrived within ${POSE_WAIT_MS} ms, so the pose is unknown; ` +
              `check the connection (get_connection_status) and the sensor streams.`,
          ),
        );
      }, POSE_WAIT_MS);
    });
    const done = () => {
      off();
      clearTimeout(timer);
    };
    const tracked = run ? run.until(p) : p;
    return tracked.finally(done);
  }

  /** The pose at the start of a move: a fresh cached one, or the next sample. */
  async #pose(run: MoveRun): Promise<Pose> {
    const pose = this.#cachedPose(FRESH_MS) ?? await this.#freshPose(run);
    run.lastPose = pose;
    return pose;
  }

  /** Follows the pose on every locator/imu reading while a move runs. */
  #trackPose(run: MoveRun, onPose: (p: Pose, r: SensorReading) => void): void {
    let x = run.lastPose?.x_m ?? 0;
    let y = run.lastPose?.y_m ?? 0;
    let yaw = run.lastPose?.yaw_deg ?? 0;
    const off = this.#streams.onReading((r) => {
      if (!r.valid) return;
      if (r.sensor === "locator") {
        x = r.values.x_m;
        y = r.values.y_m;
      } else if (r.sensor === "imu") yaw = r.values.yaw_deg;
      else return;
      run.lastPose = makePose(x, y, yaw);
      onPose(run.lastPose, r);
    });
    run.onDispose(off);
  }

  async #xy(
    run: MoveRun,
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
    this.#xyWaiters.push(waiter);
    run.onDispose(() => {
      if (waiter.resolve !== undefined) {
        waiter.resolve = undefined;
        waiter.abandonedAt = Date.now();
      }
    });
    const sentAt = Date.now();
    let move: MoveResult;
    run.watch(this.#rvr.movesSignal());
    run.sent = true; // from here on it may be out
    try {
      move = await run.until(this.#rvr.driveToPositionSi({
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
        const i = this.#xyWaiters.indexOf(waiter);
        if (i >= 0) this.#xyWaiters.splice(i, 1);
        waiter.resolve = undefined;
      }
      throw error;
    }
    const applied = move.applied.linear_speed ?? p.speed;
    const turns = Math.abs(wrap180(p.travelYaw - p.start.yaw_deg)) +
      Math.abs(wrap180(p.yaw - p.travelYaw));
    const timeoutMs = Math.ceil(
      (TIMEOUT_DISTANCE_FACTOR * total / Math.max(applied, 0.01)) * 1000 +
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
    this.#trackPose(run, (pose, r) => {
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
          applied <= 0
            ? "the speed limit is 0 %, so the position controller cannot move (raise it with set_speed_limit)"
            : "the robot's position controller reported failure (another drive command probably took over)",
          run.lastPose,
        ),
      );
      throw run.ended;
    }
    const pose = await this.#finalPose(run, target);
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

  /** A pose measured after arrival (the next samples), or the last one if none comes in time. */
  async #finalPose(run: MoveRun, fallback: Pose): Promise<Pose> {
    try {
      const pose = await this.#freshPose(undefined);
      run.lastPose = pose;
      return pose;
    } catch (error) {
      log.warn("{move}: no sample after arrival ({error}); reporting the last pose", {
        move: run.name,
        error: describe(error),
      });
      return run.lastPose ?? fallback;
    }
  }

  async #pivot(run: MoveRun, degrees: number): Promise<MoveOutcome> {
    const start = await this.#pose(run);
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
        speed_limit_percent: this.#rvr.safetyStatus().speedLimitPercent,
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
      const result = await this.#rvr.driveWithYawSi({ yawDeg: yaw, linearMps: 0 }, {
        signal: run.commandSignal,
      });
      first ??= result;
    };
    const done = Promise.withResolvers<void>();
    const sentAt = Date.now();
    run.watch(this.#rvr.movesSignal());
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
    this.#trackPose(run, (pose, r) => {
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
    await this.#rvr.stop();
    const pose = await this.#finalPose(run, run.lastPose ?? start);
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
      speed_limit_percent: first?.speedLimitPercent ?? this.#rvr.safetyStatus().speedLimitPercent,
    };
  }
}
