/**
 * Where the robot is, from the locator and IMU streams: the pose at the start of a move (the next
 * samples, never a cached one), the pose followed on every reading while a move runs, and the pose
 * measured after arrival. Angles: yaw + = left, heading in drive_with_heading's convention
 * (src/protocol/angles.ts).
 *
 * **Frame resets.** reset_yaw and reset_locator_x_and_y change the frame the readings are in at
 * once, but a reading received before the reset keeps its old values (and stays "fresh" for a
 * while). So a move starts from samples received after it began, hence after every reset its
 * caller completed; and {@link PoseTracker.frameChanged} (called by Moves' resets) keeps
 * {@link PoseTracker.current} from serving a cached reading received before the last reset. The
 * robot answers a reset only after doing it, and its replies and stream notifications come over
 * the one UART in order, so a reading received after the reply is in the new frame.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { errorMessage } from "../../core/mod.ts";
import { headingFromYaw } from "../../protocol/mod.ts";
import type { SensorReading, SensorStreams } from "../sensors/mod.ts";
import type { MoveRun } from "./_run.ts";
import { MOVE_STREAM_INTERVAL_MS, type Pose, POSE_WAIT_MS } from "./types.ts";

const log = getLogger(["rvr", "robot", "moves"]);

/** A reading this recent (and received after the last frame reset) counts as the current pose. */
const FRESH_MS = 150;

export type { Pose };

export function makePose(x: number, y: number, yaw: number): Pose {
  return { x_m: x, y_m: y, yaw_deg: yaw, heading_deg: headingFromYaw(yaw) };
}

export function describePose(p: Pose): string {
  return `(${p.x_m.toFixed(3)} m, ${p.y_m.toFixed(3)} m) heading ${p.heading_deg.toFixed(1)} deg`;
}

/** The robot's pose from the sensor streams. */
export class PoseTracker {
  readonly #streams: SensorStreams;
  /** Receive time (epoch ms) of the last frame reset's reply: older readings are of the old frame. */
  #frameSince = -Infinity;

  constructor(streams: SensorStreams) {
    this.#streams = streams;
  }

  /**
   * The frame changed (reset_yaw or reset_locator_x_and_y was answered, or may have been done):
   * cached readings received before `at` (default now) no longer give the current pose.
   */
  frameChanged(at: number = Date.now()): void {
    this.#frameSince = Math.max(this.#frameSince, at);
  }

  /** The current pose (streams locator and imu briefly if needed). */
  async current(): Promise<Pose> {
    const cached = this.#cached(FRESH_MS);
    if (cached) return cached;
    const release = await this.#streams.acquire(["locator", "imu"], {
      intervalMs: Math.min(MOVE_STREAM_INTERVAL_MS, this.#streams.defaultIntervalMs),
    });
    try {
      return await this.#fresh(undefined);
    } finally {
      await release();
    }
  }

  /**
   * The pose at the start of a move: the next samples, received after the move began (a cached
   * one may predate a reset that the move's caller made just before; see the module doc).
   */
  async start(run: MoveRun): Promise<Pose> {
    const pose = await this.#fresh(run);
    run.lastPose = pose;
    return pose;
  }

  /** Follows the pose on every locator/imu reading while `run` runs. */
  follow(run: MoveRun, onPose: (p: Pose, r: SensorReading) => void): void {
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

  /** A pose measured after arrival (the next samples), or the last one if none comes in time. */
  async final(run: MoveRun, fallback: Pose): Promise<Pose> {
    try {
      const pose = await this.#fresh(undefined);
      run.lastPose = pose;
      return pose;
    } catch (error) {
      log.warn("{move}: no sample after arrival ({error}); reporting the last pose", {
        move: run.name,
        error: errorMessage(error),
      });
      return run.lastPose ?? fallback;
    }
  }

  /**
   * The last valid locator and imu readings as a pose, if both are at most `maxAgeMs` old and
   * were received after the last frame reset.
   */
  #cached(maxAgeMs: number): Pose | undefined {
    const [loc, imu] = [
      this.#streams.latest(["locator"])[0],
      this.#streams.latest(["imu"])[0],
    ];
    if (loc === undefined || imu === undefined || !loc.valid || !imu.valid) return undefined;
    if (loc.ageMs > maxAgeMs || imu.ageMs > maxAgeMs) return undefined;
    // In the reset's own millisecond the order is unknown: not trusted (a fresh sample is taken).
    if (loc.at <= this.#frameSince || imu.at <= this.#frameSince) return undefined;
    return makePose(loc.values.x_m, loc.values.y_m, imu.values.yaw_deg);
  }

  /**
   * Waits for locator and imu readings delivered from now on (so after any reset answered
   * before); rejects after POSE_WAIT_MS.
   */
  #fresh(run: MoveRun | undefined): Promise<Pose> {
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
}
