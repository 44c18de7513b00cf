/**
 * A stop is only done when the robot says it is at rest. After a stop goes out, the robot has to
 * report that it stopped (`robot_has_stopped_notify`, which the firmware sends once its stop
 * controller reaches standstill) within {@link STOP_CONFIRM_MS}; otherwise the guard sends a
 * follow-up `drive_stop` (the firmware's default 2 m/s^2) and waits again, up to
 * `maxFollowUps` times, then reports that the robot never confirmed. Movement sent after the stop
 * takes over (`cancel`: the watchdog covers it again), and so does a lost link.
 *
 * The bounds of a custom deceleration live here too: the slowest accepted rate brings the robot
 * from its top speed to rest within {@link MAX_STOP_TIME_S}.
 *
 * Time comes from `setTimeout` only (fake timers drive it in tests).
 *
 * @module
 */
import { checkIntegerAtLeast } from "../../core/validate.ts";
import { TOP_SPEED_MPS } from "./speed_limit.ts";

/** Slowest deceleration a stop accepts, m/s^2: from top speed the robot is at rest within MAX_STOP_TIME_S. */
export const MIN_STOP_DECELERATION_MPS2 = 1;
/** Fastest deceleration a stop accepts, m/s^2 (the motors brake no harder than they can). */
export const MAX_STOP_DECELERATION_MPS2 = 20;
/** Longest a stop takes from top speed (1.555 m/s) at the slowest accepted deceleration: 1.6 s. */
export const MAX_STOP_TIME_S = Math.ceil((TOP_SPEED_MPS / MIN_STOP_DECELERATION_MPS2) * 10) / 10;
/** A stop the robot has not confirmed after this long gets a follow-up drive_stop, ms. */
export const STOP_CONFIRM_MS = MAX_STOP_TIME_S * 1000 + 500;

export interface StopGuardOptions {
  /** How long the robot may take to report it stopped, ms. Default {@link STOP_CONFIRM_MS}. */
  confirmMs?: number;
  /** Follow-up drive_stops before giving up. Default 3. */
  maxFollowUps?: number;
  /** Sends the follow-up drive_stop (number `n`, from 1). Must not reject. */
  followUp(n: number): Promise<void>;
  /** The robot did not confirm even after every follow-up. */
  onUnconfirmed(followUps: number): void;
}

export class StopGuard {
  readonly #confirmMs: number;
  readonly #maxFollowUps: number;
  readonly #o: StopGuardOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #followUps = 0;
  #disposed = false;

  constructor(options: StopGuardOptions) {
    const confirmMs = options.confirmMs ?? STOP_CONFIRM_MS;
    if (!(Number.isFinite(confirmMs) && confirmMs > 0)) {
      throw new RangeError(`confirmMs must be a number of ms > 0, got ${confirmMs}; e.g. 2100.`);
    }
    const max = options.maxFollowUps ?? 3;
    checkIntegerAtLeast("maxFollowUps", max, 0, "e.g. 3");
    this.#confirmMs = confirmMs;
    this.#maxFollowUps = max;
    this.#o = options;
  }

  /** True while a stop waits for the robot's confirmation. */
  get pending(): boolean {
    return this.#timer !== undefined;
  }

  /** A stop is going out: wait for the robot to confirm it (restarts a wait in progress). */
  arm(): void {
    if (this.#disposed) return;
    this.#followUps = 0;
    this.#start();
  }

  /** The robot reported it is at rest. Returns true when a stop was waiting for it. */
  confirm(): boolean {
    return this.#clear();
  }

  /** Movement was sent after the stop, or the link is gone: stop waiting. */
  cancel(): boolean {
    return this.#clear();
  }

  dispose(): void {
    this.#disposed = true;
    this.#clear();
  }

  #clear(): boolean {
    if (this.#timer === undefined) return false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return true;
  }

  #start(): void {
    this.#clear();
    this.#timer = setTimeout(() => void this.#expire(), this.#confirmMs);
  }

  async #expire(): Promise<void> {
    this.#timer = undefined;
    if (this.#disposed) return;
    if (this.#followUps >= this.#maxFollowUps) {
      this.#o.onUnconfirmed(this.#followUps);
      return;
    }
    const n = ++this.#followUps;
    // Wait again from now: a confirmation that arrives while the follow-up is sent ends it.
    this.#start();
    await this.#o.followUp(n);
  }
}
