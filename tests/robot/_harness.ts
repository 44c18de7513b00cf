/**
 * A real robot stack for the robot-layer tests: a SimulatedRvr on a MemoryPort pair, a real
 * RvrLink, CommandQueue, CircuitBreaker, EventBus, StateStore, Metrics, Safety and Rvr, joined by
 * a minimal LinkProvider over the one fixed link. The device side of the pair is wrapped in a
 * {@link WireTap} (tests/_helpers) that decodes every packet in both directions, in wire order,
 * so tests check the bytes the simulated robot really received. The fake clock, settle, settings,
 * metric reader and keep-alive opener are in tests/_helpers/mod.ts.
 */
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  CommandQueue,
  type CommandQueueOptions,
  EventBus,
} from "../../src/core/mod.ts";
import { MemoryPort, RvrLink } from "../../src/link/mod.ts";
import {
  type LinkProvider,
  NotConnectedError,
  type RobotMetrics,
  robotMetrics,
  type RobotNotification,
  type RobotSample,
  type RobotTopics,
  Rvr,
  Safety,
  type SafetyEvent,
  StateStore,
} from "../../src/robot/mod.ts";
import { type SimOptions, SimulatedRvr } from "../../src/sim/mod.ts";
import { WireTap } from "../_helpers/mod.ts";

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
  readonly wire: WireTap;
  readonly host: MemoryPort;
  readonly link: RvrLink;
  readonly links: FixedLinkProvider;
  readonly queue: CommandQueue;
  readonly breaker: CircuitBreaker;
  readonly bus: EventBus<RobotTopics>;
  readonly state: StateStore;
  readonly metrics: RobotMetrics;
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
  const wire = new WireTap(device);
  const sim = new SimulatedRvr(wire, { inactivityTimeoutMs: 0, ...options.sim });
  sim.start();
  const link = new RvrLink(host, { defaultTimeoutMs: options.requestTimeoutMs ?? 1000 });
  link.start();
  const links = new FixedLinkProvider(link);
  const queue = new CommandQueue(options.queue);
  const breaker = new CircuitBreaker({ name: "robot-test", ...options.breaker });
  const bus = new EventBus<RobotTopics>();
  const state = new StateStore();
  const metrics = robotMetrics();
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
