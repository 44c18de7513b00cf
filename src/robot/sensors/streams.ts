/**
 * SensorStreams: which sensors stream and at which period, the readings of every
 * `streaming_service_data_notify` (0x3D) decoded against the configuration that was sent, the
 * latest reading per sensor with its age, the readings on the bus ("robot.sample") and to
 * listeners, and Prometheus metrics. A facade over the catalogue (catalogue.ts), slot allocation
 * (slots.ts), the configuration on the robot (setup.ts), the cache (cache.ts), the fan-outs
 * (fan_out.ts) and the metrics (rate_metrics.ts).
 *
 * {@link SensorStreams.start} always reconfigures in full; restarting with other sensors is the
 * same clean sequence. After a reconnect with streams wanted, the same sequence runs on the new
 * link.
 *
 * **Decoding** goes through protocol's slot decoder (`decodeSlotData`): a notification whose token
 * the manager did not configure on that node counts as a drop (`unknown_token`), one whose length
 * does not match the slot's configuration as `undecodable`; neither throws. A token byte with a
 * non-zero status nibble gives readings with `valid: false`: they are cached, published and passed
 * to listeners (so the state is visible), but counted as drops (`invalid`) rather than samples.
 *
 * **Moves** ({@link SensorStreams.acquire}) add sensors to the user's set for as long as they hold
 * them, at an interval no longer than they ask for; the user's own set and interval come back
 * when the last holder releases. {@link SensorStreams.stop} stops the user's streams; sensors a
 * running move holds keep streaming until it releases them.
 *
 * Not handled here: the robot going to sleep stops streaming (configuration kept), and
 * `disable_notifications_and_active_commands` switches it off; call `start` again afterwards.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RobotMetrics as Metrics } from "../metrics.ts";
import type { RvrLink } from "../../link/mod.ts";
import { decodeSlotData, type NodeId, parseTokenByte } from "../../protocol/mod.ts";
import type { RobotBus } from "../events.ts";
import type { LinkProvider } from "../link_provider.ts";
import type { Rvr } from "../rvr.ts";
import { errorMessage } from "../../core/mod.ts";
import { checkInterval, checkSensors } from "./_checks.ts";
import { SensorCache, type SensorSnapshot } from "./cache.ts";
import {
  type DecodedSlot,
  type SensorName,
  type SensorReading,
  SENSORS,
  sensorValues,
} from "./catalogue.ts";
import { ReadingFanOut } from "./fan_out.ts";
import { SensorRateMetrics } from "./rate_metrics.ts";
import { type ApplyMode, StreamSetup, type WantedStreams } from "./setup.ts";

const log = getLogger(["rvr", "robot", "sensors"]);

export interface StreamSlotStatus {
  node: 1 | 2;
  token: number;
  /** Service keys in configuration (= data) order, e.g. "locator", "core_time_lower". */
  services: string[];
  /** Packed data bytes per notification (token byte excluded). */
  bytes: number;
}

export interface StreamStatus {
  /** True while the robot is configured and streaming (false while disconnected). */
  active: boolean;
  /** Sensors wanted now (the user's and those held by moves), in {@link SENSORS} order. */
  sensors: SensorName[];
  /** Period of the wanted streams, or null when nothing is wanted. */
  intervalMs: number | null;
  /** The slots of the configuration last sent (empty when none). */
  slots: StreamSlotStatus[];
}

export interface SensorStreamsOptions {
  links: LinkProvider;
  rvr: Rvr;
  bus: RobotBus;
  metrics: Metrics;
  /** A cached reading older than this is `stale` (RVR_SENSOR_CACHE_TTL in ms, >= 0). */
  cacheTtlMs: number;
  /** Period when start/acquire give none (RVR_SENSOR_INTERVAL), 33-65535 ms. */
  defaultIntervalMs: number;
}

interface Hold {
  readonly sensors: ReadonlySet<SensorName>;
  readonly intervalMs: number;
}

export class SensorStreams {
  readonly #links: LinkProvider;
  readonly #defaultIntervalMs: number;
  readonly #setup: StreamSetup;
  readonly #cache: SensorCache;
  readonly #fanOut: ReadingFanOut;
  readonly #rate: SensorRateMetrics;
  /** The user's set (start), or null after stop. */
  #user: { sensors: ReadonlySet<SensorName>; intervalMs: number } | null = null;
  readonly #holds = new Set<Hold>();
  #chain: Promise<unknown> = Promise.resolve();
  #unsubscribes: (() => void)[] = [];
  #linkUnsubscribes: (() => void)[] = [];
  #disposed = false;

  constructor(options: SensorStreamsOptions) {
    this.#links = options.links;
    this.#cache = new SensorCache(options.cacheTtlMs);
    this.#defaultIntervalMs = checkInterval(
      "defaultIntervalMs (RVR_SENSOR_INTERVAL)",
      options.defaultIntervalMs,
    );
    this.#setup = new StreamSetup(options.links, options.rvr);
    this.#fanOut = new ReadingFanOut(options.bus);
    this.#rate = new SensorRateMetrics(options.metrics);
    this.#unsubscribes.push(
      this.#links.onConnected((link) => this.#onConnected(link)),
      this.#links.onDisconnected((reason) => this.#setup.interrupted(reason)),
      options.metrics.addCollector(() =>
        this.#rate.collect(
          Date.now(),
          this.#setup.configured?.intervalMs ?? 0,
          this.#cache.readings(),
        )
      ),
    );
    const link = this.#links.peek();
    if (link !== undefined) this.#listen(link);
  }

  /** Period used when start/acquire name none, ms. */
  get defaultIntervalMs(): number {
    return this.#defaultIntervalMs;
  }

  /** A cached reading older than this is stale, ms. */
  get cacheTtlMs(): number {
    return this.#cache.ttlMs;
  }

  /**
   * Streams `sensors` (replacing the user's previous set) every `intervalMs` (33-65535, default
   * from the constructor): clear both nodes, configure the slots, start each node that has
   * sensors. Resolves with the status once the robot acknowledged every step. Rejects with
   * RangeError/TypeError for bad arguments (nothing sent), the robot layer's errors
   * (NotConnectedError, CircuitOpenError, ...) or StreamConfigurationError; after a failure
   * streaming is off (the user's set is forgotten).
   */
  start(sensors: SensorName[], options: { intervalMs?: number } = {}): Promise<StreamStatus> {
    try {
      const set = checkSensors("start(sensors)", sensors, false);
      const intervalMs = options.intervalMs === undefined
        ? this.#defaultIntervalMs
        : checkInterval("intervalMs", options.intervalMs);
      this.#checkUsable();
      return this.#serial(async () => {
        this.#user = { sensors: new Set(set), intervalMs };
        try {
          await this.#apply("force");
        } catch (error) {
          this.#user = null;
          throw error;
        }
        return this.status();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Stops the user's streams: `clear_streaming_service` on both nodes (clear also stops, section
   * 10.3), unless a running move still holds sensors (those keep streaming until it releases
   * them). Without a link nothing is sent and the wanted set is just forgotten.
   */
  stop(): Promise<StreamStatus> {
    try {
      this.#checkUsable();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#serial(async () => {
      this.#user = null;
      await this.#apply("exact");
      return this.status();
    });
  }

  /**
   * For moves: makes sure `sensors` stream at an interval of at most `intervalMs` (default from
   * the constructor), adding them to what streams now (a clean restart when the current
   * configuration does not cover them). Resolves with a release function; when the last holder
   * releases, the user's own set and interval are restored. Release never rejects (failures are
   * logged) and may be called more than once.
   */
  async acquire(
    sensors: SensorName[],
    options: { intervalMs?: number } = {},
  ): Promise<() => Promise<void>> {
    const set = checkSensors("acquire(sensors)", sensors, false);
    const intervalMs = options.intervalMs === undefined
      ? this.#defaultIntervalMs
      : checkInterval("intervalMs", options.intervalMs);
    this.#checkUsable();
    const hold: Hold = { sensors: new Set(set), intervalMs };
    this.#holds.add(hold);
    try {
      await this.#serial(() => this.#apply("cover"));
    } catch (error) {
      this.#holds.delete(hold);
      throw error;
    }
    let released = false;
    return async () => {
      if (released || !this.#holds.has(hold)) return;
      released = true;
      this.#holds.delete(hold);
      if (this.#holds.size > 0 || this.#disposed) return;
      try {
        await this.#serial(() => this.#apply("exact"));
      } catch (error) {
        log.error("Could not restore the sensor streams after a move: {error}", {
          error: errorMessage(error),
        });
      }
    };
  }

  status(): StreamStatus {
    const wanted = this.#wanted();
    return {
      active: this.#setup.active,
      sensors: wanted.sensors,
      intervalMs: wanted.sensors.length > 0 ? wanted.intervalMs : null,
      slots: (this.#setup.configured?.slots ?? []).map((s) => ({
        node: s.node,
        token: s.token,
        services: s.entries.map((e) => e.service.key),
        bytes: s.bytes,
      })),
    };
  }

  /**
   * Latest readings with their age, in {@link SENSORS} order: of every wanted sensor when
   * `sensors` is omitted, else of those named. Sensors without any reading yet are left out.
   */
  latest(sensors?: SensorName[]): SensorSnapshot[] {
    const names = sensors === undefined
      ? this.#wanted().sensors
      : checkSensors("latest(sensors)", sensors, true);
    return this.#cache.snapshots(names, Date.now());
  }

  /** Calls `listener` with each decoded reading (synchronously, in arrival order). Returns unsubscribe. */
  onReading(listener: (r: SensorReading) => void): () => void {
    return this.#fanOut.onReading(listener);
  }

  /** Unsubscribes everything (links, metrics collector, listeners). Sends nothing: stop() first. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const u of [...this.#unsubscribes, ...this.#linkUnsubscribes]) u();
    this.#unsubscribes = [];
    this.#linkUnsubscribes = [];
    this.#fanOut.clear();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- internals ---------------------------------------------------------------------------

  #checkUsable(): void {
    if (this.#disposed) throw new Error("SensorStreams was disposed; build a new one.");
  }

  /** Runs `fn` after every earlier set-up step finished (one configuration at a time). */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn, fn);
    this.#chain = run.then(() => undefined, () => undefined);
    return run;
  }

  /** The sensors and interval wanted now: the user's set plus every hold. */
  #wanted(): { sensors: SensorName[]; intervalMs: number } {
    const set = new Set<SensorName>(this.#user?.sensors ?? []);
    let intervalMs = this.#user?.intervalMs ?? Infinity;
    for (const h of this.#holds) {
      for (const s of h.sensors) set.add(s);
      intervalMs = Math.min(intervalMs, h.intervalMs);
    }
    return {
      sensors: SENSORS.filter((s) => set.has(s)),
      intervalMs: Number.isFinite(intervalMs) ? intervalMs : this.#defaultIntervalMs,
    };
  }

  /** Brings the robot to what is wanted now (see ApplyMode). */
  #apply(mode: ApplyMode): Promise<void> {
    const wanted: WantedStreams = this.#wanted();
    return this.#setup.apply(wanted, mode);
  }

  #onConnected(link: RvrLink): void {
    if (this.#disposed) return;
    this.#listen(link);
    if (this.#wanted().sensors.length === 0) return;
    log.info("Reconnected with sensor streams wanted: reconfiguring");
    void this.#serial(() => this.#apply("force")).catch((error) => {
      log.error("Could not restart the sensor streams after the reconnect: {error}", {
        error: errorMessage(error),
      });
    });
  }

  /** Subscribes to the stream data of one link until it closes. */
  #listen(link: RvrLink): void {
    const off = link.on(
      "streaming_service_data_notify",
      (values, meta) => this.#onData(meta.node, values.token, values.sensor_data),
    );
    let offClose = () => {};
    const release = () => {
      off();
      offClose();
      this.#linkUnsubscribes = this.#linkUnsubscribes.filter((u) => u !== release);
    };
    this.#linkUnsubscribes.push(release);
    offClose = link.onClose(release);
  }

  #onData(node: NodeId, tokenByte: number, data: readonly number[]): void {
    const at = Date.now();
    const { token, valid } = parseTokenByte(tokenByte);
    const slot = this.#setup.slotFor(node, token);
    if (slot === undefined) {
      this.#rate.drop("unknown_token", { node, token });
      return;
    }
    let decoded: DecodedSlot;
    try {
      decoded = decodeSlotData(slot.entries, data);
    } catch (error) {
      this.#rate.drop("undecodable", { node, token, error: errorMessage(error) });
      return;
    }
    for (const sensor of slot.sensors) {
      const reading: SensorReading = { sensor, values: sensorValues(sensor, decoded), valid, at };
      if (valid) this.#rate.sample(sensor, at);
      else this.#rate.drop("invalid", { node, token, sensor });
      this.#cache.set(reading);
      this.#fanOut.deliver(reading);
    }
  }
}
