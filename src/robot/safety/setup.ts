/**
 * The safety set-up of each new link (LinkProvider.onConnected): the robot is asked for motor
 * stall, motor fault, thermal protection and battery voltage state notifications, and the battery
 * is read once; the link's notifications go to {@link SafetyNotifications} until it closes. Steps
 * that failed for a passing reason (no reply, an open circuit) are retried, with growing pauses,
 * while that link is the live one; a link the program closed itself ends its set-up quietly.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { LinkClosedError, RobotError, type RvrLink } from "../../link/mod.ts";
import {
  COMMANDS,
  type NotificationName,
  type RequestName,
  type RequestOf,
  type ResponseOf,
} from "../../protocol/mod.ts";
import type { RobotBus } from "../events.ts";
import type { LinkProvider } from "../link_provider.ts";
import { errorMessage } from "../../core/mod.ts";
import type { Pipeline, RunSpec } from "../_pipeline.ts";
import type { SafetyNotifications } from "./notifications.ts";
import type { Safety } from "./safety.ts";
import type { BatteryState } from "../state.ts";

const log = getLogger(["rvr", "robot"]);

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

/** What is known of the battery from one read: percent (0-100) and/or volts (filtered). */
export interface BatteryReading {
  percent?: number;
  volts?: number;
}

/** Outcome of the safety set-up on a new link. */
export interface SafetySetupReport {
  /** True when every set-up command succeeded. */
  readonly ok: boolean;
  /** "command: message" for each one that failed. */
  readonly failures: readonly string[];
  /** The battery state read at connect, or null if the read failed. */
  readonly batteryState: BatteryState | null;
}

/**
 * Publishes a battery reading as a "robot.sample" with sensor "battery", so telemetry (the
 * dashboard, the recorder) shows it.
 */
export function publishBattery(bus: RobotBus, reading: BatteryReading): void {
  bus.publish("robot.sample", {
    sensor: "battery",
    values: { ...reading },
    valid: true,
    at: Date.now(),
  });
}

/** A set-up step failed for a reason that may pass (no reply, open circuit): worth retrying. */
function isPassing(error: unknown): boolean {
  return !(error instanceof RobotError || error instanceof RangeError ||
    error instanceof TypeError || error instanceof LinkClosedError);
}

export interface SafetySetupOptions {
  pipeline: Pipeline;
  links: LinkProvider;
  bus: RobotBus;
  safety: Safety;
  notifications: SafetyNotifications;
  /** Pauses between retries of a set-up that failed for a passing reason, ms. */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

export class SafetySetup {
  readonly #pipeline: Pipeline;
  readonly #links: LinkProvider;
  readonly #bus: RobotBus;
  readonly #safety: Safety;
  readonly #notifications: SafetyNotifications;
  readonly #retryInitialMs: number;
  readonly #retryMaxMs: number;
  readonly #retries = new Set<ReturnType<typeof setTimeout>>();
  #setUpLinks = new WeakSet<RvrLink>();
  #linkUnsubscribes: (() => void)[] = [];
  #setup: Promise<SafetySetupReport> | undefined;
  #firstSetup = Promise.withResolvers<SafetySetupReport>();
  #disposed = false;

  constructor(options: SafetySetupOptions) {
    this.#pipeline = options.pipeline;
    this.#links = options.links;
    this.#bus = options.bus;
    this.#safety = options.safety;
    this.#notifications = options.notifications;
    this.#retryInitialMs = options.retryInitialMs ?? 1000;
    this.#retryMaxMs = options.retryMaxMs ?? 30_000;
  }

  /** See `Rvr.ready`. */
  ready(): Promise<SafetySetupReport> {
    return this.#setup ?? this.#firstSetup.promise;
  }

  /** A new link: listen to its notifications until it closes, and set it up (once per link). */
  attach(link: RvrLink): void {
    if (this.#disposed || this.#setUpLinks.has(link)) return;
    this.#setUpLinks.add(link);
    const unsubscribes = NOTIFICATION_NAMES.map((name) =>
      link.on(name, (values, meta) => this.#notifications.handle(link, name, values, meta.node))
    );
    let offClose = () => {};
    const release = () => {
      for (const u of unsubscribes) u();
      offClose();
      this.#linkUnsubscribes = this.#linkUnsubscribes.filter((u) => u !== release);
    };
    this.#linkUnsubscribes.push(release);
    offClose = link.onClose(release);
    const setup = this.#setUp(link);
    this.#setup = setup;
    void setup.then((report) => this.#firstSetup.resolve(report));
  }

  /** Turns on the safety notifications; returns "command: message" per failure. */
  async enableNotifications(link: RvrLink): Promise<string[]> {
    return (await this.#enableNotificationsDetailed(link)).failures;
  }

  /** Stops retrying and listening. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const t of this.#retries) clearTimeout(t);
    this.#retries.clear();
    for (const u of this.#linkUnsubscribes) u();
    this.#linkUnsubscribes = [];
  }

  async #enableNotificationsDetailed(
    link: RvrLink,
  ): Promise<{ failures: string[]; errors: unknown[] }> {
    const results = await Promise.allSettled(
      SAFETY_NOTIFY_COMMANDS.map((name) =>
        this.#pipeline.track(
          name,
          () =>
            this.#pipeline.run(
              name,
              { is_enabled: true },
              { kind: "config", priority: "high", link },
              { requestsResponse: true },
            ),
        )
      ),
    );
    const failures: string[] = [];
    const errors: unknown[] = [];
    results.forEach((r, i) => {
      if (r.status === "rejected") {
        failures.push(`${SAFETY_NOTIFY_COMMANDS[i]}: ${errorMessage(r.reason)}`);
        errors.push(r.reason);
      }
    });
    return { failures, errors };
  }

  /** The set-up on `link` (attempt 0 at connect, then retries). */
  async #setUp(link: RvrLink, attempt = 0): Promise<SafetySetupReport> {
    const spec: RunSpec = { kind: "query", priority: "high", link };
    const read = <N extends RequestName>(
      name: N,
      params: RequestOf<N>,
    ): Promise<ResponseOf<N> | Error> =>
      this.#pipeline.track(name, () => this.#pipeline.run(name, params, spec, {})).then(
        (r) => r as ResponseOf<N>,
        (e: unknown) => e instanceof Error ? e : new Error(String(e)),
      );
    const [notify, state, percent, volts] = await Promise.all([
      this.#enableNotificationsDetailed(link),
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
        failures.push(`get_battery_percentage: ${errorMessage(error)}`);
      }
    }
    if (volts instanceof Error) failures.push(`get_battery_voltage_in_volts: ${volts.message}`);
    else battery.volts = volts.voltage;
    if (battery.percent !== undefined || battery.volts !== undefined) {
      publishBattery(this.#bus, battery);
    }
    let batteryState: BatteryState | null = null;
    if (state instanceof Error) failures.push(`get_battery_voltage_state: ${state.message}`);
    else batteryState = this.#notifications.batteryState(state.state, link, "read at connect");
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
      if (retry) this.#retry(link, attempt + 1);
    } else {
      log.info("Safety monitors on for {path}; battery {battery}", {
        path: link.port.path,
        battery: batteryState,
      });
    }
    return { ok: failures.length === 0, failures, batteryState };
  }

  #retry(link: RvrLink, attempt: number): void {
    const pauseMs = Math.min(
      this.#retryMaxMs,
      this.#retryInitialMs * 2 ** Math.min(attempt - 1, 16),
    );
    const timer = setTimeout(() => {
      this.#retries.delete(timer);
      if (this.#disposed || !link.isOpen || this.#links.peek() !== link) return;
      void this.#setUp(link, attempt);
    }, pauseMs);
    this.#retries.add(timer);
  }
}
