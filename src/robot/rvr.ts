/**
 * Rvr: the typed robot API, a facade over the robot layer's parts. Every request of
 * rvr-protocol.md section 8 goes `command queue -> circuit breaker -> current link` (_pipeline.ts)
 * with the priority and kind its role gives it (command_policy.ts), with the safety rules
 * (safety/) applied to movement, and the emergency stop on its own path that never waits
 * (stops.ts). Typed drive helpers build their parameters in drive.ts.
 *
 * Movement (every command of `MOVEMENT_COMMANDS`, whether sent through a helper or through
 * {@link Rvr.command}): refused while the e-stop is latched or the battery is critical (checked
 * when called and again just before sending), speed-limited, re-arms the watchdog when sent, and
 * reports `{ requested, applied, limited }`. A newer continuous drive replaces a still queued
 * older one (the replaced call resolves with `superseded: true`).
 *
 * Stops (stops.ts): every stop is `drive_stop`; every stop (and a lost link) aborts
 * {@link Rvr.movesSignal}; movement queued before a stop is dropped with
 * {@link MotionStoppedError}; until the robot reports that it stopped, follow-up `drive_stop`s go
 * out.
 *
 * Waiting for the robot: while a connect is in progress (LinkProvider.awaitLink), commands,
 * moves and stops wait for its outcome (bounded by the wake timeout and their signal) and then run
 * or fail with the connect's error; with no connect in progress they fail at once with
 * NotConnectedError. The emergency stop never waits. (Callers await awaitLink only when there is
 * no link: with one, a command is queued in the same tick it was called, so commands keep the
 * order they were called in.)
 *
 * On every new link the safety set-up runs (safety/setup.ts) and the robot's notifications are
 * watched (safety/notifications.ts). A `disable_notifications_and_active_commands` sent through
 * {@link Rvr.command} is followed by re-enabling the safety notifications, so safety monitoring
 * stays on.
 *
 * Metrics: see _pipeline.ts (rvr_commands_total, rvr_command_duration_seconds,
 * rvr_queue_rejections_total, rvr_queue_superseded_total) and the rvr_safety_* series (Safety).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { CircuitBreaker, CommandQueue } from "../core/mod.ts";
import type { RobotMetrics } from "./metrics.ts";
import type { RvrLink } from "../link/mod.ts";
import type { RequestName, RequestOf, ResponseOf } from "../protocol/mod.ts";
import { isSuperseded } from "../core/mod.ts";
import { commandPolicy, isMovementCommand, type MovementCommand } from "./command_policy.ts";
import * as drive from "./drive.ts";
import type { MoveResult } from "./drive.ts";
import { bridgeStateToBus, type RobotBus } from "./events.ts";
import type { LinkProvider } from "./link_provider.ts";
import { type CommandOptions, Pipeline } from "./_pipeline.ts";
import type { EstopSource, ShutdownReason } from "./safety/reasons.ts";
import type { Safety, SafetyStatus } from "./safety/safety.ts";
import type { ClearEstopOptions } from "./safety/estop_latch.ts";
import { SafetyNotifications } from "./safety/notifications.ts";
import {
  type BatteryReading,
  publishBattery,
  SafetySetup,
  type SafetySetupReport,
} from "./safety/setup.ts";
import {
  type EmergencyStopOptions,
  type EmergencyStopResult,
  type ShutdownResult,
  type StopOptions,
  type StopResult,
  Stops,
} from "./stops.ts";
import type { StateStore } from "./state.ts";

export {
  COMMAND_RESULT_OUTCOMES,
  type CommandOptions,
  type CommandResultOutcome,
} from "./_pipeline.ts";
export { type MoveResult } from "./drive.ts";
export { MotionStoppedError } from "./errors.ts";
export {
  type EmergencyStopOptions,
  type EmergencyStopResult,
  type ShutdownResult,
  type StopOptions,
  type StopResult,
} from "./stops.ts";
export {
  type BatteryReading,
  SAFETY_NOTIFY_COMMANDS,
  type SafetySetupReport,
} from "./safety/setup.ts";

const log = getLogger(["rvr", "robot"]);

/** `command()` returns a {@link MoveResult} for movement commands and the decoded reply otherwise. */
export type CommandResult<N extends RequestName> = N extends MovementCommand ? MoveResult
  : ResponseOf<N>;

export interface RvrOptions {
  links: LinkProvider;
  queue: CommandQueue;
  breaker: CircuitBreaker;
  bus: RobotBus;
  state: StateStore;
  safety: Safety;
  metrics: RobotMetrics;
  /** Reply timeout of one request, ms (RVR_REQUEST_TIMEOUT_MS). Default: the link's default. */
  requestTimeoutMs?: number;
  /** Budget for the port to accept the stop bytes of emergencyStop/shutdown, ms. Default 1000. */
  stopWriteTimeoutMs?: number;
  /** How long the robot may take to report a stop done before a follow-up drive_stop, ms. */
  stopConfirmMs?: number;
  /** Pauses between retries of a safety set-up that failed for a passing reason, ms. */
  setupRetryInitialMs?: number;
  setupRetryMaxMs?: number;
}

export class Rvr {
  readonly #links: LinkProvider;
  readonly #bus: RobotBus;
  readonly #safety: Safety;
  readonly #pipeline: Pipeline;
  readonly #stops: Stops;
  readonly #setup: SafetySetup;
  #unsubscribes: (() => void)[] = [];
  #disposed = false;

  constructor(options: RvrOptions) {
    this.#links = options.links;
    this.#bus = options.bus;
    this.#safety = options.safety;
    this.#pipeline = new Pipeline(options);
    this.#stops = new Stops({ ...options, pipeline: this.#pipeline });
    this.#setup = new SafetySetup({
      pipeline: this.#pipeline,
      links: options.links,
      bus: options.bus,
      safety: options.safety,
      notifications: new SafetyNotifications({ ...options, stops: this.#stops }),
      retryInitialMs: options.setupRetryInitialMs,
      retryMaxMs: options.setupRetryMaxMs,
    });
    this.#unsubscribes.push(
      bridgeStateToBus(options.state, this.#bus),
      this.#safety.onWatchdog(() => {
        const s = this.#safety.commandTimeoutS;
        void this.#stops.autoStop(
          "watchdog",
          "auto_stop",
          `No movement command for ${s} s: the watchdog sent drive_stop.`,
          { commandTimeoutS: s },
        );
      }),
      this.#links.onConnected((link) => this.#setup.attach(link)),
      this.#links.onDisconnected((reason) => this.#stops.onDisconnected(reason)),
    );
    const already = this.#links.peek();
    if (already !== undefined) this.#setup.attach(already);
  }

  /**
   * Resolves with the report of the latest link's safety set-up (notifications enabled, battery
   * read) once it finished; before the first link, waits for it. Never rejects.
   */
  ready(): Promise<SafetySetupReport> {
    return this.#setup.ready();
  }

  /**
   * Publishes a battery reading as a "robot.sample" with sensor "battery", so telemetry (the
   * dashboard, the recorder) shows it. The safety set-up does it at every connect, and so does
   * whoever reads the battery later (the get_battery_status tool).
   */
  reportBattery(reading: BatteryReading): void {
    publishBattery(this.#bus, reading);
  }

  /** Suspends the auto-stop watchdog during a tracked move (see Safety.holdWatchdog). */
  holdWatchdog(reason: string): () => void {
    return this.#safety.holdWatchdog(reason);
  }

  /** The safety state: limit, watchdog, e-stop, battery. */
  safetyStatus(): SafetyStatus {
    return this.#safety.status();
  }

  /**
   * Aborted whenever the robot is stopped (any stop, an auto-stop, an emergency stop, a lost
   * link). Long moves (distance drives) listen to it and end. Take it when the move starts: after
   * an abort a fresh signal is handed out (while the e-stop is latched, the aborted one).
   */
  movesSignal(): AbortSignal {
    return this.#stops.movesSignal();
  }

  /**
   * Sends any request of section 8 through queue, breaker and link, and resolves with the decoded
   * reply. Movement commands get the safety rules and resolve with a {@link MoveResult}; stop
   * commands run at high priority past an open circuit. Rejects at once (nothing queued) with
   * TypeError/RangeError for an unknown command, bad parameters or options, NotConnectedError
   * when there is no link,
   * EmergencyStopActiveError / BatteryCriticalError for refused movement; rejects with the queue's,
   * breaker's or link's errors.
   */
  command<N extends RequestName>(
    name: N,
    params: RequestOf<N>,
    options: CommandOptions = {},
  ): Promise<CommandResult<N>> {
    if (isMovementCommand(name)) {
      return this.move(name, params as RequestOf<MovementCommand>, options) as Promise<
        CommandResult<N>
      >;
    }
    return this.#pipeline.track(name, async () => {
      this.#pipeline.precheck(name, params, options);
      const policy = commandPolicy(name);
      const isDriveStop = name === "drive_stop" || name === "drive_stop_custom_decel";
      if (isDriveStop) this.#stops.endMotion("stop");
      if (this.#links.peek() === undefined) await this.#links.awaitLink({ signal: options.signal });
      if (isDriveStop) this.#stops.awaitConfirmation();
      const result = await this.#pipeline.run(name, params, {
        kind: policy.kind,
        priority: options.priority ?? policy.priority,
        bypassBreaker: policy.bypassBreaker,
      }, options) as ResponseOf<N>;
      if (name === "disable_notifications_and_active_commands") {
        // It also switched off the safety notifications; turn them back on.
        this.#stops.endMotion("disable_notifications_and_active_commands");
        void this.#setup.enableNotifications(this.#links.current()).then((failures) => {
          if (failures.length > 0) {
            log.error("Could not re-enable safety notifications: {failures}", { failures });
          }
        });
      }
      return result as CommandResult<N>;
    }) as Promise<CommandResult<N>>;
  }

  /**
   * Sends a movement command with the safety rules: refused while the e-stop is latched or the
   * battery is critical, speed-limited, continuous drives superseding queued ones, the watchdog
   * re-armed when it is sent.
   */
  move<N extends MovementCommand>(
    name: N,
    params: RequestOf<N>,
    options: CommandOptions = {},
  ): Promise<MoveResult> {
    return this.#pipeline.track(name, async () => {
      if (!isMovementCommand(name)) {
        throw new TypeError(
          `"${name}" is not a movement command; use command("${name}", ...) instead.`,
        );
      }
      this.#pipeline.precheck(name, params, options);
      this.#safety.checkMovement(name);
      const limit = this.#safety.limit(name, params);
      const beforeSend = this.#stops.movementGate(name);
      if (this.#links.peek() === undefined) await this.#links.awaitLink({ signal: options.signal });
      const policy = commandPolicy(name);
      const result = await this.#pipeline.run(name, limit.params, {
        kind: policy.kind,
        priority: options.priority ?? policy.priority,
        supersedeKey: policy.supersedeKey,
        beforeSend,
      }, options);
      return {
        command: name,
        requested: limit.requested,
        applied: limit.applied,
        limited: limit.limited,
        speedLimitPercent: limit.speedLimitPercent,
        superseded: isSuperseded(result),
      };
    });
  }

  // ---- movement helpers (parameters built and checked in drive.ts) -------------------------

  /** drive_with_heading; see {@link drive.driveWithHeadingParams}. */
  driveWithHeading(p: drive.HeadingDrive, options?: CommandOptions): Promise<MoveResult> {
    return this.move("drive_with_heading", drive.driveWithHeadingParams(p), options);
  }

  /** raw_motors; see {@link drive.rawMotorsParams}. */
  driveRawMotors(p: drive.RawMotorsDrive, options?: CommandOptions): Promise<MoveResult> {
    return this.move("raw_motors", drive.rawMotorsParams(p), options);
  }

  /** drive_tank_si_units; see {@link drive.tankSiParams}. */
  driveTankSi(p: drive.TankSiDrive, options?: CommandOptions): Promise<MoveResult> {
    return this.move("drive_tank_si_units", drive.tankSiParams(p), options);
  }

  /** drive_tank_normalized; see {@link drive.tankNormalizedParams}. */
  driveTankNormalized(p: drive.TankNormalizedDrive, options?: CommandOptions): Promise<MoveResult> {
    return this.move("drive_tank_normalized", drive.tankNormalizedParams(p), options);
  }

  /** drive_rc_si_units; see {@link drive.rcSiParams}. */
  driveRcSi(p: drive.RcSiDrive, options?: CommandOptions): Promise<MoveResult> {
    return this.move("drive_rc_si_units", drive.rcSiParams(p), options);
  }

  /** drive_rc_normalized; see {@link drive.rcNormalizedParams}. */
  driveRcNormalized(p: drive.RcNormalizedDrive, options?: CommandOptions): Promise<MoveResult> {
    return this.move("drive_rc_normalized", drive.rcNormalizedParams(p), options);
  }

  /** drive_with_yaw_si; see {@link drive.yawSiParams}. */
  driveWithYawSi(p: drive.YawSiDrive, options?: CommandOptions): Promise<MoveResult> {
    return this.move("drive_with_yaw_si", drive.yawSiParams(p), options);
  }

  /** drive_with_yaw_normalized; see {@link drive.yawNormalizedParams}. */
  driveWithYawNormalized(
    p: drive.YawNormalizedDrive,
    options?: CommandOptions,
  ): Promise<MoveResult> {
    return this.move("drive_with_yaw_normalized", drive.yawNormalizedParams(p), options);
  }

  /** drive_to_position_si; see {@link drive.toPositionSiParams}. */
  driveToPositionSi(p: drive.PositionSiDrive, options?: CommandOptions): Promise<MoveResult> {
    return this.move("drive_to_position_si", drive.toPositionSiParams(p), options);
  }

  /** drive_to_position_normalized; see {@link drive.toPositionNormalizedParams}. */
  driveToPositionNormalized(
    p: drive.PositionNormalizedDrive,
    options?: CommandOptions,
  ): Promise<MoveResult> {
    return this.move("drive_to_position_normalized", drive.toPositionNormalizedParams(p), options);
  }

  // ---- stops (stops.ts) ---------------------------------------------------------------------

  /**
   * Stops the robot: drive_stop (or drive_stop_custom_decel with `decelerationMps2`, 1 to 20
   * m/s^2), at high priority, past an open circuit. Disarms the watchdog and aborts movesSignal();
   * until the robot reports it stopped, follow-up drive_stops go out (see safety/stop_guard.ts).
   */
  stop(options: StopOptions = {}): Promise<StopResult> {
    return this.#stops.stop(options);
  }

  /**
   * Emergency stop. Synchronously, before anything else: drive_stop and then stop IR following
   * and evading go to the port through `queue.emergency` and `breaker.bypass` (ahead of every
   * queued command, even while another awaits its reply, even while the circuit is open); every
   * queued movement command is rejected with "cancelled by emergency stop"; the e-stop is
   * latched; movesSignal() is aborted. Resolves once the port accepted the bytes (or could not).
   * Never rejects: without a link the latch holds anyway and `sent` is false.
   */
  emergencyStop(
    source: EstopSource,
    options: EmergencyStopOptions = {},
  ): Promise<EmergencyStopResult> {
    return this.#stops.emergencyStop(source, options);
  }

  /**
   * Releases the e-stop latch. Resumes nothing. Returns false if it was not latched. `by` says
   * who clears ("code" by default; "person" for the side port's clear; "model" for the
   * clear_emergency_stop tool): the model clearing a stop a person latched needs that person's
   * `approval: "accept"`, else it throws ApprovalRefusedError and the latch holds (see
   * safety/estop_latch.ts; RVR_APPROVAL=none lifts it).
   */
  clearEmergencyStop(
    reason = "cleared by request",
    options: ClearEstopOptions = {},
  ): boolean {
    return this.#stops.clearEmergencyStop(reason, options);
  }

  /**
   * The last word before the process exits or the link is closed (stdin EOF, SIGINT, SIGTERM,
   * link loss): drive_stop, stop IR following and evading go to the port on the emergency path
   * (ahead of the queue, past an open circuit), queued movement is cancelled, the watchdog is
   * disarmed. Does not latch and does not close anything: the caller closes the link after this
   * resolves. `link`: the link about to be closed (e.g. from the connection manager's closing
   * hook); default the provider's current one. Never rejects.
   */
  shutdown(reason: ShutdownReason, options: { link?: RvrLink } = {}): Promise<ShutdownResult> {
    return this.#stops.shutdown(reason, options);
  }

  /** Unsubscribes everything this Rvr registered (bus bridge, watchdog, link listeners). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#stops.dispose();
    this.#setup.dispose();
    for (const u of this.#unsubscribes) u();
    this.#unsubscribes = [];
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
