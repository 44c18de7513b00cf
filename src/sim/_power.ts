/**
 * Power states of the simulated RVR: awake or soft sleep, the inactivity countdown and the wake
 * latency.
 *
 * - Soft sleep: api_and_shell (echo), system_info, power and connection answer as usual, as do
 *   the commands that only switch things off (stop/clear streaming,
 *   disable_notifications_and_active_commands, release_led_requests, drive_stop,
 *   drive_stop_custom_decel). Everything else answers target_unavailable 0x0A. Only `wake` wakes
 *   the robot. Going to sleep runs the robot's `onSleep` (halt, streaming, colour, IR, LEDs off)
 *   and sends did_sleep_notify (after the sleep command's own reply).
 * - Inactivity: every packet with the activity flag 0x08 restarts the countdown (only while
 *   awake). will_sleep_notify WILL_SLEEP_LEAD_MS before the timeout, then did_sleep_notify and
 *   soft sleep. A sleep command sends no will_sleep.
 * - Wake latency (faults.wakeLatencyMs): after `wake`, drive commands answer target_unavailable
 *   until ready; a wake that asked for a reply is answered when ready (at once when already so).
 */
import { getLogger } from "@logtape/logtape";
import { type CommandDef, ErrorCode } from "../protocol/mod.ts";
import {
  CommandError,
  type Guard,
  type NotifyHost,
  type RequestContext,
  type TimerId,
} from "./context.ts";
import type { FaultSettings } from "./faults.ts";

const log = getLogger(["rvr", "sim"]);

/** will_sleep_notify comes this long before the robot sleeps (sec. 7). */
export const WILL_SLEEP_LEAD_MS = 10_000;

export const POWER_STATES = ["awake", "soft_sleep"] as const;
export type PowerState = (typeof POWER_STATES)[number];

/** Devices that answer while the robot is in soft sleep. */
const DEVICES_AWAKE_IN_SLEEP = new Set([0x10, 0x11, 0x13, 0x19]);
/** Commands of other devices that still answer in soft sleep (they only switch things off). */
const COMMANDS_ALLOWED_IN_SLEEP = new Set<string>([
  "stop_streaming_service",
  "clear_streaming_service",
  "disable_notifications_and_active_commands",
  "release_led_requests",
  "drive_stop",
  "drive_stop_custom_decel",
]);
const DRIVE_DID = 0x16;

export interface PowerOptions {
  readonly name: string;
  /** ms; Infinity = never sleep. */
  readonly inactivityTimeoutMs: number;
  readonly faults: FaultSettings;
  isRunning(): boolean;
  notify: NotifyHost;
  guard: Guard;
  /** Switches the robot's activities off as it goes to sleep. */
  onSleep(): void;
}

export class PowerControl {
  #state: PowerState = "awake";
  #readyAt = 0;
  /** One timer for the countdown, re-armed lazily (see armInactivity). */
  #inactivityTimer: TimerId | undefined;
  /** performance.now() of the last activity: the countdown runs from here. */
  #lastActivity = 0;
  /** will_sleep_notify went out for the current idle period. */
  #warned = false;

  constructor(readonly options: PowerOptions) {}

  get state(): PowerState {
    return this.#state;
  }

  /** False while a wake is still completing (faults.wakeLatencyMs) or asleep. */
  get isReady(): boolean {
    return this.#state === "awake" && performance.now() >= this.#readyAt;
  }

  /** Enters soft sleep without notifications (a robot that sat idle before the host came). */
  startAsleep(): void {
    this.#state = "soft_sleep";
  }

  /** Throws target_unavailable when `def` may not run in the current power state. */
  admit(def: CommandDef): void {
    if (
      this.#state === "soft_sleep" && !DEVICES_AWAKE_IN_SLEEP.has(def.did) &&
      !COMMANDS_ALLOWED_IN_SLEEP.has(def.name)
    ) {
      throw new CommandError(ErrorCode.target_unavailable, `${def.name} while asleep`);
    }
    if (def.did === DRIVE_DID && this.#state === "awake" && performance.now() < this.#readyAt) {
      throw new CommandError(ErrorCode.target_unavailable, `${def.name} while still waking`);
    }
  }

  clearInactivity(): void {
    clearTimeout(this.#inactivityTimer);
    this.#inactivityTimer = undefined;
  }

  /**
   * (Re)starts the inactivity countdown; only while awake and running. Called for every packet,
   * so it only notes the time: one timer, armed when none is, checks on firing how long the robot
   * has really been idle and re-arms for what is left (a timer pair per packet cost a classroom of
   * simulated robots a few percent of its CPU).
   */
  armInactivity(): void {
    const o = this.options;
    if (
      !o.isRunning() || this.#state !== "awake" || !Number.isFinite(o.inactivityTimeoutMs)
    ) {
      this.clearInactivity();
      return;
    }
    this.#lastActivity = performance.now();
    this.#warned = false;
    if (this.#inactivityTimer === undefined) this.#schedule(this.#willSleepAt());
  }

  /** When will_sleep_notify is due, ms after the last activity. */
  #willSleepAt(): number {
    return Math.max(0, this.options.inactivityTimeoutMs - WILL_SLEEP_LEAD_MS);
  }

  #schedule(delayMs: number): void {
    this.#inactivityTimer = setTimeout(() => {
      this.#inactivityTimer = undefined;
      this.#check();
    }, delayMs);
  }

  /** The countdown's timer fired: warn, sleep, or wait for what is left of the idle time. */
  #check(): void {
    const o = this.options;
    if (!o.isRunning() || this.#state !== "awake") return;
    const idle = performance.now() - this.#lastActivity;
    const willAt = this.#willSleepAt();
    if (!this.#warned && idle >= willAt) {
      this.#warned = true;
      o.guard("will_sleep", () => o.notify("will_sleep_notify", {}));
    }
    if (idle >= o.inactivityTimeoutMs) {
      o.guard("inactivity", () => this.sleep("inactivity"));
      return;
    }
    this.#schedule((this.#warned ? o.inactivityTimeoutMs : willAt) - idle);
  }

  sleep(reason: string): void {
    if (this.#state === "soft_sleep") return;
    this.#state = "soft_sleep";
    this.clearInactivity();
    this.options.onSleep();
    log.info("Simulated RVR {name} went to sleep ({reason})", { name: this.options.name, reason });
    this.options.notify("did_sleep_notify", {});
  }

  /** `wake`: awake from now, ready after the wake latency; the reply waits until ready. */
  wake(ctx: RequestContext): void {
    const now = performance.now();
    if (this.#state === "soft_sleep") {
      this.#state = "awake";
      this.#readyAt = now + this.options.faults.wakeLatencyMs;
      this.armInactivity();
      log.info("Simulated RVR {name} woke up (ready in {ms} ms)", {
        name: this.options.name,
        ms: this.options.faults.wakeLatencyMs,
      });
    }
    ctx.replyDelayMs = Math.max(0, this.#readyAt - now);
  }
}
