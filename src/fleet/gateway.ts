/**
 * The fleet gateway: one program that drives every robot of a fleet over NATS. It knows the
 * robots ({@link Registry}), calls one (`call`) or many in parallel (`callRobots`), stops them all
 * (`stopAll`, the fleet's e-stop broadcast), and collects their telemetry ({@link TelemetryFanIn}).
 *
 * Every call to a robot goes through that robot's own circuit breaker (the core breaker: opened by
 * consecutive timeouts, probed with a NATS ping of the robot's service) and fails fast with a
 * {@link FleetError} whose code says why: `broker_unreachable` (no broker: at once),
 * `robot_unknown` (naming the robots there are), `robot_offline` (naming when it was last seen),
 * `circuit_open`, `timeout`, `robot_error` (the robot's own hint). Read-only tools are retried
 * with exponential backoff on transient failures (timeout, no responders) within the call's time;
 * movement and configuration never are: they must not happen twice.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { backoff, CircuitBreaker, CircuitOpenError, delay, errorMessage } from "../core/mod.ts";
import { CATALOG } from "../tools/mod.ts";
import { requestCall } from "./_request.ts";
import { DrivenRobots, type DrivenStop } from "./driven.ts";
import { FleetError, type FleetErrorCode } from "./errors.ts";
import { TelemetryFanIn } from "./fan_in.ts";
import type { FleetMetrics } from "./metrics.ts";
import { type FleetLink, type NatsConnection, pingService } from "./nats.ts";
import { Registry, type RobotEntry } from "./registry.ts";
import { fleetSubjects, SERVICE_NAME } from "./subjects.ts";
import { stopAll, type StopAllResult } from "./stop_all.ts";

const log = getLogger(["rvr", "fleet", "gateway"]);

/** Tools safe to repeat: the catalog's read-only ones. */
const READ_ONLY: ReadonlySet<string> = new Set(
  CATALOG.filter((t) => t.hints.readOnlyHint).map((t) => t.name),
);

export interface GatewayOptions {
  readonly link: FleetLink;
  readonly fleet: string;
  readonly metrics?: FleetMetrics;
  /** A call's time when the caller gives none, ms. Default 5000. */
  readonly timeoutMs?: number;
  /** Consecutive timeouts that open a robot's circuit. Default 3. */
  readonly failureThreshold?: number;
  /** First open period of a robot's circuit, ms. Default 5000. */
  readonly openMs?: number;
  /** Attempts of a read-only call (1 = no retry). Default 3. */
  readonly readOnlyAttempts?: number;
  /** Registry tuning (tests shorten it). */
  readonly pollMs?: number;
  readonly offlineAfterMs?: number;
}

/** One robot's line in `list_robots`. */
export interface RobotView {
  id: string;
  status: "online" | "offline";
  simulated: boolean;
  version: string;
  battery_percent: number | null;
  estop_latched: boolean;
  /** ISO-8601. */
  last_seen: string;
  /** The gateway's circuit to it. */
  circuit: "closed" | "open" | "half_open";
}

/** One robot's result in `call_robots`. */
export interface RobotResult {
  robot: string;
  ok: boolean;
  result?: Record<string, unknown>;
  error?: { code: FleetErrorCode; message: string };
  ms: number;
}

export interface CallOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** The MCP session the call came from (HTTP): the robots it drove stop when it ends. */
  readonly session?: string;
}

const BREAKER_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

function since(at: number): string {
  const s = Math.max(0, Math.round((Date.now() - at) / 1000));
  return `${new Date(at).toISOString()} (${s} s ago)`;
}

export class Gateway {
  readonly registry: Registry;
  readonly telemetry: TelemetryFanIn;
  readonly #options: GatewayOptions;
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #subjects;
  /** The robots this gateway sent a movement command to, and in which MCP session. */
  readonly driven: DrivenRobots = new DrivenRobots();

  constructor(options: GatewayOptions) {
    this.#options = options;
    this.#subjects = fleetSubjects(options.fleet);
    const m = options.metrics;
    this.registry = new Registry({
      link: options.link,
      fleet: options.fleet,
      ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
      ...(options.offlineAfterMs === undefined ? {} : { offlineAfterMs: options.offlineAfterMs }),
      onChange: (e) => m?.robotOnline.set({ robot: e.id }, e.status === "online" ? 1 : 0),
    });
    this.telemetry = new TelemetryFanIn({
      link: options.link,
      fleet: options.fleet,
      onBatch: (robot) => {
        this.registry.heard(robot);
        m?.telemetryBatchesTotal.inc({ robot });
      },
    });
  }

  get fleet(): string {
    return this.#options.fleet;
  }

  start(): void {
    this.registry.start();
    this.telemetry.start();
  }

  close(): void {
    this.registry.stop();
    this.telemetry.stop();
    for (const b of this.#breakers.values()) b.dispose();
  }

  /**
   * Resolves once the gateway knows the fleet: connected and one discovery done, or after
   * `maxMs` (then it answers with what it has: the caller gets broker_unreachable or the robots).
   */
  async discovered(maxMs = 2000): Promise<void> {
    if (this.registry.polls > 0) return;
    const timeout = AbortSignal.timeout(maxMs);
    await Promise.race([
      this.registry.whenPolled(),
      new Promise((resolve) => timeout.addEventListener("abort", resolve, { once: true })),
    ]);
  }

  /** Every robot seen, for `list_robots`. */
  robots(): RobotView[] {
    return this.registry.list().map((e) => {
      const battery = e.report?.battery_percent;
      if (typeof battery === "number") {
        this.#options.metrics?.batteryPercent.set({ robot: e.id }, battery);
      }
      return {
        id: e.id,
        status: e.status,
        simulated: e.simulated,
        version: e.version,
        battery_percent: e.report?.battery_percent ?? null,
        estop_latched: e.report?.estop_latched ?? false,
        last_seen: new Date(e.lastSeen).toISOString(),
        circuit: this.#breaker(e.id).state.name,
      };
    });
  }

  /** The connection, or `broker_unreachable` at once. */
  #nc(): NatsConnection {
    const nc = this.#options.link.nc;
    if (nc) return nc;
    const problem = this.#options.link.problem ?? "not connected";
    throw new FleetError(
      "broker_unreachable",
      `broker unreachable (${this.#options.link.servers.join(",")}): ${problem}`,
      {
        hint: `broker unreachable: ${problem}. Check that nats-server runs at ` +
          `${
            this.#options.link.servers.join(",")
          } (RVR_FLEET_URL); the gateway reconnects by itself.`,
      },
    );
  }

  /** The robot `id` if it can be called now, else the FleetError saying why not. */
  #target(id: string): RobotEntry {
    const entry = this.registry.get(id);
    if (!entry) {
      const ids = this.registry.list().map((e) => e.id);
      throw new FleetError(
        "robot_unknown",
        `No robot ${JSON.stringify(id)} in fleet ${this.fleet}: ` +
          (ids.length ? `the robots are ${ids.join(", ")}.` : "no robot has joined yet."),
        { robot: id },
      );
    }
    if (entry.status === "offline") {
      throw new FleetError(
        "robot_offline",
        `Robot ${id} is offline: last seen ${since(entry.lastSeen)}. Check that it is switched ` +
          `on and its program runs; it comes back by itself when it answers again.`,
        { robot: id },
      );
    }
    return entry;
  }

  #breaker(id: string): CircuitBreaker {
    let b = this.#breakers.get(id);
    if (b) return b;
    b = new CircuitBreaker({
      name: `fleet:${id}`,
      failureThreshold: this.#options.failureThreshold ?? 3,
      openMs: this.#options.openMs ?? 5000,
      maxOpenMs: 60_000,
      probeTimeoutMs: 1000,
      isFailure: (e) => e instanceof FleetError && e.code === "timeout",
      probe: async () => {
        const entry = this.registry.get(id);
        if (!entry) throw new Error(`robot ${id} is not known`);
        await pingService(this.#nc(), SERVICE_NAME, entry.serviceId, 1000);
      },
      onTransition: (t) => {
        this.#options.metrics?.breakerState.set({ robot: id }, BREAKER_VALUE[t.to]);
        log[t.to === "open" ? "warn" : "info"](
          "Fleet circuit to {robot}: {from} -> {to} ({reason})",
          {
            robot: id,
            from: t.from,
            to: t.to,
            reason: t.reason,
          },
        );
      },
    });
    this.#breakers.set(id, b);
    return b;
  }

  /**
   * Calls `tool` on robot `id` and returns its structured result; throws {@link FleetError}.
   * Read-only tools are retried on timeouts and no responders; nothing else is.
   */
  async call(
    id: string,
    tool: string,
    args: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<Record<string, unknown>> {
    this.#nc();
    this.#target(id);
    // Noted before it goes: a movement that times out may still have started.
    this.driven.note(id, tool, options.session);
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs ?? 5000;
    const deadline = performance.now() + timeoutMs;
    const attempts = READ_ONLY.has(tool) ? this.#options.readOnlyAttempts ?? 3 : 1;
    const waits = backoff({ initialMs: 50, factor: 2, maxMs: 1000 });
    const started = performance.now();
    const m = this.#options.metrics;
    for (let attempt = 1;; attempt++) {
      // Each attempt of a read gets its share of the time left, so a retry has time to run.
      const left = (deadline - performance.now()) / (attempts - attempt + 1);
      try {
        const result = await this.#breaker(id).execute(() =>
          requestCall(this.#nc(), this.#subjects.call(id), { id, tool, args, timeoutMs: left })
        );
        m?.callsTotal.inc({ robot: id, tool, outcome: "ok" });
        m?.callSeconds.observe({ robot: id, tool }, (performance.now() - started) / 1000);
        return result;
      } catch (error) {
        const fleetError = this.#asFleetError(id, error);
        const transient = fleetError.code === "timeout" ||
          (fleetError.code === "robot_offline" && fleetError.cause !== undefined);
        const wait = waits.next().value;
        if (
          attempt < attempts && transient && !options.signal?.aborted &&
          deadline - performance.now() > wait + 50
        ) {
          m?.retriesTotal.inc({ robot: id, tool });
          log.info("Retrying read-only {tool} on {robot} in {wait} ms: {error}", {
            tool,
            robot: id,
            wait,
            error: fleetError.message,
          });
          await delay(wait, options.signal ? { signal: options.signal } : {});
          continue;
        }
        m?.callsTotal.inc({ robot: id, tool, outcome: fleetError.code });
        throw fleetError;
      }
    }
  }

  #asFleetError(id: string, error: unknown): FleetError {
    if (error instanceof FleetError) return error;
    if (error instanceof CircuitOpenError) {
      return new FleetError(
        "circuit_open",
        `Calls to robot ${id} are paused after repeated timeouts; the next ping is in ` +
          `${Math.ceil(error.retryInMs / 1000)} s. Check the robot and its network.`,
        { robot: id, cause: error },
      );
    }
    throw error;
  }

  /**
   * Calls `tool` on every robot of `robots` (ids, or ["all"]: every robot seen), at most
   * `maxParallel` at once, each within `timeoutMs`. Resolves with one result per robot in the
   * order asked; never rejects and never waits longer than the robots' time allows.
   */
  async callRobots(
    tool: string,
    args: Record<string, unknown>,
    robots: readonly string[],
    options: { maxParallel?: number; timeoutMs?: number; signal?: AbortSignal; session?: string } =
      {},
  ): Promise<RobotResult[]> {
    const ids = robots.length === 1 && robots[0] === "all"
      ? this.registry.list().map((e) => e.id)
      : [...robots];
    const results: RobotResult[] = new Array(ids.length);
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const i = next++;
        const id = ids[i];
        const started = performance.now();
        try {
          const result = await this.call(id, tool, args, options);
          results[i] = { robot: id, ok: true, result, ms: Math.round(performance.now() - started) };
        } catch (error) {
          const e: RobotResult["error"] = error instanceof FleetError
            ? { code: error.code, message: error.hint }
            : {
              code: "robot_error",
              message: errorMessage(error),
            };
          results[i] = {
            robot: id,
            ok: false,
            error: e,
            ms: Math.round(performance.now() - started),
          };
        }
      }
    };
    const n = Math.max(1, Math.min(options.maxParallel ?? 8, ids.length));
    await Promise.all(Array.from({ length: n }, worker));
    return results;
  }

  /**
   * The fleet's e-stop: one broadcast on `rvr.<fleet>.estop` every member latches, then the
   * replies of every online robot (within `timeoutMs`, default 1000).
   */
  async stopAll(options: { timeoutMs?: number } = {}): Promise<StopAllResult> {
    const nc = this.#nc();
    const expected = this.registry.list().filter((e) => e.status === "online").map((e) => e.id);
    const result = await stopAll(nc, this.#subjects.estop, expected, options.timeoutMs ?? 1000);
    for (const r of result.robots) {
      this.#options.metrics?.estopsTotal.inc({ robot: r.robot, confirmed: String(r.confirmed) });
    }
    return result;
  }

  /**
   * Stops every robot this gateway drove (what it does when its client leaves), or with `session`
   * every robot that MCP session drove (when the session ends); see driven.ts. Never rejects;
   * each robot's outcome is in the result and the log.
   */
  async stopDriven(options: { timeoutMs?: number; session?: string } = {}): Promise<DrivenStop[]> {
    const timeoutMs = options.timeoutMs ?? 1000;
    return await this.driven.stopAll(
      options.session,
      (id) =>
        this.#breaker(id).bypass(() =>
          requestCall(this.#nc(), this.#subjects.call(id), {
            id,
            tool: "stop",
            args: {},
            timeoutMs,
          })
        ),
    );
  }

  /** The e-stop of one robot: its emergency_stop tool, past its circuit (it must get through). */
  async estop(id: string, options: CallOptions = {}): Promise<Record<string, unknown>> {
    this.#nc();
    this.#target(id);
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs ?? 5000;
    const spec = { id, tool: "emergency_stop", args: {}, timeoutMs };
    return await this.#breaker(id).bypass(() =>
      requestCall(this.#nc(), this.#subjects.call(id), spec)
    );
  }
}
