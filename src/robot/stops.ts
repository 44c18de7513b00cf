/**
 * Every way the robot is stopped, and what a stop does to motion in progress (the paths and
 * priorities are in command_policy.ts).
 *
 * Every stop is `drive_stop` (0x16/0x42), never `drive_with_heading` with speed 0; only an
 * explicit `stop({ decelerationMps2 })` sends `drive_stop_custom_decel`, at 1 to 20 m/s^2. After a
 * `stop` (or a stop sent through `Rvr.command`) the robot must report that it stopped
 * (`robot_has_stopped_notify`); until it does, follow-up `drive_stop`s go out
 * (safety/stop_guard.ts).
 *
 * The motion epoch: every stop (and a lost link) disarms the watchdog and aborts
 * {@link Stops.movesSignal}, so a distance move in progress ends; the signal is renewed at once,
 * except while the e-stop is latched (then on clear). A stop runs ahead of queued movement, so
 * movement queued before it would run after it and set the robot going again: instead it is
 * dropped when its turn comes ({@link Stops.movementGate}) with MotionStoppedError.
 *
 * @module
 */
import { getLogger, withContext } from "@logtape/logtape";
import { type CircuitBreaker, type CommandQueue, errorMessage } from "../core/mod.ts";
import type { RobotMetrics } from "./metrics.ts";
import type { RvrLink } from "../link/mod.ts";
import { CancelledByEmergencyStopError, MotionStoppedError } from "./errors.ts";
import { cancelOnEmergencyStop } from "./command_policy.ts";
import type { SafetyEventType } from "./events.ts";
import type { LinkProvider } from "./link_provider.ts";
import type { Pipeline, RunSpec } from "./_pipeline.ts";
import {
  type AutoStopReason,
  ESTOP_SOURCES,
  type EstopSource,
  SHUTDOWN_REASONS,
  type ShutdownReason,
} from "./safety/reasons.ts";
import type { ClearEstopOptions } from "./safety/estop_latch.ts";
import type { Safety } from "./safety/safety.ts";
import {
  MAX_STOP_DECELERATION_MPS2,
  MIN_STOP_DECELERATION_MPS2,
  STOP_CONFIRM_MS,
  StopGuard,
} from "./safety/stop_guard.ts";
import type { StateStore } from "./state.ts";

const log = getLogger(["rvr", "robot"]);

export interface StopOptions {
  /**
   * Use drive_stop_custom_decel with this rate (m/s^2, MIN_STOP_DECELERATION_MPS2 to
   * MAX_STOP_DECELERATION_MPS2); default: drive_stop (2 m/s^2).
   */
  decelerationMps2?: number;
  correlationId?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface StopResult {
  readonly command: "drive_stop" | "drive_stop_custom_decel";
}

export interface EmergencyStopOptions {
  /** Why, for the latch, the log and the event. Default "emergency stop (<source>)". */
  reason?: string;
  correlationId?: string;
}

export interface EmergencyStopResult {
  /** True when drive_stop was handed to the port. */
  readonly sent: boolean;
  /** Why it could not be sent (e.g. not connected); the e-stop is latched anyway. */
  readonly error?: string;
  /** Queued movement commands rejected with "cancelled by emergency stop". */
  readonly cancelledQueued: number;
  /** False when the e-stop was already latched (the first reason is kept). */
  readonly newlyLatched: boolean;
  /** Epoch ms of the latch. */
  readonly latchedAt: number;
}

export interface ShutdownResult {
  /** True when drive_stop was handed to the port. */
  readonly sent: boolean;
  readonly error?: string;
  readonly cancelledQueued: number;
}

export interface StopsOptions {
  pipeline: Pipeline;
  links: LinkProvider;
  queue: CommandQueue;
  breaker: CircuitBreaker;
  state: StateStore;
  safety: Safety;
  metrics: RobotMetrics;
  /** Budget for the port to accept the stop bytes of emergencyStop/shutdown, ms. Default 1000. */
  stopWriteTimeoutMs?: number;
  /** How long the robot may take to report a stop done before a follow-up drive_stop, ms. */
  stopConfirmMs?: number;
}

const STOP_SPEC: RunSpec = { kind: "safety", priority: "high", bypassBreaker: true };

export class Stops {
  readonly #pipeline: Pipeline;
  readonly #links: LinkProvider;
  readonly #queue: CommandQueue;
  readonly #breaker: CircuitBreaker;
  readonly #state: StateStore;
  readonly #safety: Safety;
  readonly #metrics: RobotMetrics;
  readonly #stopWriteTimeoutMs: number;
  readonly #stopGuard: StopGuard;
  #moves = new AbortController();
  /** Bumped by every stop: movement queued before it is not sent. */
  #motionEpoch = 0;
  #lastStopReason = "stop";

  constructor(options: StopsOptions) {
    this.#pipeline = options.pipeline;
    this.#links = options.links;
    this.#queue = options.queue;
    this.#breaker = options.breaker;
    this.#state = options.state;
    this.#safety = options.safety;
    this.#metrics = options.metrics;
    const stopMs = options.stopWriteTimeoutMs ?? 1000;
    if (!(Number.isFinite(stopMs) && stopMs > 0)) {
      throw new RangeError(`stopWriteTimeoutMs must be a number of ms > 0, got ${stopMs}.`);
    }
    this.#stopWriteTimeoutMs = stopMs;
    this.#stopGuard = new StopGuard({
      confirmMs: options.stopConfirmMs ?? STOP_CONFIRM_MS,
      followUp: (n) => this.#followUpStop(n),
      onUnconfirmed: (n) => {
        log.error(
          "The robot never reported that it stopped, even after {n} follow-up drive_stops; " +
            "check it (its firmware may not send robot_has_stopped_notify)",
          { n },
        );
      },
    });
  }

  /** Aborted whenever the robot is stopped (see the module doc). */
  movesSignal(): AbortSignal {
    return this.#moves.signal;
  }

  /**
   * The check run just before movement `name` goes out, taken when it is queued: a stop issued
   * after that wins (MotionStoppedError), the safety rules are checked again, and the robot is
   * driven again, so the watchdog covers it rather than the stop's confirmation.
   */
  movementGate(name: string): () => void {
    const epoch = this.#motionEpoch;
    return () => {
      if (epoch !== this.#motionEpoch) throw new MotionStoppedError(this.#lastStopReason);
      this.#safety.checkMovement(name);
      this.#stopGuard.cancel();
      this.#safety.kickWatchdog();
    };
  }

  /** A drive_stop is going out: wait for the robot to confirm it (see safety/stop_guard.ts). */
  awaitConfirmation(): void {
    this.#stopGuard.arm();
  }

  /** The robot reported it stopped; returns true when a stop was waiting for that. */
  confirmStopped(): boolean {
    return this.#stopGuard.confirm();
  }

  /** The robot is (being) stopped: disarm the watchdog and end moves in progress. */
  endMotion(reason: string): void {
    this.#motionEpoch++;
    this.#lastStopReason = reason;
    this.#safety.disarmWatchdog();
    if (!this.#moves.signal.aborted) {
      this.#moves.abort(
        reason === "emergency_stop"
          ? new CancelledByEmergencyStopError("move")
          : new MotionStoppedError(reason),
      );
    }
    if (!this.#safety.estopLatched) this.#moves = new AbortController();
  }

  /** See `Rvr.stop`. */
  stop(options: StopOptions = {}): Promise<StopResult> {
    const decel = options.decelerationMps2;
    if (
      decel !== undefined &&
      !(Number.isFinite(decel) && decel >= MIN_STOP_DECELERATION_MPS2 &&
        decel <= MAX_STOP_DECELERATION_MPS2)
    ) {
      return Promise.reject(
        new RangeError(
          `decelerationMps2 must be a number from ${MIN_STOP_DECELERATION_MPS2} to ` +
            `${MAX_STOP_DECELERATION_MPS2} (m/s^2), got ${decel}; a slower stop would take too ` +
            `long. Leave it out for the default 2 m/s^2.`,
        ),
      );
    }
    const name = decel === undefined ? "drive_stop" : "drive_stop_custom_decel";
    return this.#pipeline.track(name, async () => {
      this.endMotion("stop");
      if (this.#links.peek() === undefined) await this.#links.awaitLink({ signal: options.signal });
      this.#stopGuard.arm();
      const { correlationId, timeoutMs, signal } = options;
      const commandOptions = { correlationId, timeoutMs, signal };
      if (decel === undefined) {
        await this.#pipeline.run("drive_stop", {}, STOP_SPEC, commandOptions);
      } else {
        await this.#pipeline.run(
          "drive_stop_custom_decel",
          { deceleration_rate: decel },
          STOP_SPEC,
          commandOptions,
        );
      }
      return { command: name };
    });
  }

  /** See `Rvr.emergencyStop`. */
  async emergencyStop(
    source: EstopSource,
    options: EmergencyStopOptions = {},
  ): Promise<EmergencyStopResult> {
    // The stop goes out first, whatever the arguments: a bad source is logged, never refused.
    const { promise, cancelledQueued } = this.#stopNow("emergency_stop", options.correlationId);
    let src = source;
    if (!(ESTOP_SOURCES as readonly string[]).includes(source)) {
      log.error("emergencyStop source {source} is not one of {sources}; counted as api", {
        source,
        sources: ESTOP_SOURCES.join(", "),
      });
      src = "api";
    }
    const reason = options.reason ?? `emergency stop (${src})`;
    const newlyLatched = this.#safety.latchEstop(src, reason);
    this.endMotion("emergency_stop");
    const outcome = await this.#settleStop("emergency_stop", promise);
    return {
      ...outcome,
      cancelledQueued,
      newlyLatched,
      latchedAt: this.#state.safety.estopLatchedAt ?? Date.now(),
    };
  }

  /** See `Rvr.clearEmergencyStop`. */
  clearEmergencyStop(reason: string, options: ClearEstopOptions = {}): boolean {
    const released = this.#safety.clearEstop(reason, options);
    if (this.#moves.signal.aborted) this.#moves = new AbortController();
    return released;
  }

  /** See `Rvr.shutdown`. */
  async shutdown(
    reason: ShutdownReason,
    options: { link?: RvrLink } = {},
  ): Promise<ShutdownResult> {
    // The stop goes out first, whatever the argument: a bad reason is logged, never refused.
    const { promise, cancelledQueued } = this.#stopNow("shutdown_stop", undefined, options.link);
    if (!(SHUTDOWN_REASONS as readonly string[]).includes(reason)) {
      log.error("shutdown reason {reason} is not one of {reasons}; counted as disconnect", {
        reason,
        reasons: SHUTDOWN_REASONS.join(", "),
      });
      reason = "disconnect";
    }
    this.endMotion(reason);
    const outcome = await this.#settleStop("shutdown_stop", promise);
    this.#safety.noteAutoStop(
      reason,
      "auto_stop",
      outcome.sent
        ? `drive_stop sent before shutting down (${reason}).`
        : `Could not send drive_stop before shutting down (${reason}): ${outcome.error}.`,
      { sent: outcome.sent },
    );
    return { ...outcome, cancelledQueued };
  }

  /** A stop the server decides on its own (high priority, past an open circuit). Never rejects. */
  async autoStop(
    reason: AutoStopReason,
    type: SafetyEventType,
    detail: string,
    data: Record<string, unknown> = {},
    link?: RvrLink,
  ): Promise<void> {
    this.endMotion(reason);
    this.#safety.noteAutoStop(reason, type, detail, data);
    try {
      await this.#pipeline.track(
        "drive_stop",
        () => this.#pipeline.run("drive_stop", {}, { ...STOP_SPEC, link }, {}),
      );
    } catch (error) {
      log.error("Auto-stop ({reason}) could not send drive_stop: {error}", {
        reason,
        error: errorMessage(error),
      });
    }
  }

  /** The link is gone: moves end, and no stop confirmation can come any more. */
  onDisconnected(reason: string): void {
    log.warn("Link lost ({reason}): watchdog disarmed, moves ended", { reason });
    this.endMotion("disconnect");
    // drive_stop went out on the closing link (if it could); no confirmation can come any more.
    this.#stopGuard.cancel();
  }

  dispose(): void {
    this.#stopGuard.dispose();
  }

  /**
   * The emergency path: puts drive_stop, stop IR following, stop IR evading on the wire now
   * (synchronously, through queue.emergency and breaker.bypass) and cancels queued movement.
   */
  #stopNow(
    name: "emergency_stop" | "shutdown_stop",
    correlationId: string | undefined,
    link?: RvrLink,
  ): { promise: Promise<void>; cancelledQueued: number } {
    const before = this.#queue.stats.outcomes.emergency_cancelled;
    const send = () => this.#breaker.bypass(() => this.#sendStops(link ?? this.#links.current()));
    const promise = this.#queue.emergency(
      { name, kind: "safety" },
      () => (correlationId === undefined ? send() : withContext({ correlationId }, send)),
      { timeoutMs: this.#stopWriteTimeoutMs, cancel: cancelOnEmergencyStop },
    );
    const cancelledQueued = this.#queue.stats.outcomes.emergency_cancelled - before;
    return { promise, cancelledQueued };
  }

  /** drive_stop first, then the IR stops; resolves when drive_stop was accepted by the port. */
  #sendStops(link: RvrLink): Promise<void> {
    const stop = link.sendImmediate("drive_stop", {});
    const ir =
      (["stop_robot_to_robot_infrared_following", "stop_robot_to_robot_infrared_evading"] as const)
        .map((n) =>
          link.sendImmediate(n, {}).catch((error) => {
            log.warn("Could not send {command} after drive_stop: {error}", {
              command: n,
              error: errorMessage(error),
            });
          })
        );
    return Promise.all([stop, ...ir]).then(() => {});
  }

  async #settleStop(
    name: string,
    promise: Promise<void>,
  ): Promise<{ sent: boolean; error?: string }> {
    try {
      await promise;
      this.#metrics.commandsTotal.inc({ command: name, outcome: "ok" });
      return { sent: true };
    } catch (error) {
      this.#metrics.commandsTotal.inc({ command: name, outcome: this.#pipeline.classify(error) });
      const message = errorMessage(error);
      log.error("{command}: drive_stop could not be sent: {error}", {
        command: name,
        error: message,
      });
      return { sent: false, error: message };
    }
  }

  /** The robot did not report a stop done in time: drive_stop again (StopGuard). Never rejects. */
  async #followUpStop(n: number): Promise<void> {
    const detail = `The robot did not report that it stopped within ${STOP_CONFIRM_MS} ms of a ` +
      `stop: drive_stop sent again (follow-up ${n}).`;
    log.warn(detail);
    this.#safety.report("auto_stop", detail, { followUp: n });
    try {
      await this.#pipeline.track(
        "drive_stop",
        () => this.#pipeline.run("drive_stop", {}, STOP_SPEC, {}),
      );
    } catch (error) {
      log.error("Follow-up drive_stop {n} could not be sent: {error}", {
        n,
        error: errorMessage(error),
      });
    }
  }
}
