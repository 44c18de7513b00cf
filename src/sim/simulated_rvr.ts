/**
 * The simulated RVR: a robot in miniature on any BytePort. It decodes real packets, answers with
 * real packets (docs/protocol.md sec. 2.3, 7 and 12), drives an RvrBody, streams configured
 * sensors (sec. 10) and sends notifications, with live-editable fault knobs (faults.ts).
 *
 * This facade owns the lifecycle (start, attach, stop), the physics loop and what the body, the
 * battery and the motors report; the parts beside it decide the rest: _session.ts (routing, error
 * codes), _fault_port.ts (the fault knobs on the line), _power.ts (soft sleep, inactivity, wake
 * latency), streaming.ts, devices/ (one file per device group) and body/ (the physics).
 */
import { getLogger } from "@logtape/logtape";
import { buildNotification, type NodeId, type SlotEntry } from "../protocol/mod.ts";
import { type BodyOptions, RvrBody } from "./body/mod.ts";
import type { PaletteEntry } from "./color.ts";
import type { BytePort, Guard, NotifyHost } from "./context.ts";
import { Devices } from "./devices/mod.ts";
import { createFaultSettings, type FaultSettings } from "./faults.ts";
import { BatteryModel, type BatteryOptions, ThermalModel } from "./power_model.ts";
import { createCounters, type SimStats } from "./stats.ts";
import { SimWorld, type WorldMember } from "./world.ts";
import { FaultPort } from "./_fault_port.ts";
import { identityOf } from "./_identity.ts";
import { PowerControl, type PowerState } from "./_power.ts";
import { reportBatteryEvent, reportBodyEvent, reportThermalEvent } from "./_reports.ts";
import { SimSession } from "./_session.ts";
import { SimTimers } from "./_timers.ts";
import { LineRatePort } from "./line_rate.ts";

export {
  COLOR_PALETTE_SLOTS,
  LED_CHANNELS,
  MIN_COLOR_NOTIFY_INTERVAL_MS,
  SIM_BOARD_REVISION,
  SIM_FIRMWARE,
  SIM_SKU,
} from "./devices/mod.ts";
export { POWER_STATES, type PowerState, WILL_SLEEP_LEAD_MS } from "./_power.ts";
export type { SimStats } from "./stats.ts";

const log = getLogger(["rvr", "sim"]);

/** Inactivity period after which the robot sleeps, unless SimOptions.inactivityTimeoutMs says otherwise [?]. */
export const DEFAULT_INACTIVITY_TIMEOUT_MS = 300_000;
export const DEFAULT_PHYSICS_STEP_MS = 10;
/** Longest physics step taken at once, so a stalled event loop does not teleport the robot. */
export const MAX_PHYSICS_STEP_MS = 100;

export interface SimOptions {
  /** Robot name, also its BLE name when it looks like "RV-XXXX" (else "RV-" + a hash). */
  name?: string;
  /** Share one world between robots; default: a private world. */
  world?: SimWorld;
  body?: BodyOptions;
  battery?: BatteryOptions;
  /** Sleep after this long without an activity-flagged packet; default 300 000; 0 or Infinity = never. */
  inactivityTimeoutMs?: number;
  /** Physics interval; default 10 ms. */
  physicsStepMs?: number;
  faults?: Partial<FaultSettings>;
  /**
   * Start in soft sleep, as a robot that sat idle before the host connected: only echo, system
   * info, power and connection commands answer until `wake` (then faults.wakeLatencyMs applies).
   */
  asleep?: boolean;
  /**
   * Keep running when the port closes, like a robot whose host went away (its own control
   * timeout stops the motors), and accept a new port with `attach()`: pose, battery, streaming
   * and settings survive a reconnect. Default false: a closed port stops the simulator.
   */
  keepAlive?: boolean;
  /**
   * Emulate a UART of this many baud on the port, both ways (line_rate.ts): bytes arrive when
   * they would have crossed the line. Off by default (memory speed).
   */
  lineBaud?: number;
}

type TimerId = ReturnType<typeof setTimeout>;
let instances = 0;

export class SimulatedRvr {
  readonly name: string;
  readonly bluetoothName: string;
  readonly macAddress: string;
  readonly statsId: number;
  readonly faults: FaultSettings;
  readonly body: RvrBody;
  readonly battery: BatteryModel;
  readonly thermal: ThermalModel;
  readonly world: SimWorld;
  readonly member: WorldMember;
  readonly inactivityTimeoutMs: number;
  readonly physicsStepMs: number;

  #lifecycle: "new" | "running" | "stopped" = "new";
  #leftWorld = false;
  readonly #counters = createCounters();
  readonly #timers: SimTimers;
  readonly #line: FaultPort;
  readonly #session: SimSession;
  readonly #power: PowerControl;
  readonly #devices: Devices;
  #startedAt = 0;
  #lastStepAt = 0;
  #physicsTimer: TimerId | undefined;
  #motorFault = false;
  readonly #startAsleep: boolean;
  readonly #keepAlive: boolean;
  /** The port as the robot sees it: at the line's pace when SimOptions.lineBaud is set. */
  readonly #onLine: (port: BytePort) => BytePort;
  #resolveStopped!: (reason: string) => void;
  /** Resolves with the reason once the simulator stops (stop(), or its port closed). */
  readonly stopped: Promise<string> = new Promise((resolve) => this.#resolveStopped = resolve);
  /** Sends a notification to the host (the line drops it while silent, stopped or portless). */
  readonly #notify: NotifyHost = (name, values, node) => {
    this.#line.send(buildNotification(name, values, node));
  };

  constructor(port: BytePort, options: SimOptions = {}) {
    const name = options.name ?? `RV-${(++instances).toString(16).toUpperCase().padStart(4, "0")}`;
    if (typeof name !== "string" || name.length === 0 || name.length > 32) {
      throw new RangeError(
        `SimOptions.name must be a string of 1-32 characters, got ${JSON.stringify(name)}.`,
      );
    }
    this.name = name;
    const identity = identityOf(name);
    this.bluetoothName = identity.bluetoothName;
    this.macAddress = identity.macAddress;
    this.statsId = identity.statsId;

    const timeout = options.inactivityTimeoutMs ?? DEFAULT_INACTIVITY_TIMEOUT_MS;
    if (typeof timeout !== "number" || Number.isNaN(timeout) || timeout < 0) {
      throw new RangeError(
        `SimOptions.inactivityTimeoutMs must be >= 0 ms (0 or Infinity = never sleep), got ${timeout}.`,
      );
    }
    this.inactivityTimeoutMs = timeout === 0 ? Infinity : timeout;
    const step = options.physicsStepMs ?? DEFAULT_PHYSICS_STEP_MS;
    if (typeof step !== "number" || !Number.isFinite(step) || step < 1 || step > 1000) {
      throw new RangeError(
        `SimOptions.physicsStepMs must be 1-1000 ms, got ${step}; the default is ${DEFAULT_PHYSICS_STEP_MS}.`,
      );
    }
    this.physicsStepMs = step;
    this.faults = createFaultSettings(options.faults ?? {});
    this.#startAsleep = options.asleep === true;
    this.#keepAlive = options.keepAlive === true;
    const baud = options.lineBaud;
    this.#onLine = baud === undefined ? (p) => p : (p) => new LineRatePort(p, { baud });
    port = this.#onLine(port);

    this.body = new RvrBody(options.body);
    this.battery = new BatteryModel(options.battery);
    this.thermal = new ThermalModel();
    this.world = options.world ?? new SimWorld();
    this.member = this.world.join(name, this.body);

    const isRunning = () => this.#lifecycle === "running";
    const timers = this.#timers = new SimTimers(name, this.#counters);
    const guard: Guard = (what, fn) => timers.guard(what, fn);
    const line = this.#line = new FaultPort(port, this.faults, this.#counters, timers, isRunning);
    const notify = this.#notify;
    const power = this.#power = new PowerControl({
      name,
      inactivityTimeoutMs: this.inactivityTimeoutMs,
      faults: this.faults,
      isRunning,
      notify,
      guard,
      onSleep: () => this.#devices.sleep(),
    });
    const devices = this.#devices = new Devices({
      name,
      identity,
      body: this.body,
      battery: this.battery,
      thermal: this.thermal,
      member: this.member,
      notify,
      guard,
      upTimeMs: () => this.upTimeMs,
      isRunning,
      isAwake: () => power.state === "awake",
      motorFault: () => this.#motorFault,
      sleep: (reason) => power.sleep(reason),
      wake: (ctx) => power.wake(ctx),
    });
    this.#session = new SimSession(
      {
        name,
        isRunning,
        onActivity: () => power.armInactivity(),
        admit: (def) => power.admit(def),
        dispatch: (def, params, ctx) => devices.dispatch(def, params, ctx),
      },
      line,
      this.#counters,
      timers,
    );
  }

  // ---------------------------------------------------------------- public surface

  get powerState(): PowerState {
    return this.#power.state;
  }

  /** False while a wake is still completing (faults.wakeLatencyMs) or asleep. */
  get isReady(): boolean {
    return this.#power.isReady;
  }

  /** The 31 set_all_leds channel values (0 after release_led_requests and in sleep). */
  get leds(): ReadonlyArray<number> {
    return [...this.#devices.leds.values];
  }

  /** True after release_led_requests (or sleep) until the next set_all_leds. */
  get ledsReleased(): boolean {
    return this.#devices.leds.released;
  }

  get colorDetectionEnabled(): boolean {
    return this.#devices.color.detection;
  }

  /** Slot configurations per node (token -> services), as the host configured them. */
  streamingSlots(node: NodeId): ReadonlyMap<number, readonly SlotEntry[]> {
    return this.#devices.streaming.slots(node);
  }

  /** True while node's streaming timer runs. */
  isStreaming(node: NodeId): boolean {
    return this.#devices.streaming.isStreaming(node);
  }

  get activePalette(): readonly PaletteEntry[] {
    return this.#devices.palettes.active.map((e) => ({ ...e }));
  }

  /** A snapshot of the counters. */
  get stats(): Readonly<SimStats> {
    return { ...this.#counters, framesDropped: this.#session.framesDropped };
  }

  /** Core up time: ms since start(). */
  get upTimeMs(): number {
    return this.#lifecycle === "new" ? 0 : Math.max(0, performance.now() - this.#startedAt);
  }

  /** Fault/test knob: a motor driver fault. Halts the body; motor_fault_notify when enabled. */
  setMotorFault(isFault: boolean): void {
    if (isFault === this.#motorFault) return;
    this.#motorFault = isFault;
    if (isFault) this.#devices.motion.haltBody();
    log.info("Motor fault {state}", { robot: this.name, state: isFault ? "raised" : "cleared" });
    if (this.#devices.switches.motorFault) {
      this.#notify("motor_fault_notify", { is_fault: isFault });
    }
  }

  /** Attaches to the port and starts the physics and inactivity timers. Call once. */
  start(): void {
    if (this.#lifecycle !== "new") {
      throw new Error(
        `SimulatedRvr ${this.name} was already ${this.#lifecycle}; create a new one instead.`,
      );
    }
    this.#lifecycle = "running";
    this.#startedAt = performance.now();
    this.#lastStepAt = this.#startedAt;
    this.#startPort(this.#line.port);
    this.#physicsTimer = setInterval(
      () => this.#timers.guard("physics", () => this.#step()),
      this.physicsStepMs,
    );
    if (this.#startAsleep) this.#power.startAsleep();
    else this.#power.armInactivity();
    log.info("Simulated RVR {name} started on {path} ({power})", {
      name: this.name,
      path: this.#line.port.path,
      power: this.#power.state,
    });
  }

  /**
   * Gives a running, keep-alive simulator a new port after the previous one closed (a host that
   * reconnects). Throws when the simulator was not created with `keepAlive`, is not running, or
   * its current port is still open.
   */
  attach(port: BytePort): void {
    if (!this.#keepAlive) {
      throw new Error(`SimulatedRvr ${this.name} was created without keepAlive; it cannot attach.`);
    }
    if (this.#lifecycle !== "running") {
      throw new Error(`SimulatedRvr ${this.name} is ${this.#lifecycle}; start() it first.`);
    }
    if (this.#line.port.isOpen) {
      throw new Error(
        `SimulatedRvr ${this.name} is still attached to ${this.#line.port.path}; close that port first.`,
      );
    }
    this.#session.resetDecoder();
    this.#startPort(this.#onLine(port));
    log.info("Simulated RVR {name} attached to {path}", { name: this.name, path: port.path });
  }

  #startPort(port: BytePort): void {
    this.#session.attach(port, (error) => {
      if (error) log.warn("Port {path} failed: {error}", { path: port.path, error });
      else log.info("Port {path} closed", { path: port.path });
      if (!this.#keepAlive) {
        this.#shutdown(
          error ? `port ${port.path} failed: ${error.message}` : `port ${port.path} closed`,
        );
      }
    });
  }

  /** Clears every timer and leaves the world; waits for queued writes. Does not close the port. */
  async stop(): Promise<void> {
    this.#shutdown("stopped");
    if (!this.#leftWorld) {
      this.#leftWorld = true;
      this.member.leave();
      log.info("Simulated RVR {name} stopped", { name: this.name });
    }
    await this.#line.flushed;
  }

  // ---------------------------------------------------------------- lifecycle and physics

  #shutdown(reason: string): void {
    if (this.#lifecycle === "stopped") return;
    this.#lifecycle = "stopped";
    this.#resolveStopped(reason);
    clearInterval(this.#physicsTimer);
    this.#physicsTimer = undefined;
    this.#power.clearInactivity();
    this.#timers.clearOneShots();
    this.#devices.shutdown();
  }

  #step(): void {
    const now = performance.now();
    const dt = Math.min(now - this.#lastStepAt, MAX_PHYSICS_STEP_MS);
    this.#lastStepAt = now;
    if (dt <= 0) return;
    this.#devices.infrared.updateTarget();
    for (const e of this.body.step(dt)) reportBodyEvent(e, this.#devices.switches, this.#notify);
    this.#devices.motion.checkCalibration();
    const current = this.body.motorCurrentA;
    for (const e of this.battery.step(dt, current)) {
      reportBatteryEvent(e, this.name, this.#devices.switches, this.#notify);
    }
    for (const e of this.thermal.step(dt, current)) {
      reportThermalEvent(e, this.name, this.#devices.switches, this.#notify);
    }
  }
}
