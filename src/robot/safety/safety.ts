/**
 * Safety rules of the robot layer, in one place: the speed limit (speed_limit.ts), the auto-stop
 * watchdog (watchdog.ts), the emergency-stop latch and the battery-critical block. `Rvr` consults
 * it for every movement command; it sends nothing itself (the watchdog calls the handler `Rvr`
 * registers).
 *
 * - **Emergency stop latch** (kept in the StateStore): while latched, {@link Safety.checkMovement}
 *   throws `EmergencyStopActiveError` ("emergency stop is active: call clear_emergency_stop
 *   first ..."). Clearing only releases the latch; nothing resumes. Who latched it, and who may
 *   release it (a person's stop needs their accept for the model to clear it), is estop_latch.ts.
 * - **Battery critical** (battery voltage state 3, kept in the StateStore): movement throws
 *   {@link BatteryCriticalError} until the state leaves critical.
 *
 * Events go to the bus topic "safety" ({@link SafetyEvent}); counters to `Metrics`
 * (rvr_safety_*); logs to `getLogger(["rvr", "safety"])`.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RobotMetrics } from "../metrics.ts";
import type { RequestName, RequestOf } from "../../protocol/mod.ts";
import { BatteryCriticalError, emergencyStopError } from "../errors.ts";
import type { RobotBus, SafetyEventType } from "../events.ts";
import { ApprovalPolicy, DEFAULT_APPROVAL_POLICY } from "./approval.ts";
import { type ClearEstopOptions, EstopLatch, type EstopStatus } from "./estop_latch.ts";
import type { AutoStopReason, EstopActor, EstopSource } from "./reasons.ts";
import {
  applySpeedLimit,
  checkSpeedLimit,
  DEFAULT_SPEED_LIMIT_PERCENT,
  describeLimit,
  isSpeedLimitedCommand,
  type LimitResult,
} from "./speed_limit.ts";
import { Watchdog } from "./watchdog.ts";
import type { BatteryState, StateStore } from "../state.ts";

const log = getLogger(["rvr", "safety"]);

export interface SafetyOptions {
  bus: RobotBus;
  state: StateStore;
  metrics: RobotMetrics;
  /** 0-100; default 50 (RVR_MAX_SPEED_PERCENT). 100 = no limit. */
  speedLimitPercent?: number;
  /** Seconds >= 0; default 5 (RVR_COMMAND_TIMEOUT). 0 disables the watchdog. */
  commandTimeoutS?: number;
  /** What needs a person's approval (RVR_APPROVAL); default: the model clearing a person's e-stop. */
  approval?: ApprovalPolicy;
}

export interface SafetyStatus {
  readonly speedLimitPercent: number;
  readonly commandTimeoutS: number;
  /** The latch, who holds it and whether the model needs a person's accept to clear it. */
  readonly estop: EstopStatus;
  /** What needs a person's approval (RVR_APPROVAL). */
  readonly approval: ApprovalPolicy;
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

export class Safety {
  readonly #bus: RobotBus;
  readonly #state: StateStore;
  readonly #metrics: RobotMetrics;
  #speedLimitPercent: number;
  readonly #watchdog: Watchdog;
  #lastAutoStop: SafetyStatus["lastAutoStop"] = null;
  readonly #approval: ApprovalPolicy;
  readonly #estop: EstopLatch;

  constructor(options: SafetyOptions) {
    this.#bus = options.bus;
    this.#state = options.state;
    this.#metrics = options.metrics;
    this.#speedLimitPercent = checkSpeedLimit(
      options.speedLimitPercent ?? DEFAULT_SPEED_LIMIT_PERCENT,
    );
    this.#watchdog = new Watchdog(options.commandTimeoutS);
    this.#metrics.speedLimitPercent.set(this.#speedLimitPercent);
    const approval = options.approval ?? DEFAULT_APPROVAL_POLICY;
    if (!(approval instanceof ApprovalPolicy)) {
      throw new TypeError(
        `approval must be an ApprovalPolicy (see parseApprovalPolicy), got ${String(approval)}.`,
      );
    }
    this.#approval = approval;
    this.#estop = new EstopLatch({
      state: this.#state,
      metrics: this.#metrics,
      approval,
      beforeLatch: () => this.disarmWatchdog(),
      report: (type, detail, data) => this.report(type, detail, data),
    });
  }

  /** What needs a person's approval (RVR_APPROVAL). */
  get approval(): ApprovalPolicy {
    return this.#approval;
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
    return this.#watchdog.timeoutS;
  }

  /** Changes the watchdog timeout (0 disables it); an armed watchdog is re-armed with it. */
  setCommandTimeoutS(seconds: number): void {
    this.#watchdog.setTimeoutS(seconds);
  }

  get estopLatched(): boolean {
    return this.#state.safety.estopLatched;
  }

  /** Who holds the e-stop latch (a person, the model, code), or null when it is not latched. */
  get estopLatchedBy(): EstopActor | null {
    return this.#estop.latchedBy;
  }

  /**
   * True when `by` may clear the latched e-stop only with a person's accept: the model clearing a
   * stop a person latched, unless RVR_APPROVAL is `none`.
   */
  clearNeedsApproval(by: EstopActor): boolean {
    return this.#estop.clearNeedsApproval(by);
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
    const result = applySpeedLimit(command, params, this.#speedLimitPercent);
    if (!result.limited || !isSpeedLimitedCommand(command)) return result;
    this.#metrics.limitedCommandsTotal.inc({ command });
    const detail = describeLimit(command, result);
    log.debug(detail);
    const { requested, applied, speedLimitPercent } = result;
    this.report("limited", detail, { command, requested, applied, speedLimitPercent });
    return result;
  }

  /**
   * Registers the function called when the watchdog runs out (it should stop the robot).
   * Returns a function that unregisters it.
   */
  onWatchdog(handler: () => void): () => void {
    return this.#watchdog.onFire(handler);
  }

  /**
   * Suspends the watchdog while a tracked move runs: such a move is supervised by its own
   * timeout (derived from distance and speed) and stops the robot itself, but sends no movement
   * command the watchdog could see. Returns the release; the last release re-arms the watchdog.
   */
  holdWatchdog(reason: string): () => void {
    return this.#watchdog.hold(reason);
  }

  /** (Re-)arms the watchdog for `commandTimeoutS` from now; does nothing when it is disabled or held. */
  kickWatchdog(): void {
    this.#watchdog.kick();
  }

  /** Disarms the watchdog (the robot was stopped). */
  disarmWatchdog(): void {
    this.#watchdog.disarm();
  }

  get watchdogArmed(): boolean {
    return this.#watchdog.armed;
  }

  /**
   * Latches the emergency stop; returns false if it already was (the first reason is kept; a
   * person's press takes the latch over). Every call is counted by source; the watchdog is
   * disarmed. RangeError for an unknown source.
   */
  latchEstop(source: EstopSource, reason: string): boolean {
    return this.#estop.latch(source, reason);
  }

  /**
   * Releases the emergency stop; returns false if it was not latched. Resumes nothing. `by`
   * "model" needs `approval: "accept"` for a person's stop, else ApprovalRefusedError (see
   * estop_latch.ts).
   */
  clearEstop(reason = "cleared", options: ClearEstopOptions = {}): boolean {
    return this.#estop.clear(reason, options);
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
      commandTimeoutS: this.#watchdog.timeoutS,
      estop: this.#estop.status(),
      battery: { state: s.batteryState, percent: s.batteryPercent, critical: s.batteryCritical },
      motorFault: s.motorFault,
      watchdog: {
        enabled: this.#watchdog.timeoutS > 0,
        armed: this.#watchdog.armed,
        expiresAt: this.#watchdog.expiresAt,
      },
      lastAutoStop: this.#lastAutoStop,
      approval: this.#approval,
    };
  }

  /** Clears the watchdog timer. */
  dispose(): void {
    this.#watchdog.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
