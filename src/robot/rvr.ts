/**
 * Rvr: the typed robot API. Every request of rvr-protocol.md section 8 goes
 * `command queue -> circuit breaker -> current link`, with the safety rules of safety.ts applied
 * to movement, and the emergency stop on its own path that never waits.
 *
 * Which command gets which priority (the queue runs one command at a time, highest priority
 * first, FIFO within a priority):
 *
 * | command | path | priority | kind | supersedeKey |
 * |---|---|---|---|---|
 * | {@link Rvr.emergencyStop}: `drive_stop`, then stop IR following and evading | `queue.emergency` -> `breaker.bypass` -> `link.sendImmediate` | emergency (never queued) | safety | - |
 * | {@link Rvr.shutdown} (stdin EOF, SIGINT, SIGTERM, link loss): the same three packets | same as the e-stop, without latching | emergency | safety | - |
 * | {@link Rvr.stop}, `drive_stop`, `drive_stop_custom_decel`; auto-stops (watchdog, stall, motor fault, thermal critical, battery critical); `stop_robot_to_robot_infrared_following/evading` | queue -> `breaker.bypass` (a stop is never refused by an open circuit) | high | safety | - |
 * | safety set-up on each new link (enable stall, fault, thermal and battery notifications; read the battery) | queue -> breaker | high | config | - |
 * | continuous drives: `raw_motors`, `drive_with_heading`, `drive_tank_*`, `drive_rc_*`, `drive_with_yaw_*` | queue -> breaker | normal | movement | "drive" |
 * | `drive_to_position_*`, `start_robot_to_robot_infrared_following/evading`, `magnetometer_calibrate_to_north` | queue -> breaker | normal | movement | - |
 * | queries (`get_*`, `echo`) | queue -> breaker | normal | query | - |
 * | LEDs and palettes, `send_infrared_message` | queue -> breaker | normal | io | - |
 * | `wake`, `sleep`, `generate_api_error` | queue -> breaker | normal | system | - |
 * | everything else (`set_*`, `enable_*`, `reset_yaw`, `reset_locator_x_and_y`, streaming set-up, ...) | queue -> breaker | normal | config | - |
 *
 * A caller may pass `priority: "high" | "normal" | "low"` (e.g. "low" for dashboard polling);
 * "emergency" is only for {@link Rvr.emergencyStop}. A newer continuous drive replaces a still
 * queued older one (they share the key "drive"; the replaced call resolves with
 * `superseded: true`), so a burst of steering updates never builds lag. An emergency stop rejects
 * every queued movement command with "cancelled by emergency stop"; other queued commands
 * survive. `reset_yaw` and `reset_locator_x_and_y` are "config", not movement: they do not move
 * the robot, so an e-stop does not throw them away.
 *
 * Movement (every command of `MOVEMENT_COMMANDS`, whether sent through a helper or through
 * {@link Rvr.command}): refused while the e-stop is latched or the battery is critical (checked
 * when called and again just before sending), speed-limited, re-arms the watchdog when sent, and
 * reports `{ requested, applied, limited }`.
 *
 * Stops: every stop is `drive_stop` (0x16/0x42), never `drive_with_heading` with speed 0; only an
 * explicit `stop({ decelerationMps2 })` sends `drive_stop_custom_decel`, at 1 to 20 m/s^2 (the
 * slowest brings the robot from top speed to rest within 1.6 s, see stop_guard.ts). After a
 * `stop` (or a stop sent through {@link Rvr.command}) the robot must report that it stopped
 * (`robot_has_stopped_notify`); until it does, follow-up `drive_stop`s go out (StopGuard). Every stop (and a lost
 * link) disarms the watchdog and aborts {@link Rvr.movesSignal}, so a distance move in progress
 * ends; the signal is renewed at once, except while the e-stop is latched (then on clear). A stop
 * runs ahead of queued movement (high priority), so movement queued before a stop would run after
 * it and set the robot going again: instead it is dropped when its turn comes, rejecting with
 * {@link MotionStoppedError}. Movement sent after the stop runs normally.
 *
 * Waiting for the robot: while a connect is in progress (LinkProvider.awaitLink), commands,
 * moves and stops wait for its outcome (bounded by the wake timeout and their signal) and then run
 * or fail with the connect's error; with no connect in progress they fail at once with
 * NotConnectedError. The emergency stop never waits.
 *
 * On every new link (LinkProvider.onConnected) the robot is asked for motor stall, motor fault,
 * thermal protection and battery voltage state notifications, and the battery is read once. Steps
 * that failed for a passing reason (no reply, an open circuit) are retried while that link is the
 * live one; a link the program closed itself ends its set-up quietly.
 * Every notification but streaming data (which SensorStreams publishes decoded as "robot.sample")
 * is republished on the bus as "robot.notification"; stall, motor fault and
 * thermal critical stop the robot (safety events "stall", "motor_fault", "thermal"); battery
 * critical stops it and blocks movement until the battery recovers (event "battery"). A
 * `disable_notifications_and_active_commands` sent through {@link Rvr.command} is followed by
 * re-enabling those four notifications, so safety monitoring stays on.
 *
 * Metrics: rvr_commands_total{command, outcome} with outcome ok, error, timeout, rejected,
 * superseded or cancelled; rvr_command_duration_seconds{command} for commands that completed;
 * rvr_queue_rejections_total{reason} (full, estop, circuit_open, closed);
 * rvr_queue_superseded_total{key}; the rvr_safety_* series (through Safety).
 *
 * Correlation: a command's `correlationId` is set as an implicit log context (logtape
 * `withContext`) around the link call, so the link's and this module's log lines carry it.
 *
 * @module
 */
import { getLogger, withContext } from "@logtape/logtape";
import {
  BATTERY_STATES,
  type BatteryState,
  CancelledByEmergencyStopError,
  type CircuitBreaker,
  CircuitOpenError,
  type Command,
  type CommandKind,
  type CommandQueue,
  EmergencyStopActiveError,
  isSuperseded,
  type Priority,
  QueueClosedError,
  QueueDrainedError,
  QueueFullError,
  type StateStore,
  type Superseded,
  TimeoutError,
} from "../core/mod.ts";
import type { Metrics } from "../core/metrics.ts";
import { checkInteger } from "../core/validate.ts";
import { LinkClosedError, ResponseTimeoutError, RobotError, type RvrLink } from "../link/mod.ts";
import {
  commandByName,
  COMMANDS,
  encodeFields,
  type NodeId,
  type NotificationName,
  type RequestName,
  type RequestOf,
  type ResponseOf,
} from "../protocol/mod.ts";
import { bridgeStateToBus, type RobotBus } from "./events.ts";
import { BatteryCriticalError, MotionStoppedError, NotConnectedError } from "./errors.ts";
import type { LinkProvider } from "./link_provider.ts";
import {
  type AutoStopReason,
  ESTOP_SOURCES,
  type EstopSource,
  isContinuousDriveCommand,
  isMovementCommand,
  type MovementCommand,
  type Safety,
  type SafetyStatus,
  SHUTDOWN_REASONS,
  type ShutdownReason,
} from "./safety.ts";
import type { SafetyEventType } from "./events.ts";
import {
  MAX_STOP_DECELERATION_MPS2,
  MIN_STOP_DECELERATION_MPS2,
  STOP_CONFIRM_MS,
  StopGuard,
} from "./stop_guard.ts";

const log = getLogger(["rvr", "robot"]);

/** Outcome label of rvr_commands_total. */
export const COMMAND_RESULT_OUTCOMES = [
  "ok",
  "error",
  "timeout",
  "rejected",
  "superseded",
  "cancelled",
] as const;
export type CommandResultOutcome = typeof COMMAND_RESULT_OUTCOMES[number];

/** Commands that stop the drive; run at high priority past an open circuit. */
export const STOP_COMMANDS = [
  "drive_stop",
  "drive_stop_custom_decel",
  "stop_robot_to_robot_infrared_following",
  "stop_robot_to_robot_infrared_evading",
] as const;
export type StopCommand = typeof STOP_COMMANDS[number];

/** The notifications switched on for every new link (the safety monitors). */
export const SAFETY_NOTIFY_COMMANDS = [
  "enable_motor_stall_notify",
  "enable_motor_fault_notify",
  "enable_motor_thermal_protection_status_notify",
  "enable_battery_voltage_state_change_notify",
] as const;

const NOTIFICATION_NAMES = COMMANDS.filter((c) => c.kind === "notification").map((c) =>
  c.name
) as NotificationName[];

const IO_COMMANDS = new Set<string>([
  "set_all_leds",
  "get_active_color_palette",
  "set_active_color_palette",
  "get_color_identification_report",
  "load_color_palette",
  "save_color_palette",
  "release_led_requests",
  "send_infrared_message",
]);
const SYSTEM_COMMANDS = new Set<string>(["wake", "sleep", "generate_api_error"]);

/** The queue kind of a request (see the table in the module doc). */
export function commandKindOf(name: RequestName): CommandKind {
  if (isMovementCommand(name)) return "movement";
  if ((STOP_COMMANDS as readonly string[]).includes(name)) return "safety";
  if (IO_COMMANDS.has(name)) return "io";
  if (SYSTEM_COMMANDS.has(name)) return "system";
  if (name.startsWith("get_") || name === "echo") return "query";
  return "config";
}

export interface CommandOptions {
  /** Default per the table in the module doc; "emergency" is refused (use emergencyStop). */
  priority?: Exclude<Priority, "emergency">;
  /**
   * Budget in ms. Covers waiting in the queue plus the reply; it is also the reply timeout
   * handed to the link. Default: the queue's default budget and `requestTimeoutMs` for the reply.
   */
  timeoutMs?: number;
  /** Cancels the command: removed if queued, the request aborted if in flight. */
  signal?: AbortSignal;
  /** Processor for commands that run on either (echo, streaming, ...): 1 Nordic, 2 ST. */
  target?: NodeId;
  /** Carried as an implicit log context through the link call. */
  correlationId?: string;
  /** Ask the robot to acknowledge a command without reply fields (FLAGS 0x02). */
  requestsResponse?: boolean;
}

/** What a movement command did. */
export interface MoveResult {
  readonly command: MovementCommand;
  /** Speed fields as requested (empty for commands without speed). */
  readonly requested: Readonly<Record<string, number>>;
  /** Speed fields as sent. */
  readonly applied: Readonly<Record<string, number>>;
  /** True when the speed limit reduced the command. */
  readonly limited: boolean;
  readonly speedLimitPercent: number;
  /** True when a newer drive command replaced this one before it was sent (nothing was sent). */
  readonly superseded: boolean;
}

/** `command()` returns a {@link MoveResult} for movement commands and the decoded reply otherwise. */
export type CommandResult<N extends RequestName> = N extends MovementCommand ? MoveResult
  : ResponseOf<N>;

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

/** Outcome of the safety set-up on a new link. */
/** What is known of the battery from one read: percent (0-100) and/or volts (filtered). */
export interface BatteryReading {
  percent?: number;
  volts?: number;
}

export interface SafetySetupReport {
  /** True when every set-up command succeeded. */
  readonly ok: boolean;
  /** "command: message" for each one that failed. */
  readonly failures: readonly string[];
  /** The battery state read at connect, or null if the read failed. */
  readonly batteryState: BatteryState | null;
}

export interface RvrOptions {
  links: LinkProvider;
  queue: CommandQueue;
  breaker: CircuitBreaker;
  bus: RobotBus;
  state: StateStore;
  safety: Safety;
  metrics: Metrics;
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

/** A set-up step failed for a reason that may pass (no reply, open circuit): worth retrying. */
function isPassing(error: unknown): boolean {
  return !(error instanceof RobotError || error instanceof RangeError ||
    error instanceof TypeError || error instanceof LinkClosedError);
}

interface RunSpec {
  readonly kind: CommandKind;
  readonly priority: Exclude<Priority, "emergency">;
  readonly supersedeKey?: string;
  /** Stops run past an open circuit. */
  readonly bypassBreaker?: boolean;
  /** Called just before the request goes to the link; may throw to refuse it. */
  readonly beforeSend?: () => void;
  /** Send on this link instead of the provider's current one. */
  readonly link?: RvrLink;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function checkPriority(priority: unknown): void {
  if (
    priority === undefined || priority === "high" || priority === "normal" || priority === "low"
  ) {
    return;
  }
  if (priority === "emergency") {
    throw new RangeError(
      'priority "emergency" is reserved for emergencyStop(); use "high", "normal" or "low".',
    );
  }
  throw new RangeError(`priority must be "high", "normal" or "low", got ${String(priority)}.`);
}

function checkFinite(what: string, value: unknown, hint: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new RangeError(`${what} must be a finite number, got ${String(value)}; ${hint}.`);
  }
  return value;
}

export class Rvr {
  readonly #links: LinkProvider;
  readonly #queue: CommandQueue;
  readonly #breaker: CircuitBreaker;
  readonly #bus: RobotBus;
  readonly #state: StateStore;
  readonly #safety: Safety;
  readonly #metrics: Metrics;
  readonly #requestTimeoutMs: number | undefined;
  readonly #stopWriteTimeoutMs: number;
  #moves = new AbortController();
  /** Bumped by every stop: movement queued before it is not sent. */
  #motionEpoch = 0;
  #lastStopReason = "stop";
  #setUpLinks = new WeakSet<RvrLink>();
  #linkUnsubscribes: (() => void)[] = [];
  #unsubscribes: (() => void)[] = [];
  #setup: Promise<SafetySetupReport> | undefined;
  #firstSetup = Promise.withResolvers<SafetySetupReport>();
  readonly #stopGuard: StopGuard;
  readonly #setupRetryInitialMs: number;
  readonly #setupRetryMaxMs: number;
  readonly #setupRetries = new Set<ReturnType<typeof setTimeout>>();
  #disposed = false;

  constructor(options: RvrOptions) {
    this.#links = options.links;
    this.#queue = options.queue;
    this.#breaker = options.breaker;
    this.#bus = options.bus;
    this.#state = options.state;
    this.#safety = options.safety;
    this.#metrics = options.metrics;
    if (
      options.requestTimeoutMs !== undefined &&
      !(Number.isFinite(options.requestTimeoutMs) && options.requestTimeoutMs > 0)
    ) {
      throw new RangeError(
        `requestTimeoutMs must be a number of ms > 0, got ${options.requestTimeoutMs}; e.g. 1000.`,
      );
    }
    this.#requestTimeoutMs = options.requestTimeoutMs;
    const stopMs = options.stopWriteTimeoutMs ?? 1000;
    if (!(Number.isFinite(stopMs) && stopMs > 0)) {
      throw new RangeError(`stopWriteTimeoutMs must be a number of ms > 0, got ${stopMs}.`);
    }
    this.#stopWriteTimeoutMs = stopMs;
    this.#setupRetryInitialMs = options.setupRetryInitialMs ?? 1000;
    this.#setupRetryMaxMs = options.setupRetryMaxMs ?? 30_000;
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

    this.#unsubscribes.push(
      bridgeStateToBus(this.#state, this.#bus),
      this.#safety.onWatchdog(() => {
        const s = this.#safety.commandTimeoutS;
        void this.#autoStop(
          "watchdog",
          "auto_stop",
          `No movement command for ${s} s: the watchdog sent drive_stop.`,
          { commandTimeoutS: s },
        );
      }),
      this.#links.onConnected((link) => this.#onConnected(link)),
      this.#links.onDisconnected((reason) => this.#onDisconnected(reason)),
    );
    const already = this.#links.peek();
    if (already !== undefined) this.#onConnected(already);
  }

  /**
   * Resolves with the report of the latest link's safety set-up (notifications enabled, battery
   * read) once it finished; before the first link, waits for it. Never rejects.
   */
  ready(): Promise<SafetySetupReport> {
    return this.#setup ?? this.#firstSetup.promise;
  }

  /**
   * Publishes a battery reading as a "robot.sample" with sensor "battery", so telemetry (the
   * dashboard, the recorder) shows it. The safety set-up does it at every connect, and so does
   * whoever reads the battery later (the get_battery_status tool).
   */
  reportBattery(reading: BatteryReading): void {
    this.#bus.publish("robot.sample", {
      sensor: "battery",
      values: { ...reading },
      valid: true,
      at: Date.now(),
    });
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
    return this.#moves.signal;
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
    return this.#track(name, async () => {
      this.#precheck(name, params, options);
      const isStop = (STOP_COMMANDS as readonly string[]).includes(name);
      const isDriveStop = name === "drive_stop" || name === "drive_stop_custom_decel";
      if (isDriveStop) this.#endMotion("stop");
      if (this.#links.peek() === undefined) await this.#links.awaitLink({ signal: options.signal });
      if (isDriveStop) this.#stopGuard.arm();
      const result = await this.#run(name, params, {
        kind: commandKindOf(name),
        priority: options.priority ?? (isStop ? "high" : "normal"),
        bypassBreaker: isStop,
      }, options) as ResponseOf<N>;
      if (name === "disable_notifications_and_active_commands") {
        // It also switched off the safety notifications; turn them back on.
        this.#endMotion("disable_notifications_and_active_commands");
        void this.#enableSafetyNotifications(this.#links.current()).then((failures) => {
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
    return this.#track(name, async () => {
      if (!isMovementCommand(name)) {
        throw new TypeError(
          `"${name}" is not a movement command; use command("${name}", ...) instead.`,
        );
      }
      this.#precheck(name, params, options);
      this.#safety.checkMovement(name);
      const limit = this.#safety.limit(name, params);
      const epoch = this.#motionEpoch;
      if (this.#links.peek() === undefined) await this.#links.awaitLink({ signal: options.signal });
      const result = await this.#run(name, limit.params, {
        kind: "movement",
        priority: options.priority ?? "normal",
        supersedeKey: isContinuousDriveCommand(name) ? "drive" : undefined,
        beforeSend: () => {
          // A stop issued after this command was queued wins: the older movement is dropped.
          if (epoch !== this.#motionEpoch) throw new MotionStoppedError(this.#lastStopReason);
          this.#safety.checkMovement(name);
          // The robot is driven again: the watchdog covers it, not the stop's confirmation.
          this.#stopGuard.cancel();
          this.#safety.kickWatchdog();
        },
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

  // ---- movement helpers ------------------------------------------------------------------

  /**
   * drive_with_heading: `speed` -255..255 of top speed (negative drives backwards: flag 0x01),
   * `headingDeg` 0-359 (left-hand rule: 90 = right), extra `flags` (0x02 boost, 0x04 fast turn).
   */
  driveWithHeading(
    p: { speed: number; headingDeg: number; flags?: number },
    options?: CommandOptions,
  ): Promise<MoveResult> {
    const speed = checkInteger(
      "driveWithHeading speed",
      p.speed,
      -255,
      255,
      "negative drives backwards",
    );
    const headingDeg = checkInteger(
      "driveWithHeading headingDeg",
      p.headingDeg,
      0,
      359,
      "0 forward, 90 right",
    );
    const flags = checkInteger("driveWithHeading flags", p.flags ?? 0, 0, 255, "see section 9.4");
    return this.move("drive_with_heading", {
      speed: Math.abs(speed),
      heading: headingDeg,
      flags: speed < 0 ? flags | 0x01 : flags,
    }, options);
  }

  /** raw_motors: signed duty cycles -255..255 per side (0 = off, negative = reverse). Open loop. */
  driveRawMotors(
    p: { leftDuty: number; rightDuty: number },
    options?: CommandOptions,
  ): Promise<MoveResult> {
    const l = checkInteger("driveRawMotors leftDuty", p.leftDuty, -255, 255, "negative = reverse");
    const r = checkInteger(
      "driveRawMotors rightDuty",
      p.rightDuty,
      -255,
      255,
      "negative = reverse",
    );
    const mode = (d: number) => (d === 0 ? 0 : d > 0 ? 1 : 2);
    return this.move("raw_motors", {
      left_mode: mode(l),
      left_duty_cycle: Math.abs(l),
      right_mode: mode(r),
      right_duty_cycle: Math.abs(r),
    }, options);
  }

  /** drive_tank_si_units: tread velocities in m/s. */
  driveTankSi(
    p: { leftMps: number; rightMps: number },
    options?: CommandOptions,
  ): Promise<MoveResult> {
    return this.move("drive_tank_si_units", {
      left_velocity: checkFinite("driveTankSi leftMps", p.leftMps, "give m/s"),
      right_velocity: checkFinite("driveTankSi rightMps", p.rightMps, "give m/s"),
    }, options);
  }

  /** drive_tank_normalized: tread velocities -127..127. */
  driveTankNormalized(
    p: { left: number; right: number },
    options?: CommandOptions,
  ): Promise<MoveResult> {
    return this.move("drive_tank_normalized", {
      left_velocity: checkInteger("driveTankNormalized left", p.left, -127, 127, "127 = top speed"),
      right_velocity: checkInteger(
        "driveTankNormalized right",
        p.right,
        -127,
        127,
        "127 = top speed",
      ),
    }, options);
  }

  /** drive_rc_si_units: yaw rate deg/s (+ = left), linear m/s; `slewLinear` sets flag 0x01. */
  driveRcSi(
    p: { yawRateDps: number; linearMps: number; slewLinear?: boolean },
    options?: CommandOptions,
  ): Promise<MoveResult> {
    return this.move("drive_rc_si_units", {
      yaw_angular_velocity: checkFinite("driveRcSi yawRateDps", p.yawRateDps, "give deg/s"),
      linear_velocity: checkFinite("driveRcSi linearMps", p.linearMps, "give m/s"),
      flags: p.slewLinear ? 0x01 : 0,
    }, options);
  }

  /** drive_rc_normalized: yaw rate and linear -127..127; `slewLinear` sets flag 0x01. */
  driveRcNormalized(
    p: { yawRate: number; linear: number; slewLinear?: boolean },
    options?: CommandOptions,
  ): Promise<MoveResult> {
    return this.move("drive_rc_normalized", {
      yaw_angular_velocity: checkInteger(
        "driveRcNormalized yawRate",
        p.yawRate,
        -127,
        127,
        "127 = 624 deg/s",
      ),
      linear_velocity: checkInteger(
        "driveRcNormalized linear",
        p.linear,
        -127,
        127,
        "127 = top speed",
      ),
      flags: p.slewLinear ? 0x01 : 0,
    }, options);
  }

  /** drive_with_yaw_si: hold yaw `yawDeg` (+ = left) while driving `linearMps`. */
  driveWithYawSi(
    p: { yawDeg: number; linearMps: number },
    options?: CommandOptions,
  ): Promise<MoveResult> {
    return this.move("drive_with_yaw_si", {
      yaw_angle: checkFinite("driveWithYawSi yawDeg", p.yawDeg, "give degrees"),
      linear_velocity: checkFinite("driveWithYawSi linearMps", p.linearMps, "give m/s"),
    }, options);
  }

  /** drive_with_yaw_normalized: yaw in whole degrees, linear -127..127. */
  driveWithYawNormalized(
    p: { yawDeg: number; linear: number },
    options?: CommandOptions,
  ): Promise<MoveResult> {
    return this.move("drive_with_yaw_normalized", {
      yaw_angle: checkInteger(
        "driveWithYawNormalized yawDeg",
        p.yawDeg,
        -32768,
        32767,
        "whole degrees",
      ),
      linear_velocity: checkInteger(
        "driveWithYawNormalized linear",
        p.linear,
        -127,
        127,
        "127 = top speed",
      ),
    }, options);
  }

  /**
   * drive_to_position_si: drive to (xM, yM) in the locator frame at up to `speedMps`, end at
   * `yawDeg`. `flags`: bits 0-1 direction (0 forward, 1 force reverse, 2 auto reverse), bit 2
   * target relative to the current position.
   */
  driveToPositionSi(
    p: { yawDeg: number; xM: number; yM: number; speedMps: number; flags?: number },
    options?: CommandOptions,
  ): Promise<MoveResult> {
    const speed = checkFinite("driveToPositionSi speedMps", p.speedMps, "give m/s");
    if (speed < 0) {
      throw new RangeError(
        `driveToPositionSi speedMps must be >= 0, got ${speed}; use flags bit 0 to drive backwards.`,
      );
    }
    return this.move("drive_to_position_si", {
      yaw_angle: checkFinite("driveToPositionSi yawDeg", p.yawDeg, "give degrees"),
      x: checkFinite("driveToPositionSi xM", p.xM, "give metres"),
      y: checkFinite("driveToPositionSi yM", p.yM, "give metres"),
      linear_speed: speed,
      flags: checkInteger("driveToPositionSi flags", p.flags ?? 0, 0, 7, "see section 9.4"),
    }, options);
  }

  /** drive_to_position_normalized: like driveToPositionSi with speed 0..127 and yaw in whole degrees. */
  driveToPositionNormalized(
    p: { yawDeg: number; xM: number; yM: number; speed: number; flags?: number },
    options?: CommandOptions,
  ): Promise<MoveResult> {
    return this.move("drive_to_position_normalized", {
      yaw_angle: checkInteger(
        "driveToPositionNormalized yawDeg",
        p.yawDeg,
        -32768,
        32767,
        "whole degrees",
      ),
      x: checkFinite("driveToPositionNormalized xM", p.xM, "give metres"),
      y: checkFinite("driveToPositionNormalized yM", p.yM, "give metres"),
      linear_speed: checkInteger(
        "driveToPositionNormalized speed",
        p.speed,
        0,
        127,
        "127 = top speed",
      ),
      flags: checkInteger("driveToPositionNormalized flags", p.flags ?? 0, 0, 7, "see section 9.4"),
    }, options);
  }

  // ---- stops -----------------------------------------------------------------------------

  /**
   * Stops the robot: drive_stop (or drive_stop_custom_decel with `decelerationMps2`, 1 to 20
   * m/s^2), at high priority, past an open circuit. Disarms the watchdog and aborts movesSignal();
   * until the robot reports it stopped, follow-up drive_stops go out (see stop_guard.ts).
   */
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
    return this.#track(name, async () => {
      this.#endMotion("stop");
      if (this.#links.peek() === undefined) await this.#links.awaitLink({ signal: options.signal });
      this.#stopGuard.arm();
      const commandOptions: CommandOptions = {
        correlationId: options.correlationId,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
      };
      const spec: RunSpec = { kind: "safety", priority: "high", bypassBreaker: true };
      if (decel === undefined) await this.#run("drive_stop", {}, spec, commandOptions);
      else {
        await this.#run(
          "drive_stop_custom_decel",
          { deceleration_rate: decel },
          spec,
          commandOptions,
        );
      }
      return { command: name };
    });
  }

  /**
   * Emergency stop. Synchronously, before anything else: drive_stop and then stop IR following
   * and evading go to the port through `queue.emergency` and `breaker.bypass` (ahead of every
   * queued command, even while another awaits its reply, even while the circuit is open); every
   * queued movement command is rejected with "cancelled by emergency stop"; the e-stop is
   * latched; movesSignal() is aborted. Resolves once the port accepted the bytes (or could not).
   * Never rejects: without a link the latch holds anyway and `sent` is false.
   */
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
    this.#endMotion("emergency_stop");
    const outcome = await this.#settleStop("emergency_stop", promise);
    return {
      ...outcome,
      cancelledQueued,
      newlyLatched,
      latchedAt: this.#state.safety.estopLatchedAt ?? Date.now(),
    };
  }

  /** Releases the e-stop latch. Resumes nothing. Returns false if it was not latched. */
  clearEmergencyStop(reason = "cleared by request"): boolean {
    const released = this.#safety.clearEstop(reason);
    if (this.#moves.signal.aborted) this.#moves = new AbortController();
    return released;
  }

  /**
   * The last word before the process exits or the link is closed (stdin EOF, SIGINT, SIGTERM,
   * link loss): drive_stop, stop IR following and evading go to the port on the emergency path
   * (ahead of the queue, past an open circuit), queued movement is cancelled, the watchdog is
   * disarmed. Does not latch and does not close anything: the caller closes the link after this
   * resolves. `link`: the link about to be closed (e.g. from the connection manager's closing
   * hook); default the provider's current one. Never rejects.
   */
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
    this.#endMotion(reason);
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

  /** Unsubscribes everything this Rvr registered (bus bridge, watchdog, link listeners). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#stopGuard.dispose();
    for (const t of this.#setupRetries) clearTimeout(t);
    this.#setupRetries.clear();
    for (const u of [...this.#unsubscribes, ...this.#linkUnsubscribes]) u();
    this.#unsubscribes = [];
    this.#linkUnsubscribes = [];
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- internals ---------------------------------------------------------------------------
  // (Callers await awaitLink only when there is no link: with one, a command is queued in the same
  // tick it was called, so commands keep the order they were called in.)

  /** Validates a request before it is queued, so bad input fails at once. */
  #precheck(name: RequestName, params: unknown, options: CommandOptions): void {
    checkPriority(options.priority);
    const def = commandByName(name);
    if (def.kind !== "command") {
      throw new TypeError(`"${name}" is a notification the robot sends; it cannot be requested.`);
    }
    if (def.node === "any" && options.target === undefined) {
      throw new TypeError(
        `"${name}" runs on either processor; pass { target: 1 } (Nordic) or { target: 2 } (ST).`,
      );
    }
    if (typeof params !== "object" || params === null) {
      throw new TypeError(`Parameters of ${name} must be an object, got ${String(params)}.`);
    }
    encodeFields(name, def.request, params as Record<string, unknown>);
  }

  /** Runs `fn` and counts its outcome and duration. */
  async #track<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    let outcome: CommandResultOutcome = "ok";
    try {
      const value = await fn();
      if (
        isSuperseded(value) ||
        (typeof value === "object" && value !== null &&
          (value as { superseded?: unknown }).superseded === true)
      ) {
        outcome = "superseded";
      }
      return value;
    } catch (error) {
      outcome = this.#classify(error);
      throw error;
    } finally {
      this.#metrics.commandsTotal.inc({ command: name, outcome });
      if (outcome === "ok") {
        this.#metrics.commandSeconds.observe(
          { command: name },
          (performance.now() - started) / 1000,
        );
      }
    }
  }

  #classify(error: unknown): CommandResultOutcome {
    if (error instanceof TimeoutError || error instanceof ResponseTimeoutError) return "timeout";
    if (error instanceof CancelledByEmergencyStopError) {
      this.#metrics.queueRejectionsTotal.inc({ reason: "estop" });
      return "cancelled";
    }
    if (error instanceof QueueFullError) {
      this.#metrics.queueRejectionsTotal.inc({ reason: "full" });
      return "rejected";
    }
    if (error instanceof CircuitOpenError) {
      this.#metrics.queueRejectionsTotal.inc({ reason: "circuit_open" });
      return "rejected";
    }
    if (error instanceof QueueClosedError) {
      this.#metrics.queueRejectionsTotal.inc({ reason: "closed" });
      return "rejected";
    }
    if (
      error instanceof EmergencyStopActiveError || error instanceof BatteryCriticalError ||
      error instanceof NotConnectedError || error instanceof TypeError ||
      error instanceof RangeError
    ) {
      return "rejected";
    }
    if (
      error instanceof QueueDrainedError || error instanceof MotionStoppedError ||
      (error instanceof DOMException && error.name === "AbortError")
    ) {
      return "cancelled";
    }
    return "error";
  }

  /** Queue -> breaker -> link for one request. */
  async #run<N extends RequestName>(
    name: N,
    params: RequestOf<N>,
    spec: RunSpec,
    options: CommandOptions,
  ): Promise<ResponseOf<N> | Superseded> {
    const command: Command = spec.supersedeKey === undefined
      ? { name, kind: spec.kind }
      : { name, kind: spec.kind, supersedeKey: spec.supersedeKey };
    const result = await this.#queue.enqueue(
      command,
      (_command, signal) => this.#execute(name, params, spec, options, signal),
      { priority: spec.priority, timeoutMs: options.timeoutMs, signal: options.signal },
    );
    if (isSuperseded(result)) {
      this.#metrics.queueSupersededTotal.inc({ key: result.supersedeKey });
      log.debug("{command} superseded by {by} before it was sent", {
        command: name,
        by: result.byCommandName,
      });
    }
    return result;
  }

  #execute<N extends RequestName>(
    name: N,
    params: RequestOf<N>,
    spec: RunSpec,
    options: CommandOptions,
    signal: AbortSignal,
  ): Promise<ResponseOf<N>> {
    spec.beforeSend?.();
    // A link the program closed meanwhile (a reconnect): refused here, before the breaker, which
    // must not count it against the robot.
    if (spec.link !== undefined && !spec.link.isOpen) {
      return Promise.reject(new LinkClosedError(spec.link.port.path));
    }
    const link = spec.link ?? this.#links.current();
    const call = () => {
      log.debug("Sending {command}", { command: name });
      return link.request(name, params, {
        signal,
        timeoutMs: options.timeoutMs ?? this.#requestTimeoutMs,
        target: options.target,
        requestsResponse: options.requestsResponse,
      });
    };
    const guarded = spec.bypassBreaker
      ? () => this.#breaker.bypass(call)
      : () => this.#breaker.execute(call);
    const id = options.correlationId;
    return id === undefined ? guarded() : withContext({ correlationId: id }, guarded);
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
      { timeoutMs: this.#stopWriteTimeoutMs },
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
              error: describe(error),
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
      this.#metrics.commandsTotal.inc({ command: name, outcome: this.#classify(error) });
      const message = describe(error);
      log.error("{command}: drive_stop could not be sent: {error}", {
        command: name,
        error: message,
      });
      return { sent: false, error: message };
    }
  }

  /** The robot is (being) stopped: disarm the watchdog and end moves in progress. */
  #endMotion(reason: string): void {
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

  /** A stop the server decides on its own (high priority, past an open circuit). Never rejects. */
  async #autoStop(
    reason: AutoStopReason,
    type: SafetyEventType,
    detail: string,
    data: Record<string, unknown> = {},
    link?: RvrLink,
  ): Promise<void> {
    this.#endMotion(reason);
    this.#safety.noteAutoStop(reason, type, detail, data);
    try {
      await this.#track(
        "drive_stop",
        () =>
          this.#run("drive_stop", {}, {
            kind: "safety",
            priority: "high",
            bypassBreaker: true,
            link,
          }, {}),
      );
    } catch (error) {
      log.error("Auto-stop ({reason}) could not send drive_stop: {error}", {
        reason,
        error: describe(error),
      });
    }
  }

  #onConnected(link: RvrLink): void {
    if (this.#disposed || this.#setUpLinks.has(link)) return;
    this.#setUpLinks.add(link);
    const unsubscribes = NOTIFICATION_NAMES.map((name) =>
      link.on(name, (values, meta) => this.#onNotification(link, name, values, meta.node))
    );
    let offClose = () => {};
    const release = () => {
      for (const u of unsubscribes) u();
      offClose();
      this.#linkUnsubscribes = this.#linkUnsubscribes.filter((u) => u !== release);
    };
    this.#linkUnsubscribes.push(release);
    offClose = link.onClose(release);
    const setup = this.#setUpSafety(link);
    this.#setup = setup;
    void setup.then((report) => this.#firstSetup.resolve(report));
  }

  #onDisconnected(reason: string): void {
    log.warn("Link lost ({reason}): watchdog disarmed, moves ended", { reason });
    this.#endMotion("disconnect");
    // drive_stop went out on the closing link (if it could); no confirmation can come any more.
    this.#stopGuard.cancel();
  }

  /** Turns on the safety notifications; returns "command: message" per failure. */
  async #enableSafetyNotifications(link: RvrLink): Promise<string[]> {
    return (await this.#enableSafetyNotificationsDetailed(link)).failures;
  }

  async #enableSafetyNotificationsDetailed(
    link: RvrLink,
  ): Promise<{ failures: string[]; errors: unknown[] }> {
    const results = await Promise.allSettled(
      SAFETY_NOTIFY_COMMANDS.map((name) =>
        this.#track(
          name,
          () =>
            this.#run(name, { is_enabled: true }, { kind: "config", priority: "high", link }, {
              requestsResponse: true,
            }),
        )
      ),
    );
    const failures: string[] = [];
    const errors: unknown[] = [];
    results.forEach((r, i) => {
      if (r.status === "rejected") {
        failures.push(`${SAFETY_NOTIFY_COMMANDS[i]}: ${describe(r.reason)}`);
        errors.push(r.reason);
      }
    });
    return { failures, errors };
  }

  /**
   * The safety set-up on `link` (attempt 0 at connect, then retries). Steps that failed for a
   * passing reason are retried, with growing pauses, while `link` is the live one.
   */
  async #setUpSafety(link: RvrLink, attempt = 0): Promise<SafetySetupReport> {
    const spec: RunSpec = { kind: "query", priority: "high", link };
    const read = <N extends RequestName>(
      name: N,
      params: RequestOf<N>,
    ): Promise<ResponseOf<N> | Error> =>
      this.#track(name, () => this.#run(name, params, spec, {})).then(
        (r) => r as ResponseOf<N>,
        (e: unknown) => e instanceof Error ? e : new Error(String(e)),
      );
    const [notify, state, percent, volts] = await Promise.all([
      this.#enableSafetyNotificationsDetailed(link),
      read("get_battery_voltage_state", {}),
      read("get_battery_percentage", {}),
      read("get_battery_voltage_in_volts", { reading_type: 0 }),
    ]);
    const { failures } = notify;
    const errors = [...notify.errors];
    for (const r of [state, percent, volts]) if (r instanceof Error) errors.push(r);
    const battery: BatteryReading = {};
    if (percent instanceof Error) failures.push(`get_battery_percentage: ${percent.message}`);
    else {
      try {
        this.#safety.setBatteryPercent(percent.percentage);
        battery.percent = percent.percentage;
      } catch (error) {
        // e.g. a reading above 100 from odd firmware: reported, not fatal.
        failures.push(`get_battery_percentage: ${describe(error)}`);
      }
    }
    if (volts instanceof Error) failures.push(`get_battery_voltage_in_volts: ${volts.message}`);
    else battery.volts = volts.voltage;
    if (battery.percent !== undefined || battery.volts !== undefined) this.reportBattery(battery);
    let batteryState: BatteryState | null = null;
    if (state instanceof Error) failures.push(`get_battery_voltage_state: ${state.message}`);
    else batteryState = this.#onBatteryState(state.state, link, "read at connect");
    if (failures.length > 0 && !link.isOpen) {
      // The program closed this link (a reconnect, a disconnect): nothing to set up any more.
      log.info("Safety set-up on {path} ended with the link: {failures}", {
        path: link.port.path,
        failures,
      });
    } else if (failures.length > 0) {
      const retry = errors.some(isPassing) && !this.#disposed;
      log.error(
        retry
          ? "Safety set-up on {path} incomplete: {failures}; retrying (attempt {attempt})"
          : "Safety set-up on {path} incomplete: {failures}",
        { path: link.port.path, failures, attempt: attempt + 1 },
      );
      if (retry) this.#retrySetUp(link, attempt + 1);
    } else {
      log.info("Safety monitors on for {path}; battery {battery}", {
        path: link.port.path,
        battery: batteryState,
      });
    }
    return { ok: failures.length === 0, failures, batteryState };
  }

  #retrySetUp(link: RvrLink, attempt: number): void {
    const pauseMs = Math.min(
      this.#setupRetryMaxMs,
      this.#setupRetryInitialMs * 2 ** Math.min(attempt - 1, 16),
    );
    const timer = setTimeout(() => {
      this.#setupRetries.delete(timer);
      if (this.#disposed || !link.isOpen || this.#links.peek() !== link) return;
      void this.#setUpSafety(link, attempt);
    }, pauseMs);
    this.#setupRetries.add(timer);
  }

  /** The robot did not report a stop done in time: drive_stop again (StopGuard). Never rejects. */
  async #followUpStop(n: number): Promise<void> {
    const detail = `The robot did not report that it stopped within ${STOP_CONFIRM_MS} ms of a ` +
      `stop: drive_stop sent again (follow-up ${n}).`;
    log.warn(detail);
    this.#safety.report("auto_stop", detail, { followUp: n });
    try {
      await this.#track(
        "drive_stop",
        () =>
          this.#run(
            "drive_stop",
            {},
            { kind: "safety", priority: "high", bypassBreaker: true },
            {},
          ),
      );
    } catch (error) {
      log.error("Follow-up drive_stop {n} could not be sent: {error}", {
        n,
        error: describe(error),
      });
    }
  }

  #onNotification(
    link: RvrLink,
    name: NotificationName,
    values: unknown,
    node: NodeId,
  ): void {
    const v = values as Record<string, unknown>;
    // Streaming data reaches the bus decoded, as "robot.sample" (src/robot/sensors.ts).
    if (name !== "streaming_service_data_notify") {
      this.#bus.publish("robot.notification", { name, node, values: v, at: Date.now() });
    }
    switch (name) {
      case "robot_has_stopped_notify":
        if (this.#links.peek() === link && this.#stopGuard.confirm()) {
          log.debug("The robot reports it stopped");
        }
        break;
      case "motor_stall_notify": {
        const side = v.motor_index === 0
          ? "left"
          : v.motor_index === 1
          ? "right"
          : `#${String(v.motor_index)}`;
        if (v.is_triggered === true) {
          void this.#autoStop(
            "stall",
            "stall",
            `The ${side} motor stalled: the robot was stopped. Clear the obstacle before driving again.`,
            { motor: side },
            link,
          );
        } else {
          this.#safety.report("stall", `Stall protection of the ${side} motor released.`, {
            motor: side,
          });
        }
        break;
      }
      case "motor_fault_notify": {
        const isFault = v.is_fault === true;
        this.#safety.setMotorFault(isFault);
        if (isFault) {
          void this.#autoStop(
            "motor_fault",
            "motor_fault",
            "The motor driver reported a fault: the robot was stopped. Check the motors and wheels.",
            {},
            link,
          );
        } else {
          this.#safety.report("motor_fault", "The motor driver fault cleared.");
        }
        break;
      }
      case "motor_thermal_protection_status_notify": {
        const left = {
          temperatureC: v.left_motor_temperature as number,
          status: v.left_motor_status as number,
        };
        const right = {
          temperatureC: v.right_motor_temperature as number,
          status: v.right_motor_status as number,
        };
        this.#metrics.motorTemperatureCelsius.set({ motor: "left" }, left.temperatureC);
        this.#metrics.motorTemperatureCelsius.set({ motor: "right" }, right.temperatureC);
        const label = (s: number) => (s === 2 ? "critical" : s === 1 ? "warn" : "ok");
        const summary = `left ${label(left.status)} ${left.temperatureC.toFixed(1)} C, right ${
          label(right.status)
        } ${right.temperatureC.toFixed(1)} C`;
        if (left.status === 2 || right.status === 2) {
          void this.#autoStop(
            "thermal",
            "thermal",
            `Motor thermal protection critical (${summary}): the robot was stopped. Let the motors cool down.`,
            { left, right },
            link,
          );
        } else {
          this.#safety.report("thermal", `Motor thermal protection status: ${summary}.`, {
            left,
            right,
          });
        }
        break;
      }
      case "battery_voltage_state_change_notify":
        this.#onBatteryState(v.state as number, link, "notification");
        break;
    }
  }

  /** Records a battery voltage state (0-3); critical stops the robot and blocks movement. */
  #onBatteryState(code: number, link: RvrLink, how: string): BatteryState {
    const batteryState = BATTERY_STATES[code] ?? "unknown";
    if (BATTERY_STATES[code] === undefined) {
      log.warn("Unknown battery voltage state {code} ({how}); recorded as unknown", { code, how });
    }
    const change = this.#safety.setBatteryState(batteryState);
    if (change === "critical") {
      void this.#autoStop(
        "battery_critical",
        "battery",
        "Battery critical: the robot was stopped and movement is blocked until the battery recovers. " +
          "Charge or swap the battery.",
        { batteryState, how },
        link,
      );
    } else if (change === "recovered") {
      this.#safety.report(
        "battery",
        `Battery no longer critical (${batteryState}): movement is allowed again.`,
        { batteryState, how },
      );
    }
    return batteryState;
  }
}
