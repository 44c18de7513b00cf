/**
 * The robot runtime, composed in one place: state, event bus, metrics, command queue, circuit
 * breaker, connection, safety and the typed robot API, wired together and to Prometheus.
 * main.ts builds one from the config; tests build one over the simulator.
 */
import { getLogger } from "@logtape/logtape";
import {
  CircuitBreaker,
  type CircuitStateName,
  CommandQueue,
  EventBus,
  PRIORITIES,
} from "../core/mod.ts";
import { LinkClosedError, ResponseTimeoutError, type RvrLink } from "../link/mod.ts";
import { Connection, type PortOpener, type PortSpec } from "./connection.ts";
import { type RobotMetrics, robotMetrics } from "./metrics.ts";
import type { RobotBus, RobotTopics } from "./events.ts";
import { Moves } from "./moves/mod.ts";
import { Rvr } from "./rvr.ts";
import { SensorStreams } from "./sensors/mod.ts";
import {
  type ApprovalPolicy,
  Safety,
  SHUTDOWN_REASONS,
  type ShutdownReason,
} from "./safety/mod.ts";
import { CONNECTION_STATUSES, POWER_STATUSES, StateStore } from "./state.ts";

const log = getLogger(["rvr", "robot", "runtime"]);

/** The settings the runtime uses (a subset of src/config.ts's Config). */
export interface RuntimeSettings {
  serialPort: string;
  baudRate: number;
  requestTimeoutMs: number;
  wakeTimeout: number;
  heartbeatMs: number;
  maxSpeedPercent: number;
  commandTimeout: number;
  commandQueueSize: number;
  circuitBreakerFailureThreshold: number;
  circuitBreakerTimeout: number;
  /** RVR_SENSOR_INTERVAL: default streaming period, ms. */
  sensorInterval: number;
  /** RVR_SENSOR_CACHE_TTL: a reading older than this is stale, ms. */
  sensorCacheTtl: number;
  /** RVR_APPROVAL: what needs a person's approval; default: clearing a person's e-stop. */
  approval?: ApprovalPolicy;
}

const BREAKER_STATE_VALUE: Record<CircuitStateName, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * Errors that say the link itself failed, which the breaker counts: a reply that never came, a
 * link whose port closed on its own (hangup). Robot error replies do not count (the link works),
 * and neither do requests cut short because the program closed the link itself (a reconnect, a
 * disconnect): that LinkClosedError carries no cause, and it is no failure of the robot's.
 */
export function isLinkFailure(error: unknown): boolean {
  if (error instanceof LinkClosedError) return error.cause !== undefined;
  return error instanceof ResponseTimeoutError;
}

/** The safety reason for a connection's closing reason. */
export function shutdownReasonFor(reason: string): ShutdownReason {
  if ((SHUTDOWN_REASONS as readonly string[]).includes(reason)) return reason as ShutdownReason;
  if (reason.startsWith("robot silent") || reason.startsWith("link closed")) return "link_loss";
  return "disconnect";
}

/**
 * See the module documentation. `M` is the registry the runtime feeds: the robot's instruments
 * (a registry of its own unless given), or a wider one the program composed (main.ts) that the
 * telemetry and the side port count on too.
 */
export class Runtime<M extends RobotMetrics = RobotMetrics> {
  readonly state = new StateStore();
  readonly bus: RobotBus = new EventBus<RobotTopics>({ name: "robot" });
  readonly metrics: M;
  readonly queue: CommandQueue;
  readonly breaker: CircuitBreaker;
  readonly connection: Connection;
  readonly safety: Safety;
  readonly rvr: Rvr;
  readonly streams: SensorStreams;
  readonly moves: Moves;
  readonly #linkIds = new WeakMap<RvrLink, number>();
  #linkCount = 0;
  #closed = false;

  constructor(settings: RuntimeSettings, openPort: PortOpener, metrics?: M) {
    // Without a registry given, M is its default, RobotMetrics: what robotMetrics() makes.
    const m = this.metrics = metrics ?? robotMetrics() as M;
    this.queue = new CommandQueue({
      capacity: settings.commandQueueSize,
      defaultTimeoutMs: Math.max(5000, settings.requestTimeoutMs * 2),
      // Rvr counts rejections and supersessions; the queue alone knows how long each waited.
      onEvent: (e) => {
        if (e.type === "started") {
          m.queueWaitSeconds.observe({ priority: e.priority }, e.waitMs / 1000);
        }
      },
    });
    this.connection = new Connection({
      openPort,
      spec: { path: settings.serialPort, baudRate: settings.baudRate },
      state: this.state,
      metrics: m,
      wakeTimeoutMs: settings.wakeTimeout * 1000,
      heartbeatMs: settings.heartbeatMs,
      requestTimeoutMs: settings.requestTimeoutMs,
      linkOptions: {
        onRequest: (e) => {
          m.linkRequestsTotal.inc({ command: e.command });
          if (e.outcome === "timeout") m.linkTimeoutsTotal.inc({ command: e.command });
          if (e.outcome === "reply" || e.outcome === "error_reply") {
            m.linkRequestSeconds.observe({ command: e.command }, e.durationMs / 1000);
          }
        },
      },
    });
    this.breaker = new CircuitBreaker({
      name: "robot",
      failureThreshold: settings.circuitBreakerFailureThreshold,
      openMs: settings.circuitBreakerTimeout * 1000,
      isFailure: isLinkFailure,
      probe: (signal) =>
        this.connection.current().request("echo", { data: [] }, {
          target: 1,
          signal,
          timeoutMs: settings.requestTimeoutMs,
        }),
      onTransition: (t) => {
        m.breakerTransitionsTotal.inc({ to: t.to });
        m.breakerState.set(BREAKER_STATE_VALUE[t.to]);
        const level = t.to === "open" ? "warn" : "info";
        log[level]("Circuit {from} -> {to}: {reason}", {
          from: t.from,
          to: t.to,
          reason: t.reason,
        });
      },
    });
    this.safety = new Safety({
      bus: this.bus,
      state: this.state,
      metrics: m,
      speedLimitPercent: settings.maxSpeedPercent,
      commandTimeoutS: settings.commandTimeout,
      approval: settings.approval,
    });
    this.rvr = new Rvr({
      links: this.connection,
      queue: this.queue,
      breaker: this.breaker,
      bus: this.bus,
      state: this.state,
      safety: this.safety,
      metrics: m,
      requestTimeoutMs: settings.requestTimeoutMs,
    });
    this.streams = new SensorStreams({
      links: this.connection,
      rvr: this.rvr,
      bus: this.bus,
      metrics: m,
      cacheTtlMs: settings.sensorCacheTtl,
      defaultIntervalMs: settings.sensorInterval,
    });
    this.moves = new Moves({ rvr: this.rvr, streams: this.streams, links: this.connection });
    // Every link that closes - on purpose or because the robot went silent - gets drive_stop first.
    this.connection.onClosing(async (link: RvrLink, reason) => {
      await this.rvr.shutdown(shutdownReasonFor(reason), { link });
      // Its last counts, before it is gone; then its keys are no longer needed.
      this.metrics.forget(this.#collectLink(link));
    });
    // State changes reach the bus as "robot.state" once, through the bridge Rvr starts.
    this.bus.subscribe("robot.notification", (e) => {
      m.linkNotificationsTotal.inc({ notification: e.payload.name });
    }, { name: "metrics" });
    m.speedLimitPercent.set(settings.maxSpeedPercent);
    m.addCollector(() => this.#collect());
  }

  /** Where the connection points now. */
  get spec(): PortSpec {
    return this.connection.spec;
  }

  /**
   * Shuts down for `reason`: drive_stop on the wire (via the closing hooks), link and port
   * closed, timers cleared. Idempotent.
   */
  async close(reason: ShutdownReason | string = "disconnect"): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.moves.dispose();
    await this.connection.close(reason);
    this.streams.dispose();
    this.queue.close(`shutting down (${reason})`);
    this.breaker.dispose();
    this.safety.dispose();
    this.rvr.dispose();
    this.bus.close();
  }

  #collect(): void {
    const m = this.metrics;
    const qs = this.queue.stats;
    for (const p of PRIORITIES) m.queueDepth.set({ priority: p }, qs.depthByPriority[p]);
    const bs = this.breaker.stats;
    m.breakerState.set(BREAKER_STATE_VALUE[bs.state]);
    m.advance("breaker.failures", m.breakerFailuresTotal, bs.failures);
    m.advance("breaker.rejected", m.breakerRejectionsTotal, bs.rejected);
    const status = this.state.connection.status;
    for (const s of CONNECTION_STATUSES) m.connectionState.set({ state: s }, s === status ? 1 : 0);
    const power = this.state.power.status;
    for (const p of POWER_STATUSES) m.powerState.set({ state: p }, p === power ? 1 : 0);
    m.connectionUptimeSeconds.set(status === "connected" ? this.state.connectedForMs() / 1000 : 0);
    const bus = this.bus.stats;
    for (const [topic, n] of Object.entries(bus.publishedByTopic)) {
      m.advance(`bus.published.${topic}`, m.busPublishedTotal, n, { topic });
    }
    m.advance("bus.dropped", m.busDroppedTotal, bus.dropped, { subscriber: "all" });
    m.advance("bus.errors", m.busSubscriberErrorsTotal, bus.subscriberErrors, {
      subscriber: "all",
    });
    const link = this.connection.peek();
    m.linkPendingRequests.set(link?.stats.pending ?? 0);
    if (link) this.#collectLink(link);
  }

  /** Counters from one link's stats, keyed by that link so a reconnect neither loses nor doubles. */
  #collectLink(link: RvrLink): string {
    const m = this.metrics;
    let id = this.#linkIds.get(link);
    if (id === undefined) this.#linkIds.set(link, id = ++this.#linkCount);
    const prefix = `link${id}.`;
    const k = (name: string) => prefix + name;
    const ls = link.stats;
    m.advance(k("bytes.in"), m.linkBytesTotal, ls.bytesIn, { direction: "in" });
    m.advance(k("bytes.out"), m.linkBytesTotal, ls.bytesOut, { direction: "out" });
    m.advance(k("frames.in"), m.linkFramesTotal, ls.framesIn, { direction: "in" });
    m.advance(k("frames.out"), m.linkFramesTotal, ls.framesOut, { direction: "out" });
    for (const [reason, n] of Object.entries(ls.dropped)) {
      m.advance(k(`dropped.${reason}`), m.linkFramesDroppedTotal, n, { reason });
    }
    for (const [code, n] of Object.entries(ls.errors)) {
      m.advance(k(`errors.${code}`), m.linkRobotErrorsTotal, n, { code });
    }
    return prefix;
  }
}
