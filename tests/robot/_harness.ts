/**
 * A real robot stack for the robot-layer tests and benches: a SimulatedRvr on a MemoryPort pair,
 * a real RvrLink, CommandQueue, CircuitBreaker, EventBus, StateStore, Metrics, Safety and Rvr,
 * joined by a minimal LinkProvider over the one fixed link. The device side of the pair is
 * wrapped in a {@link RecordingPort} that decodes every packet in both directions, in wire order,
 * so tests check the bytes the simulated robot really received.
 */
import FakeTimers from "@sinonjs/fake-timers";
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  CommandQueue,
  type CommandQueueOptions,
  EventBus,
  StateStore,
} from "../../src/core/mod.ts";
import { Metrics } from "../../src/core/metrics.ts";
import { type BytePort, type BytePortHandlers, MemoryPort, RvrLink } from "../../src/link/mod.ts";
import {
  commandById,
  decodeRequest,
  FrameDecoder,
  type Packet,
  type RequestName,
  type RequestOf,
} from "../../src/protocol/mod.ts";
import {
  type LinkProvider,
  NotConnectedError,
  type RobotNotification,
  type RobotSample,
  type RobotTopics,
  Rvr,
  Safety,
  type SafetyEvent,
} from "../../src/robot/mod.ts";
import { type SimOptions, SimulatedRvr } from "../../src/sim/mod.ts";
import type { OpenedPort, PortOpener } from "../../src/robot/connection.ts";
import type { RuntimeSettings } from "../../src/robot/runtime.ts";

/** The part of @sinonjs/fake-timers' clock the tests use (the package ships no types). */
export interface Clock {
  readonly now: number;
  tickAsync(ms: number): Promise<number>;
  /** Jumps `ms` ahead firing each due timer at most once: a blocked event loop. */
  jump(ms: number): number;
  uninstall(): void;
}

/**
 * Fakes timers and time, not microtasks: MemoryPort delivers on native microtasks, and each
 * `clock.tickAsync` lets them run between timers. Install before building the rig so the
 * simulator's physics interval runs on the fake clock too.
 */
export function installClock(): Clock {
  return FakeTimers.install({
    toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date", "performance"],
  }) as Clock;
}

/** One decoded packet on the wire, seen from the robot's side. */
export interface WireEvent {
  /** "in": the robot received it; "out": the robot sent it. */
  readonly dir: "in" | "out";
  /** The section 8 name, or "0xDD/0xCC" when unknown. */
  readonly name: string;
  readonly packet: Packet;
  /** performance.now() when it passed. */
  readonly at: number;
}

/** A BytePort decorator that decodes and records every packet in both directions, in order. */
export class RecordingPort implements BytePort {
  readonly events: WireEvent[] = [];
  /** Called for every packet the robot receives, inside the port's delivery (for benches). */
  onReceived: ((event: WireEvent) => void) | undefined;
  readonly #inner: BytePort;
  readonly #inDecoder = new FrameDecoder();
  readonly #outDecoder = new FrameDecoder();

  constructor(inner: BytePort) {
    this.#inner = inner;
  }

  get path(): string {
    return this.#inner.path;
  }

  get isOpen(): boolean {
    return this.#inner.isOpen;
  }

  start(handlers: BytePortHandlers): void {
    this.#inner.start({
      onData: (chunk) => {
        this.#record("in", this.#inDecoder.push(chunk));
        handlers.onData(chunk);
      },
      onClose: (error) => handlers.onClose(error),
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    this.#record("out", this.#outDecoder.push(bytes));
    return this.#inner.write(bytes);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** Packets the robot received, optionally only those named `name`. */
  received(name?: string): WireEvent[] {
    return this.events.filter((e) => e.dir === "in" && (name === undefined || e.name === name));
  }

  /** Packets the robot sent, optionally only those named `name`. */
  sent(name?: string): WireEvent[] {
    return this.events.filter((e) => e.dir === "out" && (name === undefined || e.name === name));
  }

  /** Index in `events` of the first packet matching, or -1. */
  indexOf(dir: "in" | "out", name: string, from = 0): number {
    return this.events.findIndex((e, i) => i >= from && e.dir === dir && e.name === name);
  }

  clear(): void {
    this.events.length = 0;
  }

  #record(dir: "in" | "out", packets: Packet[]): void {
    for (const packet of packets) {
      const def = commandById(packet.did, packet.cid);
      const name = def?.name ??
        `0x${packet.did.toString(16).padStart(2, "0")}/0x${
          packet.cid.toString(16).padStart(2, "0")
        }`;
      const event: WireEvent = { dir, name, packet, at: performance.now() };
      this.events.push(event);
      if (dir === "in") this.onReceived?.(event);
    }
  }
}

/** The decoded request parameters of a packet the robot received. */
export function paramsOf<N extends RequestName>(name: N, event: WireEvent): RequestOf<N> {
  if (event.name !== name) {
    throw new Error(`Expected a ${name} packet, got ${event.name}.`);
  }
  return decodeRequest(name, event.packet.payload);
}

/** A LinkProvider over one fixed link (what the connection manager does for many). */
export class FixedLinkProvider implements LinkProvider {
  readonly link: RvrLink;
  #connected: ((link: RvrLink) => void)[] = [];
  #disconnected: ((reason: string) => void)[] = [];
  #announced = false;

  constructor(link: RvrLink) {
    this.link = link;
    link.onClose((error) => {
      const reason = error?.message ?? "link closed";
      for (const l of [...this.#disconnected]) l(reason);
    });
  }

  current(): RvrLink {
    if (!this.link.isOpen) throw new NotConnectedError("disconnected", "the link is closed");
    if (!this.#announced) throw new NotConnectedError("connecting");
    return this.link;
  }

  peek(): RvrLink | undefined {
    return this.#announced && this.link.isOpen ? this.link : undefined;
  }

  /** No connect is ever in progress here: the link now, or NotConnectedError at once. */
  awaitLink(): Promise<RvrLink> {
    try {
      return Promise.resolve(this.current());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  onConnected(listener: (link: RvrLink) => void): () => void {
    this.#connected.push(listener);
    return () => {
      this.#connected = this.#connected.filter((l) => l !== listener);
    };
  }

  onDisconnected(listener: (reason: string) => void): () => void {
    this.#disconnected.push(listener);
    return () => {
      this.#disconnected = this.#disconnected.filter((l) => l !== listener);
    };
  }

  /** Marks the link connected and tells the listeners (like a finished connect). */
  announce(): void {
    this.#announced = true;
    for (const l of [...this.#connected]) l(this.link);
  }
}

export interface RigOptions {
  sim?: SimOptions;
  speedLimitPercent?: number;
  commandTimeoutS?: number;
  breaker?: CircuitBreakerOptions;
  queue?: CommandQueueOptions;
  requestTimeoutMs?: number;
  /** Announce the link at once (default true). */
  connect?: boolean;
}

export interface Rig {
  readonly sim: SimulatedRvr;
  /** The robot's side of the wire, recorded. */
  readonly wire: RecordingPort;
  readonly host: MemoryPort;
  readonly link: RvrLink;
  readonly links: FixedLinkProvider;
  readonly queue: CommandQueue;
  readonly breaker: CircuitBreaker;
  readonly bus: EventBus<RobotTopics>;
  readonly state: StateStore;
  readonly metrics: Metrics;
  readonly safety: Safety;
  readonly rvr: Rvr;
  /** Every safety event published so far (delivered asynchronously). */
  readonly safetyEvents: SafetyEvent[];
  /** Every robot.notification published so far. */
  readonly notifications: RobotNotification[];
  /** Every robot.sample published so far. */
  readonly samples: RobotSample[];
  close(): Promise<void>;
}

/** Builds the whole stack; with `connect` (default) the safety set-up runs on the link at once. */
export function makeRig(options: RigOptions = {}): Rig {
  const [host, device] = MemoryPort.pair("robot-test");
  const wire = new RecordingPort(device);
  const sim = new SimulatedRvr(wire, { inactivityTimeoutMs: 0, ...options.sim });
  sim.start();
  const link = new RvrLink(host, { defaultTimeoutMs: options.requestTimeoutMs ?? 1000 });
  link.start();
  const links = new FixedLinkProvider(link);
  const queue = new CommandQueue(options.queue);
  const breaker = new CircuitBreaker({ name: "robot-test", ...options.breaker });
  const bus = new EventBus<RobotTopics>();
  const state = new StateStore();
  const metrics = new Metrics({ processMetrics: false });
  const safety = new Safety({
    bus,
    state,
    metrics,
    speedLimitPercent: options.speedLimitPercent,
    commandTimeoutS: options.commandTimeoutS,
  });
  const rvr = new Rvr({
    links,
    queue,
    breaker,
    bus,
    state,
    safety,
    metrics,
    requestTimeoutMs: options.requestTimeoutMs,
  });
  const safetyEvents: SafetyEvent[] = [];
  const notifications: RobotNotification[] = [];
  const samples: RobotSample[] = [];
  bus.subscribe("robot.sample", (e) => {
    samples.push(e.payload);
  }, { bufferSize: 10_000 });
  bus.subscribe("safety", (e) => {
    safetyEvents.push(e.payload);
  }, { bufferSize: 10_000 });
  bus.subscribe("robot.notification", (e) => {
    notifications.push(e.payload);
  }, { bufferSize: 10_000 });
  if (options.connect ?? true) links.announce();
  return {
    sim,
    wire,
    host,
    link,
    links,
    queue,
    breaker,
    bus,
    state,
    metrics,
    safety,
    rvr,
    safetyEvents,
    notifications,
    samples,
    async close() {
      rvr.dispose();
      safety.dispose();
      breaker.dispose();
      queue.close("test finished");
      bus.close();
      await link.close();
      await sim.stop();
      await device.close();
    },
  };
}

/** The value of a labelled counter/gauge in the rig's metrics (0 when absent). */
export async function metricValue(
  metrics: Metrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`No metric ${name}.`);
  const data = await metric.get();
  const match = data.values.find((v) =>
    Object.entries(labels).every(([k, value]) => String(v.labels[k]) === value)
  );
  return match?.value ?? 0;
}

/** Runtime settings for tests: quick timeouts, no heartbeat, fast sensor period. */
export const TEST_RUNTIME_SETTINGS: RuntimeSettings = {
  serialPort: "sim",
  baudRate: 115200,
  requestTimeoutMs: 200,
  wakeTimeout: 2,
  heartbeatMs: 0,
  maxSpeedPercent: 50,
  commandTimeout: 5,
  commandQueueSize: 100,
  circuitBreakerFailureThreshold: 3,
  circuitBreakerTimeout: 10,
  sensorInterval: 100,
  sensorCacheTtl: 1000,
};

/**
 * A port opener with one keep-alive simulated robot behind it, as the built-in simulator of
 * main.ts: every connection gets a fresh MemoryPort pair, recorded on the robot side.
 */
export interface KeepAliveSimOpener {
  open: PortOpener;
  /** The recorded robot side of every connection so far. */
  readonly wires: RecordingPort[];
  readonly devices: MemoryPort[];
  /** The simulated robot (after the first connection). */
  readonly sim: SimulatedRvr;
  /** The recorded robot side of the latest connection. */
  readonly wire: RecordingPort;
}

export function keepAliveSimOpener(options: SimOptions = {}, name = "rig"): KeepAliveSimOpener {
  let sim: SimulatedRvr | undefined;
  const wires: RecordingPort[] = [];
  const devices: MemoryPort[] = [];
  const open: PortOpener = (): Promise<OpenedPort> => {
    const [host, device] = MemoryPort.pair(name);
    const wire = new RecordingPort(device);
    wires.push(wire);
    devices.push(device);
    if (sim) sim.attach(wire);
    else {
      sim = new SimulatedRvr(wire, { inactivityTimeoutMs: 0, ...options, keepAlive: true });
      sim.start();
    }
    return Promise.resolve({ port: host, simulated: true, close: () => device.close() });
  };
  return {
    open,
    wires,
    devices,
    get sim(): SimulatedRvr {
      if (!sim) throw new Error("no connection was opened yet");
      return sim;
    },
    get wire(): RecordingPort {
      const wire = wires.at(-1);
      if (!wire) throw new Error("no connection was opened yet");
      return wire;
    },
  };
}

/** Ticks fake time in 10 ms steps until `p` settles (at most `maxMs` of it); rethrows its rejection. */
export async function settleWith<T>(clock: Clock, p: Promise<T>, maxMs = 30_000): Promise<T> {
  let outcome: { ok: true; v: T } | { ok: false; e: unknown } | undefined;
  p.then((v) => outcome = { ok: true, v }, (e) => outcome = { ok: false, e });
  for (let t = 0; t < maxMs && outcome === undefined; t += 10) await clock.tickAsync(10);
  if (outcome === undefined) throw new Error(`still pending after ${maxMs} ms of fake time`);
  if (!outcome.ok) throw outcome.e;
  return outcome.v;
}

/** Like settleWith, for a promise that must reject; returns the error. */
export async function settleErrorWith(
  clock: Clock,
  p: Promise<unknown>,
  maxMs = 30_000,
): Promise<unknown> {
  try {
    await settleWith(clock, p, maxMs);
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection, got a value");
}
