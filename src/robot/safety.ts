/**
 * Safety rules of the robot layer, in one place: the speed limit, the auto-stop watchdog, the
 * emergency-stop latch and the battery-critical block. `Rvr` consults it for every movement
 * command; it sends nothing itself (the watchdog calls the handler `Rvr` registers).
 *
 * - **Speed limit** (`speedLimitPercent`, RVR_MAX_SPEED_PERCENT, default 50, 0-100): a cap, not
 *   a scale. A movement command whose speed stays within `percent` of full scale goes out
 *   unchanged; one above it is reduced to the cap. Commands with two speed values (raw motors,
 *   tank, RC) have both scaled by the same factor, so the turn ratio is kept. Full scale per field
 *   ({@link LIMIT_RULES}): 255 for `drive_with_heading` speed and raw motor duty; 127 for
 *   normalised values; {@link TOP_SPEED_MPS} (1.555 m/s, the tread top speed of section 9.4) for
 *   SI velocities, so one percentage means the same physical speed in every command;
 *   {@link MAX_YAW_RATE_DPS} (624 deg/s) for the RC SI yaw rate. Integers are truncated toward
 *   zero and SI values rounded toward zero to the f32 that goes on the wire, so the applied value
 *   never exceeds the cap. 100 turns the limit off. Commands without a speed (IR follow/evade,
 *   magnetometer calibration) are not limited. {@link Safety.limit} reports requested vs applied.
 * - **Watchdog** (`commandTimeoutS`, RVR_COMMAND_TIMEOUT, default 5, 0 disables): re-armed by
 *   every movement command as it is sent ({@link Safety.kickWatchdog}); when it runs out the
 *   registered handler ({@link Safety.onWatchdog}) stops the robot. Every stop disarms it.
 * - **Emergency stop latch** (kept in the StateStore): while latched, {@link Safety.checkMovement}
 *   throws `EmergencyStopActiveError` ("emergency stop is active: call clear_emergency_stop
 *   first ..."). Clearing only releases the latch; nothing resumes.
 * - **Battery critical** (battery voltage state 3, kept in the StateStore): movement throws
 *   {@link BatteryCriticalError} until the state leaves critical.
 *
 * Events go to the bus topic "safety" ({@link SafetyEvent}); counters to `Metrics`
 * (rvr_safety_*); logs to `getLogger(["rvr", "safety"])`.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { type BatteryState, EmergencyStopActiveError, type StateStore } from "../core/mod.ts";
import type { Metrics } from "../core/metrics.ts";
import type { RequestName, RequestOf } from "../protocol/mod.ts";
import type { RobotBus, SafetyEventType } from "./events.ts";

const log = getLogger(["rvr", "safety"]);

export const DEFAULT_SPEED_LIMIT_PERCENT = 50;
export const DEFAULT_COMMAND_TIMEOUT_S = 5;
/** Tread top speed (rvr-protocol.md section 9.4, SDK samples): full scale of SI velocities. */
export const TOP_SPEED_MPS = 1.555;
/** Largest SI yaw rate (section 9.4): full scale of drive_rc_si_units yaw rate. */
export const MAX_YAW_RATE_DPS = 624;

/** The start of the message of every `EmergencyStopActiveError` the safety layer throws. */
export const ESTOP_ACTIVE_MESSAGE = "emergency stop is active: call clear_emergency_stop first";

/** Drive commands that keep the robot moving until the next one (they supersede each other). */
export const CONTINUOUS_DRIVE_COMMANDS = [
  "raw_motors",
  "drive_with_heading",
  "drive_tank_si_units",
  "drive_tank_normalized",
  "drive_rc_si_units",
  "drive_rc_normalized",
  "drive_with_yaw_si",
  "drive_with_yaw_normalized",
] as const;
export type ContinuousDriveCommand = typeof CONTINUOUS_DRIVE_COMMANDS[number];

/** Movement commands with a speed the limit applies to. */
export const SPEED_LIMITED_COMMANDS = [
  ...CONTINUOUS_DRIVE_COMMANDS,
  "drive_to_position_si",
  "drive_to_position_normalized",
] as const;
export type SpeedLimitedCommand = typeof SPEED_LIMITED_COMMANDS[number];

/**
 * Every command that makes the robot move: refused while the e-stop is latched or the battery is
 * critical, cancelled in the queue by an emergency stop, re-arms the watchdog.
 */
export const MOVEMENT_COMMANDS = [
  ...SPEED_LIMITED_COMMANDS,
  "start_robot_to_robot_infrared_following",
  "start_robot_to_robot_infrared_evading",
  "magnetometer_calibrate_to_north",
] as const;
export type MovementCommand = typeof MOVEMENT_COMMANDS[number];

export function isMovementCommand(name: string): name is MovementCommand {
  return (MOVEMENT_COMMANDS as readonly string[]).includes(name);
}

export function isContinuousDriveCommand(name: string): name is ContinuousDriveCommand {
  return (CONTINUOUS_DRIVE_COMMANDS as readonly string[]).includes(name);
}

export function isSpeedLimitedCommand(name: string): name is SpeedLimitedCommand {
  return (SPEED_LIMITED_COMMANDS as readonly string[]).includes(name);
}

/** Who latched an emergency stop: an MCP tool, the HTTP dashboard, or code using the API. */
export const ESTOP_SOURCES = ["tool", "http", "api"] as const;
export type EstopSource = typeof ESTOP_SOURCES[number];

/**
 * Why the server stopped the robot on its own before exiting or losing the link. The client going
 * away: stdin_eof, stdout_closed (a write to stdout failed: EPIPE), sighup; asked to stop: sigint,
 * sigterm; uncaught_error: the last resort for an error nothing caught (the process then exits 1).
 */
export const SHUTDOWN_REASONS = [
  "stdin_eof",
  "stdout_closed",
  "sigint",
  "sigterm",
  "sighup",
  "uncaught_error",
  "link_loss",
  "disconnect",
] as const;
export type ShutdownReason = typeof SHUTDOWN_REASONS[number];

/** Why the server stopped the robot on its own (the `reason` label of rvr_safety_auto_stops_total). */
export const AUTO_STOP_REASONS = [
  "watchdog",
  "stall",
  "motor_fault",
  "thermal",
  "battery_critical",
  ...SHUTDOWN_REASONS,
] as const;
export type AutoStopReason = typeof AUTO_STOP_REASONS[number];

/** One speed field of a command and its full scale. */
export interface LimitedField {
  readonly field: string;
  readonly fullScale: number;
  /** Integer field (truncated toward zero) or f32 (rounded toward zero). */
  readonly integer: boolean;
  readonly unit: string;
}

/** Speed fields per command; fields of one command are scaled together. */
export const LIMIT_RULES: { readonly [C in SpeedLimitedCommand]: readonly LimitedField[] } = {
  drive_with_heading: [{ field: "speed", fullScale: 255, integer: true, unit: "of 255" }],
  raw_motors: [
    { field: "left_duty_cycle", fullScale: 255, integer: true, unit: "of 255" },
    { field: "right_duty_cycle", fullScale: 255, integer: true, unit: "of 255" },
  ],
  drive_tank_si_units: [
    { field: "left_velocity", fullScale: TOP_SPEED_MPS, integer: false, unit: "m/s" },
    { field: "right_velocity", fullScale: TOP_SPEED_MPS, integer: false, unit: "m/s" },
  ],
  drive_tank_normalized: [
    { field: "left_velocity", fullScale: 127, integer: true, unit: "of 127" },
    { field: "right_velocity", fullScale: 127, integer: true, unit: "of 127" },
  ],
  drive_rc_si_units: [
    { field: "linear_velocity", fullScale: TOP_SPEED_MPS, integer: false, unit: "m/s" },
    { field: "yaw_angular_velocity", fullScale: MAX_YAW_RATE_DPS, integer: false, unit: "deg/s" },
  ],
  drive_rc_normalized: [
    { field: "linear_velocity", fullScale: 127, integer: true, unit: "of 127" },
    { field: "yaw_angular_velocity", fullScale: 127, integer: true, unit: "of 127" },
  ],
  drive_with_yaw_si: [
    { field: "linear_velocity", fullScale: TOP_SPEED_MPS, integer: false, unit: "m/s" },
  ],
  drive_with_yaw_normalized: [
    { field: "linear_velocity", fullScale: 127, integer: true, unit: "of 127" },
  ],
  drive_to_position_si: [
    { field: "linear_speed", fullScale: TOP_SPEED_MPS, integer: false, unit: "m/s" },
  ],
  drive_to_position_normalized: [
    { field: "linear_speed", fullScale: 127, integer: true, unit: "of 127" },
  ],
};

/** What the speed limit did to one command. */
export interface LimitResult<N extends RequestName = RequestName> {
  /** The parameters to send (the requested ones with the speed fields capped). */
  readonly params: RequestOf<N>;
  /** The speed fields as requested, field name to value. Empty for commands without speed. */
  readonly requested: Readonly<Record<string, number>>;
  /** The speed fields as they go on the wire. */
  readonly applied: Readonly<Record<string, number>>;
  /** True when any speed field was reduced. */
  readonly limited: boolean;
  /** The limit in force. */
  readonly speedLimitPercent: number;
}

/** Movement refused because the battery voltage state is critical. */
export class BatteryCriticalError extends Error {
  override name = "BatteryCriticalError";
  readonly commandName: string;
  /** Last known charge 0-100, or null. */
  readonly batteryPercent: number | null;

  constructor(commandName: string, batteryPercent: number | null) {
    const charge = batteryPercent === null ? "" : ` (${batteryPercent} % left)`;
    super(
      `battery is critical: command "${commandName}" was refused${charge}. Driving on a critical ` +
        `battery can brown the robot out mid-move. Charge or swap the battery; movement is ` +
        `allowed again as soon as the robot reports the battery state is no longer critical.`,
    );
    this.commandName = commandName;
    this.batteryPercent = batteryPercent;
  }
}

/** The e-stop error with the safety layer's message (the tool to call comes first). */
function emergencyStopError(
  commandName: string,
  reason: string,
  latchedAt: number,
): EmergencyStopActiveError {
  const error = new EmergencyStopActiveError(commandName, reason, latchedAt);
  error.message = `${ESTOP_ACTIVE_MESSAGE}: command "${commandName}" was refused (latched at ` +
    `${new Date(latchedAt).toISOString()}: ${reason}). Clearing it does not resume anything; ` +
    `send the movement again afterwards.`;
  return error;
}

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** The f32 nearest to `x` whose magnitude is not larger than |x|. */
function f32TowardZero(x: number): number {
  f32[0] = x;
  if (Math.abs(f32[0]) > Math.abs(x)) f32Bits[0] -= 1;
  return f32[0];
}

export interface SafetyOptions {
  bus: RobotBus;
  state: StateStore;
  metrics: Metrics;
  /** 0-100; default 50 (RVR_MAX_SPEED_PERCENT). 100 = no limit. */
  speedLimitPercent?: number;
  /** Seconds >= 0; default 5 (RVR_COMMAND_TIMEOUT). 0 disables the watchdog. */
  commandTimeoutS?: number;
}

export interface SafetyStatus {
  readonly speedLimitPercent: number;
  readonly commandTimeoutS: number;
  readonly estop: {
    readonly latched: boolean;
    readonly reason: string | null;
    /** Epoch ms, or null when not latched. */
    readonly latchedAt: number | null;
  };
  readonly battery: {
    readonly state: BatteryState;
    readonly percent: number | null;
    /** True while movement is blocked by the battery. */
    readonly critical: boolean;
  };
  readonly motorFault: boolean;
  readonly watchdog: {
    /** commandTimeoutS > 0. */
    readonly enabled: boolean;
    readonly armed: boolean;
    /** Epoch ms when it fires, or null when not armed. */
    readonly expiresAt: number | null;
  };
  /** The last stop the server made on its own. */
  readonly lastAutoStop: {
    readonly reason: AutoStopReason;
    readonly detail: string;
    readonly at: number;
  } | null;
}

function checkSpeedLimit(percent: unknown): number {
  if (typeof percent !== "number" || !Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new RangeError(
      `speedLimitPercent must be a number from 0 to 100 (RVR_MAX_SPEED_PERCENT), got ${
        String(percent)
      }; 100 turns the limit off, the default is ${DEFAULT_SPEED_LIMIT_PERCENT}.`,
    );
  }
  return percent;
}

function checkCommandTimeout(seconds: unknown): number {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
    throw new RangeError(
      `commandTimeoutS must be a number of seconds >= 0 (RVR_COMMAND_TIMEOUT), got ${
        String(seconds)
      }; 0 disables the auto-stop watchdog, the default is ${DEFAULT_COMMAND_TIMEOUT_S}.`,
    );
  }
  return seconds;
}

export class Safety {
  readonly #bus: RobotBus;
  readonly #state: StateStore;
  readonly #metrics: Metrics;
  #speedLimitPercent: number;
  #commandTimeoutS: number;
  #watchdogTimer: ReturnType<typeof setTimeout> | undefined;
  #watchdogHolds = 0;
  #watchdogExpiresAt: number | null = null;
  #watchdogHandlers: (() => void)[] = [];
  #lastAutoStop: SafetyStatus["lastAutoStop"] = null;

  constructor(options: SafetyOptions) {
    this.#bus = options.bus;
    this.#state = options.state;
    this.#metrics = options.metrics;
    this.#speedLimitPercent = checkSpeedLimit(
      options.speedLimitPercent ?? DEFAULT_SPEED_LIMIT_PERCENT,
    );
    this.#commandTimeoutS = checkCommandTimeout(
      options.commandTimeoutS ?? DEFAULT_COMMAND_TIMEOUT_S,
    );
    this.#metrics.speedLimitPercent.set(this.#speedLimitPercent);
    this.#metrics.estopLatched.set(this.#state.safety.estopLatched ? 1 : 0);
  }

  get speedLimitPercent(): number {
    return this.#speedLimitPercent;
  }

  /** Changes the speed limit for later commands; RangeError outside 0-100. */
  setSpeedLimitPercent(percent: number): void {
    this.#speedLimitPercent = checkSpeedLimit(percent);
    this.#metrics.speedLimitPercent.set(percent);
    log.info("Speed limit set to {percent} %", { percent });
  }

  get commandTimeoutS(): number {
    return this.#commandTimeoutS;
  }

  /** Changes the watchdog timeout (0 disables it); an armed watchdog is re-armed with it. */
  setCommandTimeoutS(seconds: number): void {
    this.#commandTimeoutS = checkCommandTimeout(seconds);
    log.info("Auto-stop watchdog set to {seconds} s", { seconds });
    if (this.#watchdogTimer !== undefined) this.kickWatchdog();
  }

  get estopLatched(): boolean {
    return this.#state.safety.estopLatched;
  }

  get batteryCritical(): boolean {
    return this.#state.safety.batteryCritical;
  }

  /**
   * Throws when `command` (a movement command) may not run now: `EmergencyStopActiveError` while
   * the e-stop is latched, {@link BatteryCriticalError} while the battery is critical. Counts each
   * refusal (rvr_safety_rejected_commands_total).
   */
  checkMovement(command: string): void {
    const s = this.#state.safety;
    if (s.estopLatched) {
      this.#metrics.safetyRejectionsTotal.inc({ reason: "estop" });
      log.info("Refused {command}: emergency stop latched", { command });
      throw emergencyStopError(command, s.estopReason ?? "emergency stop", s.estopLatchedAt ?? 0);
    }
    if (s.batteryCritical) {
      this.#metrics.safetyRejectionsTotal.inc({ reason: "battery_critical" });
      log.info("Refused {command}: battery critical", { command });
      throw new BatteryCriticalError(command, s.batteryPercent);
    }
  }

  /**
   * Applies the speed limit to `params` of `command` (see the module doc). Commands without a
   * speed field come back unchanged with `limited: false`. A limited command is counted
   * (rvr_safety_limited_commands_total) and announced as a "limited" safety event. Throws
   * TypeError when a speed field is not a finite number.
   */
  limit<N extends RequestName>(command: N, params: RequestOf<N>): LimitResult<N> {
    const percent = this.#speedLimitPercent;
    if (!isSpeedLimitedCommand(command)) {
      return { params, requested: {}, applied: {}, limited: false, speedLimitPercent: percent };
    }
    const rules = LIMIT_RULES[command];
    const values = params as unknown as Record<string, unknown>;
    const requested: Record<string, number> = {};
    let factor = 1;
    for (const rule of rules) {
      const v = values[rule.field];
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new TypeError(
          `${command}.${rule.field} must be a finite number (${rule.unit}), got ${String(v)}.`,
        );
      }
      requested[rule.field] = v;
      const cap = (rule.fullScale * percent) / 100;
      if (Math.abs(v) > cap) factor = Math.min(factor, cap / Math.abs(v));
    }
    if (factor >= 1 || percent >= 100) {
      return {
        params,
        requested,
        applied: { ...requested },
        limited: false,
        speedLimitPercent: percent,
      };
    }
    const applied: Record<string, number> = {};
    for (const rule of rules) {
      const scaled = requested[rule.field] * factor;
      applied[rule.field] = rule.integer ? Math.trunc(scaled) : f32TowardZero(scaled);
      // -0 would encode fine but reads oddly in reports.
      if (Object.is(applied[rule.field], -0)) applied[rule.field] = 0;
    }
    const limitedParams = { ...values, ...applied } as unknown as RequestOf<N>;
    this.#metrics.limitedCommandsTotal.inc({ command });
    const detail = `${command} reduced to the ${percent} % speed limit: ` +
      rules.map((r) => `${r.field} ${requested[r.field]} -> ${applied[r.field]} ${r.unit}`).join(
        ", ",
      ) + ".";
    log.debug(detail);
    this.report("limited", detail, { command, requested, applied, speedLimitPercent: percent });
    return { params: limitedParams, requested, applied, limited: true, speedLimitPercent: percent };
  }

  /**
   * Registers the function called when the watchdog runs out (it should stop the robot).
   * Returns a function that unregisters it.
   */
  onWatchdog(handler: () => void): () => void {
    this.#watchdogHandlers = [...this.#watchdogHandlers, handler];
    return () => {
      this.#watchdogHandlers = this.#watchdogHandlers.filter((h) => h !== handler);
    };
  }

  /**
   * Suspends the watchdog while a tracked move runs: such a move is supervised by its own
   * timeout (derived from distance and speed) and stops the robot itself, but sends no movement
   * command the watchdog could see. Returns the release; the last release re-arms the watchdog.
   */
  holdWatchdog(reason: string): () => void {
    this.#watchdogHolds++;
    this.#clearWatchdogTimer();
    log.debug("Watchdog held ({reason})", { reason, holds: this.#watchdogHolds });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#watchdogHolds--;
      if (this.#watchdogHolds === 0) this.kickWatchdog();
    };
  }

  /** (Re-)arms the watchdog for `commandTimeoutS` from now; does nothing when it is disabled or held. */
  kickWatchdog(): void {
    this.#clearWatchdogTimer();
    if (this.#commandTimeoutS === 0 || this.#watchdogHolds > 0) return;
    const ms = this.#commandTimeoutS * 1000;
    this.#watchdogExpiresAt = Date.now() + ms;
    this.#watchdogTimer = setTimeout(() => this.#watchdogFired(ms), ms);
  }

  /** Disarms the watchdog (the robot was stopped). */
  disarmWatchdog(): void {
    this.#clearWatchdogTimer();
  }

  get watchdogArmed(): boolean {
    return this.#watchdogTimer !== undefined;
  }

  /**
   * Latches the emergency stop; returns false if it already was (the first reason is kept).
   * Every call is counted by source; the watchdog is disarmed.
   */
  latchEstop(source: EstopSource, reason: string): boolean {
    if (!(ESTOP_SOURCES as readonly string[]).includes(source)) {
      throw new RangeError(
        `Emergency stop source must be one of ${ESTOP_SOURCES.join(", ")}, got ${String(source)}.`,
      );
    }
    this.#metrics.emergencyStopsTotal.inc({ source });
    this.disarmWatchdog();
    const latched = this.#state.latchEstop(reason);
    this.#metrics.estopLatched.set(1);
    if (latched) {
      this.report(
        "estop",
        `Emergency stop latched (${reason}): drive_stop went out on the emergency path and ` +
          `movement is refused until clear_emergency_stop.`,
        { source, reason },
      );
    }
    return latched;
  }

  /** Releases the emergency stop; returns false if it was not latched. Resumes nothing. */
  clearEstop(reason = "cleared"): boolean {
    const released = this.#state.releaseEstop(reason);
    this.#metrics.estopLatched.set(0);
    if (released) {
      this.report(
        "estop_cleared",
        `Emergency stop cleared (${reason}); nothing was resumed, movement commands are accepted again.`,
        { reason },
      );
    }
    return released;
  }

  /**
   * Records a battery voltage state. Returns "critical" when it just became critical (movement
   * is now blocked), "recovered" when it just left critical, else null. The caller stops the
   * robot and announces it.
   */
  setBatteryState(batteryState: BatteryState): "critical" | "recovered" | null {
    const wasCritical = this.#state.safety.batteryCritical;
    this.#state.updateSafety({ batteryState }, { reason: `battery state ${batteryState}` });
    const isCritical = this.#state.safety.batteryCritical;
    if (isCritical && !wasCritical) {
      log.warn("Battery critical: movement blocked");
      return "critical";
    }
    if (!isCritical && wasCritical) {
      log.info("Battery left critical ({state}): movement allowed again", { state: batteryState });
      return "recovered";
    }
    return null;
  }

  /** Records the battery charge (0-100). */
  setBatteryPercent(percent: number): void {
    this.#state.updateSafety({ batteryPercent: percent });
    this.#metrics.batteryPercent.set(percent);
  }

  /** Records the motor driver's fault flag. */
  setMotorFault(isFault: boolean): void {
    this.#state.updateSafety({ motorFault: isFault }, {
      reason: isFault ? "motor fault" : "motor fault cleared",
    });
  }

  /**
   * Records a stop the server made on its own: counted by reason
   * (rvr_safety_auto_stops_total), remembered for status(), and announced as a `type` event.
   */
  noteAutoStop(
    reason: AutoStopReason,
    type: SafetyEventType,
    detail: string,
    data: Record<string, unknown> = {},
  ): void {
    this.#metrics.autoStopsTotal.inc({ reason });
    const at = Date.now();
    this.#lastAutoStop = { reason, detail, at };
    log.warn("Auto-stop ({reason}): {detail}", { reason, detail });
    this.report(type, detail, { reason, ...data });
  }

  /** Publishes a safety event on the bus. */
  report(type: SafetyEventType, detail: string, data?: Record<string, unknown>): void {
    this.#bus.publish(
      "safety",
      data === undefined
        ? { type, detail, at: Date.now() }
        : { type, detail, at: Date.now(), data },
    );
  }

  /** A snapshot of the safety state. */
  status(): SafetyStatus {
    const s = this.#state.safety;
    return {
      speedLimitPercent: this.#speedLimitPercent,
      commandTimeoutS: this.#commandTimeoutS,
      estop: { latched: s.estopLatched, reason: s.estopReason, latchedAt: s.estopLatchedAt },
      battery: { state: s.batteryState, percent: s.batteryPercent, critical: s.batteryCritical },
      motorFault: s.motorFault,
      watchdog: {
        enabled: this.#commandTimeoutS > 0,
        armed: this.#watchdogTimer !== undefined,
        expiresAt: this.#watchdogExpiresAt,
      },
      lastAutoStop: this.#lastAutoStop,
    };
  }

  /** Clears the watchdog timer. */
  dispose(): void {
    this.#clearWatchdogTimer();
    this.#watchdogHandlers = [];
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #clearWatchdogTimer(): void {
    if (this.#watchdogTimer !== undefined) {
      clearTimeout(this.#watchdogTimer);
      this.#watchdogTimer = undefined;
    }
    this.#watchdogExpiresAt = null;
  }

  #watchdogFired(ms: number): void {
    this.#watchdogTimer = undefined;
    this.#watchdogExpiresAt = null;
    log.warn("No movement command for {ms} ms: the watchdog stops the robot", { ms });
    if (this.#watchdogHandlers.length === 0) {
      log.error("Watchdog ran out but no stop handler is registered; nothing was sent");
      return;
    }
    for (const handler of this.#watchdogHandlers) {
      try {
        handler();
      } catch (error) {
        log.error("Watchdog stop handler threw: {error}", { error });
      }
    }
  }
}
