/**
 * Sensor streams (rvr-protocol.md section 10): which sensors stream, in which slots, at which
 * period; every `streaming_service_data_notify` (0x3D) decoded against the configuration that was
 * sent, into named values with units; a cache of the latest reading per sensor with its age; the
 * readings on the bus ("robot.sample") and to listeners; Prometheus metrics.
 *
 * **Sensors and their values** (units in the key names):
 *
 * | sensor | service(s) | slot, size | values |
 * |---|---|---|---|
 * | quaternion | Quaternion 0x00 | ST token 1, 32-bit | `w`, `x`, `y`, `z` (unit quaternion, -1..1) |
 * | imu | IMU 0x01 | ST token 1, 32-bit | `pitch_deg`, `roll_deg`, `yaw_deg` (yaw: + = left/CCW, 0 = forward at reset) |
 * | accelerometer | Accelerometer 0x02 | ST token 1, 32-bit | `x_g`, `y_g`, `z_g` (g; level at rest reads z = 1) |
 * | gyroscope | Gyroscope 0x04 | ST token 1, 32-bit | `x_dps`, `y_dps`, `z_dps` (deg/s; z + = turning left) |
 * | locator | Locator 0x06 | ST token 2, 32-bit | `x_m`, `y_m` (m; +x right, +y forward at reset) |
 * | velocity | Velocity 0x07 | ST token 2, 32-bit | `x_mps`, `y_mps` (m/s, locator axes) |
 * | speed | Speed 0x08 | ST token 2, 32-bit | `speed_mps` |
 * | encoders | Encoders 0x0B | ST token 2, 32-bit | `left_ticks`, `right_ticks` (signed i32: two's complement of the raw u32) |
 * | color_detection | ColorDetection 0x03 | Nordic token 1, 8-bit | `r`, `g`, `b` (0-255), `index` (0-255, 255 = none), `confidence` (0-1) |
 * | ambient_light | AmbientLight 0x0A | Nordic token 2, 32-bit | `lux` |
 * | core_time | CoreTimeLower 0x05 + CoreTimeUpper 0x09 | Nordic token 2, 32-bit each | `time_ms` = upper * 2^32 + lower |
 *
 * **Slots**: every service goes in the slot (processor and token) and at the size the official
 * SDKs use, as {@link STREAM_SLOTS} says (protocol/stream_slots.ts: the Python SDK's layout, core
 * time as the Node SDK and a real capture have it): a slot holds the wanted sensors of its token,
 * packed in that table's order. No other layout is ever sent, because nothing else can be tried on
 * a real robot here, and a real RVR is known to refuse at least one layout (AmbientLight 16-bit in
 * Nordic token 3, error 0x06). The one combination no SDK sends is ambient_light with core_time
 * (both Nordic token 2); it is sent as one slot and logged as such. Encoders and core time are
 * read as raw unsigned integers (the identity normalisation, section 10.4), never through floating
 * point. Speed shares ST token 2 with the locator, as in both SDKs: section 10.2 says firmware may
 * reject it, and then the whole slot's configuration is refused ({@link StreamConfigurationError}).
 *
 * **Set-up** (through `rvr.command`, so the queue and the circuit breaker apply; every command
 * asks for an acknowledgement so a refused configuration is reported): `clear_streaming_service`
 * to node 1 then node 2, then `configure_streaming_service` per slot (ascending token), then
 * `start_streaming_service(period)` to each node that has slots. Data keeps being decoded against
 * the old configuration until the node acknowledged the clear (everything the robot sent before
 * that ack was configured the old way), then against the new one. {@link SensorStreams.start}
 * always reconfigures in full; restarting with other sensors is the same clean sequence. After a
 * reconnect with streams wanted, the same sequence runs on the new link.
 *
 * **Colour detection** follows the color_detection stream: its samples are empty (index 255)
 * unless the robot's colour detection (and its white belly LED) is on, so the set-up ends with
 * `enable_color_detection(true)` when color_detection streams, and a configuration or stop without
 * it switches detection off again if the streams switched it on. After a reconnect it is sent
 * again (a robot that slept has it off).
 *
 * **Decoding**: a notification whose token the manager did not configure on that node counts as a
 * drop (`unknown_token`), one whose length does not match the slot's configuration as
 * `undecodable`; neither throws. A token byte with a non-zero status nibble gives readings with
 * `valid: false`: they are cached, published and passed to listeners (so the state is visible),
 * but counted as drops (`invalid`) rather than samples.
 *
 * **Moves** ({@link SensorStreams.acquire}) add sensors to the user's set for as long as they hold
 * them, at an interval no longer than they ask for; the user's own set and interval come back
 * when the last holder releases. {@link SensorStreams.stop} stops the user's streams; sensors a
 * running move holds keep streaming until it releases them.
 *
 * Metrics: rvr_sensor_samples_total{sensor} (valid readings), rvr_sensor_rate_hz{sensor}
 * ((n - 1) / span of the readings in the last {@link RATE_WINDOW_MS}, or 2.5 periods when that is
 * longer; 0 with fewer than two), rvr_sensor_data_age_seconds{sensor} (at scrape time),
 * rvr_sensor_drops_total{reason} (invalid, unknown_token, undecodable).
 *
 * Not handled here: the robot going to sleep stops streaming (configuration kept), and
 * `disable_notifications_and_active_commands` switches it off; call `start` again afterwards.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Metrics } from "../core/metrics.ts";
import { RobotError, type RvrLink } from "../link/mod.ts";
import {
  encodeSlotConfiguration,
  MAX_TOKENS,
  MIN_STREAM_PERIOD_MS,
  type NodeId,
  normalize,
  parseTokenByte,
  sdkSendingSlot,
  serviceByKey,
  slotDataLength,
  type SlotEntry,
  STREAM_SLOTS,
  type StreamService,
  type StreamServiceKey,
} from "../protocol/mod.ts";
import { StreamConfigurationError } from "./errors.ts";
import type { RobotBus } from "./events.ts";
import type { LinkProvider } from "./link_provider.ts";
import type { Rvr } from "./rvr.ts";

const log = getLogger(["rvr", "robot", "sensors"]);

/** User-facing sensor names, in the order status and readings list them. */
export const SENSORS = [
  "quaternion",
  "imu",
  "accelerometer",
  "gyroscope",
  "locator",
  "velocity",
  "speed",
  "encoders",
  "color_detection",
  "ambient_light",
  "core_time",
] as const;
export type SensorName = typeof SENSORS[number];

/** Why a streamed notification or reading was not counted as a sample. */
export const SENSOR_DROP_REASONS = ["invalid", "unknown_token", "undecodable"] as const;
export type SensorDropReason = typeof SENSOR_DROP_REASONS[number];

/** Largest data part of one slot: ST token 1 with all four services at 32-bit (section 4.1). */
export const MAX_SLOT_DATA_BYTES = 52;
/** Longest period start_streaming_service can carry (u16 ms). */
export const MAX_STREAM_PERIOD_MS = 65535;
/** Window of rvr_sensor_rate_hz (at least; 2.5 periods when longer). */
export const RATE_WINDOW_MS = 5000;

export interface SensorReading {
  sensor: SensorName;
  /** snake_case keys with units in the name (see the module doc). */
  values: Record<string, number>;
  /** False when the robot flagged the data invalid (token status nibble != 0). */
  valid: boolean;
  /** Epoch ms when decoded. */
  at: number;
}

export interface SensorSnapshot extends SensorReading {
  ageMs: number;
  /** ageMs > cacheTtlMs. */
  stale: boolean;
}

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

// ---- sensor table -------------------------------------------------------------------------

type Decoded = Record<string, Record<string, number>>;

interface SensorSpec {
  /** Its services; slot and size come from STREAM_SLOTS. */
  readonly services: readonly StreamServiceKey[];
  readonly values: (d: Decoded) => Record<string, number>;
}

const xyz = (suffix: string) => (v: Record<string, number>) => ({
  [`x${suffix}`]: v.X,
  [`y${suffix}`]: v.Y,
  [`z${suffix}`]: v.Z,
});

const SPECS: { readonly [S in SensorName]: SensorSpec } = {
  quaternion: {
    services: ["quaternion"],
    values: (d) => {
      const q = d.quaternion;
      return { w: q.W, x: q.X, y: q.Y, z: q.Z };
    },
  },
  imu: {
    services: ["imu"],
    values: (d) => ({ pitch_deg: d.imu.Pitch, roll_deg: d.imu.Roll, yaw_deg: d.imu.Yaw }),
  },
  accelerometer: {
    services: ["accelerometer"],
    values: (d) => xyz("_g")(d.accelerometer),
  },
  gyroscope: {
    services: ["gyroscope"],
    values: (d) => xyz("_dps")(d.gyroscope),
  },
  locator: {
    services: ["locator"],
    values: (d) => ({ x_m: d.locator.X, y_m: d.locator.Y }),
  },
  velocity: {
    services: ["velocity"],
    values: (d) => ({ x_mps: d.velocity.X, y_mps: d.velocity.Y }),
  },
  speed: {
    services: ["speed"],
    values: (d) => ({ speed_mps: d.speed.Speed }),
  },
  encoders: {
    services: ["encoders"],
    // Raw u32 -> signed i32 (two's complement), section 10.2 note.
    values: (d) => ({
      left_ticks: d.encoders.LeftTicks | 0,
      right_ticks: d.encoders.RightTicks | 0,
    }),
  },
  color_detection: {
    services: ["color_detection"],
    values: (d) => {
      const c = d.color_detection;
      return { r: c.R, g: c.G, b: c.B, index: c.Index, confidence: c.Confidence };
    },
  },
  ambient_light: {
    services: ["ambient_light"],
    values: (d) => ({ lux: d.ambient_light.Light }),
  },
  core_time: {
    services: ["core_time_lower", "core_time_upper"],
    values: (d) => ({ time_ms: d.core_time_upper.Time * 0x1_0000_0000 + d.core_time_lower.Time }),
  },
};

/** One configured slot: what goes on the wire and which sensors its data feeds. */
export interface SlotPlan {
  readonly node: NodeId;
  readonly token: number;
  readonly entries: readonly SlotEntry[];
  readonly sensors: readonly SensorName[];
  /** Data bytes per notification. */
  readonly bytes: number;
}

/** The sensor each streamed service feeds, by service id. */
const FEEDS: ReadonlyMap<number, { sensor: SensorName; service: StreamService }> = new Map(
  SENSORS.flatMap((sensor) =>
    SPECS[sensor].services.map((key) => {
      const service = serviceByKey(key);
      return [service.id, { sensor, service }] as const;
    })
  ),
);
for (const { sensor, service } of FEEDS.values()) {
  if (!STREAM_SLOTS.some((r) => r.serviceId === service.id)) {
    throw new Error(`Sensor ${sensor}: service ${service.name} has no row in STREAM_SLOTS.`);
  }
}

/**
 * Places `sensors` into the slots {@link STREAM_SLOTS} gives their services (see the module doc):
 * per node, ascending token, services in the table's order. Tokens without a wanted sensor are
 * left out, so the tokens of a plan need not be contiguous.
 */
export function allocateSlots(sensors: readonly SensorName[]): SlotPlan[] {
  const wanted = new Set(sensors);
  const out: SlotPlan[] = [];
  for (const node of [1, 2] as const) {
    for (let token = 1; token <= MAX_TOKENS; token++) {
      const entries: SlotEntry[] = [];
      const fed: SensorName[] = [];
      for (const row of STREAM_SLOTS) {
        const feed = FEEDS.get(row.serviceId);
        if (row.node !== node || row.token !== token || !feed || !wanted.has(feed.sensor)) continue;
        entries.push({ service: feed.service, bytes: row.bytes });
        if (!fed.includes(feed.sensor)) fed.push(feed.sensor);
      }
      if (entries.length > 0) {
        out.push({ node, token, entries, sensors: fed, bytes: slotDataLength(entries) });
      }
    }
  }
  return out;
}

/**
 * Decodes a slot's packed data (section 10.4) into values per service key and attribute.
 * Attributes whose normalisation is the identity (integers 0..2^N-1: encoders, core time, 8-bit
 * R/G/B/Index) are the raw integers. RangeError when the length does not match.
 */
export function decodeSlot(entries: readonly SlotEntry[], data: readonly number[]): Decoded {
  const expected = slotDataLength(entries);
  if (data.length !== expected) {
    throw new RangeError(
      `Streaming data has ${data.length} bytes; the slot's configuration (${
        entries.map((e) => `${e.service.key}/${e.bytes * 8}-bit`).join(", ")
      }) produces ${expected}.`,
    );
  }
  const out: Decoded = {};
  let o = 0;
  for (const e of entries) {
    const maxRaw = 2 ** (8 * e.bytes) - 1;
    const values: Record<string, number> = {};
    for (const a of e.service.attributes) {
      let raw = 0;
      for (let i = 0; i < e.bytes; i++) raw = raw * 256 + (data[o + i] & 0xff);
      o += e.bytes;
      values[a.name] = a.integer && a.min === 0 && a.max === maxRaw
        ? raw
        : normalize(raw, e.bytes, a);
    }
    out[e.service.key] = values;
  }
  return out;
}

// ---- argument checks ----------------------------------------------------------------------

function checkInterval(what: string, ms: unknown): number {
  if (
    typeof ms !== "number" || !Number.isInteger(ms) || ms < MIN_STREAM_PERIOD_MS ||
    ms > MAX_STREAM_PERIOD_MS
  ) {
    throw new RangeError(
      `${what} must be a whole number of ms from ${MIN_STREAM_PERIOD_MS} to ` +
        `${MAX_STREAM_PERIOD_MS}, got ${String(ms)}; e.g. 100 for 10 samples per second.`,
    );
  }
  return ms;
}

function checkSensors(what: string, sensors: unknown, allowEmpty: boolean): SensorName[] {
  if (!Array.isArray(sensors)) {
    throw new TypeError(
      `${what} must be an array of sensor names (${SENSORS.join(", ")}), got ${String(sensors)}.`,
    );
  }
  if (sensors.length === 0 && !allowEmpty) {
    throw new RangeError(
      `${what} is empty; name at least one of ${SENSORS.join(", ")} (or stop streaming).`,
    );
  }
  for (const s of sensors) {
    if (!(SENSORS as readonly unknown[]).includes(s)) {
      throw new RangeError(
        `Unknown sensor ${JSON.stringify(s)} in ${what}; use ${SENSORS.join(", ")}.`,
      );
    }
  }
  const set = new Set(sensors as SensorName[]);
  return SENSORS.filter((s) => set.has(s));
}

// ---- the manager --------------------------------------------------------------------------

interface Hold {
  readonly sensors: ReadonlySet<SensorName>;
  readonly intervalMs: number;
}

interface Configured {
  readonly sensors: readonly SensorName[];
  readonly intervalMs: number;
  readonly slots: readonly SlotPlan[];
}

/** Logs the 1st, 10th, 100th, ... occurrence of a drop reason. */
function isPowerOfTen(n: number): boolean {
  let x = n;
  while (x >= 10 && x % 10 === 0) x /= 10;
  return x === 1;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class SensorStreams {
  readonly #links: LinkProvider;
  readonly #rvr: Rvr;
  readonly #bus: RobotBus;
  readonly #metrics: Metrics;
  readonly #cacheTtlMs: number;
  readonly #defaultIntervalMs: number;
  /** The user's set (start), or null after stop. */
  #user: { sensors: ReadonlySet<SensorName>; intervalMs: number } | null = null;
  readonly #holds = new Set<Hold>();
  /** What the robot was last configured with, or null. */
  #configured: Configured | null = null;
  #active = false;
  /** The streams switched colour detection on (and have not switched it off since). */
  #colorDetection = false;
  /** Decoding table per node: token -> slot. */
  #decode: Record<NodeId, Map<number, SlotPlan>> = { 1: new Map(), 2: new Map() };
  readonly #cache = new Map<SensorName, SensorReading>();
  readonly #rateTimes = new Map<SensorName, number[]>();
  readonly #dropCounts: Record<SensorDropReason, number> = {
    invalid: 0,
    unknown_token: 0,
    undecodable: 0,
  };
  readonly #listeners = new Set<(r: SensorReading) => void>();
  #chain: Promise<unknown> = Promise.resolve();
  #unsubscribes: (() => void)[] = [];
  #linkUnsubscribes: (() => void)[] = [];
  #disposed = false;

  constructor(options: SensorStreamsOptions) {
    this.#links = options.links;
    this.#rvr = options.rvr;
    this.#bus = options.bus;
    this.#metrics = options.metrics;
    const ttl = options.cacheTtlMs;
    if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0) {
      throw new RangeError(
        `cacheTtlMs must be a number of ms >= 0 (RVR_SENSOR_CACHE_TTL), got ${String(ttl)}; ` +
          `e.g. 1000.`,
      );
    }
    this.#cacheTtlMs = ttl;
    this.#defaultIntervalMs = checkInterval(
      "defaultIntervalMs (RVR_SENSOR_INTERVAL)",
      options.defaultIntervalMs,
    );
    this.#unsubscribes.push(
      this.#links.onConnected((link) => this.#onConnected(link)),
      this.#links.onDisconnected((reason) => this.#onDisconnected(reason)),
      this.#metrics.addCollector(() => this.#collect()),
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
    return this.#cacheTtlMs;
  }

  /**
   * Streams `sensors` (replacing the user's previous set) every `intervalMs` (33-65535, default
   * from the constructor): clear both nodes, configure the slots, start each node that has
   * sensors. Resolves with the status once the robot acknowledged every step. Rejects with
   * RangeError/TypeError for bad arguments (nothing sent), the robot layer's errors
   * (NotConnectedError, CircuitOpenError, ...) or {@link StreamConfigurationError}; after a
   * failure streaming is off (the user's set is forgotten).
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
          error: describe(error),
        });
      }
    };
  }

  status(): StreamStatus {
    const wanted = this.#wanted();
    return {
      active: this.#active,
      sensors: wanted.sensors,
      intervalMs: wanted.sensors.length > 0 ? wanted.intervalMs : null,
      slots: (this.#configured?.slots ?? []).map((s) => ({
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
    const now = Date.now();
    const out: SensorSnapshot[] = [];
    for (const name of names) {
      const r = this.#cache.get(name);
      if (r === undefined) continue;
      const ageMs = Math.max(0, now - r.at);
      out.push({ ...r, values: { ...r.values }, ageMs, stale: ageMs > this.#cacheTtlMs });
    }
    return out;
  }

  /** Calls `listener` with each decoded reading (synchronously, in arrival order). Returns unsubscribe. */
  onReading(listener: (r: SensorReading) => void): () => void {
    if (typeof listener !== "function") {
      throw new TypeError(`onReading needs a function, got ${typeof listener}.`);
    }
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Unsubscribes everything (links, metrics collector, listeners). Sends nothing: stop() first. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const u of [...this.#unsubscribes, ...this.#linkUnsubscribes]) u();
    this.#unsubscribes = [];
    this.#linkUnsubscribes = [];
    this.#listeners.clear();
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

  /**
   * Brings the robot to the wanted configuration. "force": always reconfigure; "cover": skip when
   * the running configuration already streams every wanted sensor often enough; "exact": skip when
   * it is exactly the wanted one.
   */
  async #apply(mode: "force" | "cover" | "exact"): Promise<void> {
    const wanted = this.#wanted();
    const current = this.#configured;
    if (wanted.sensors.length === 0) {
      await this.#clearAll();
      return;
    }
    if (this.#active && current !== null && mode !== "force") {
      const covers = wanted.sensors.every((s) => current.sensors.includes(s)) &&
        current.intervalMs <= wanted.intervalMs;
      const exact = covers && current.sensors.length === wanted.sensors.length &&
        current.intervalMs === wanted.intervalMs;
      if ((mode === "cover" && covers) || (mode === "exact" && exact)) return;
    }
    const slots = allocateSlots(wanted.sensors);
    for (const slot of slots) {
      if (sdkSendingSlot(slot.node, slot.token, slot.entries) !== undefined) continue;
      log.warn(
        "Streaming slot {token} of node {node} ({services}) is a layout no official SDK sends; " +
          "it was never seen on real firmware",
        { node: slot.node, token: slot.token, services: slot.entries.map((e) => e.service.key) },
      );
    }
    this.#active = false;
    let step = { command: "clear_streaming_service", node: 1 as NodeId, what: "all slots" };
    try {
      for (const node of [1, 2] as const) {
        step = { command: "clear_streaming_service", node, what: "all slots" };
        await this.#rvr.command("clear_streaming_service", {}, {
          target: node,
          requestsResponse: true,
        });
        // Everything the robot sent before this ack used the old configuration.
        this.#decode[node] = new Map(
          slots.filter((s) => s.node === node).map((s) => [s.token, s]),
        );
      }
      this.#configured = { sensors: wanted.sensors, intervalMs: wanted.intervalMs, slots };
      for (const slot of slots) {
        step = {
          command: "configure_streaming_service",
          node: slot.node,
          what: `token ${slot.token}: ${slot.entries.map((e) => e.service.key).join(", ")}`,
        };
        await this.#rvr.command(
          "configure_streaming_service",
          { token: slot.token, configuration: encodeSlotConfiguration(slot.entries) },
          { target: slot.node, requestsResponse: true },
        );
      }
      for (const node of [1, 2] as const) {
        if (!slots.some((s) => s.node === node)) continue;
        step = {
          command: "start_streaming_service",
          node,
          what: `period ${wanted.intervalMs} ms`,
        };
        await this.#rvr.command("start_streaming_service", { period: wanted.intervalMs }, {
          target: node,
          requestsResponse: true,
        });
      }
      const color = wanted.sensors.includes("color_detection");
      step = { command: "enable_color_detection", node: 1, what: `is_enabled ${color}` };
      await this.#setColorDetection(color, mode === "force");
      this.#active = true;
      log.info("Streaming {sensors} every {intervalMs} ms in {slots} slots", {
        sensors: wanted.sensors,
        intervalMs: wanted.intervalMs,
        slots: slots.length,
      });
    } catch (error) {
      log.error("Sensor streaming set-up failed at {command} (node {node}, {what}): {error}", {
        ...step,
        error: describe(error),
      });
      this.#configured = null;
      this.#decode = { 1: new Map(), 2: new Map() };
      await this.#clearQuietly();
      if (error instanceof RobotError) {
        throw new StreamConfigurationError(step.command, step.node, step.what, error);
      }
      throw error;
    }
  }

  /** Clears both nodes (nothing wanted). Without a link only the local state is reset. */
  async #clearAll(): Promise<void> {
    this.#active = false;
    this.#configured = null;
    if (this.#links.peek() === undefined) {
      this.#decode = { 1: new Map(), 2: new Map() };
      return;
    }
    for (const node of [1, 2] as const) {
      await this.#rvr.command("clear_streaming_service", {}, {
        target: node,
        requestsResponse: true,
      });
      this.#decode[node] = new Map();
    }
    await this.#setColorDetection(false, false);
    log.info("Sensor streaming stopped");
  }

  /**
   * Switches the robot's colour detection on or off for the color_detection stream. Sends only a
   * change, or with `force` (a full reconfiguration: start, a new link) whenever on. Never switches
   * off what the streams did not switch on.
   */
  async #setColorDetection(on: boolean, force: boolean): Promise<void> {
    if (on ? this.#colorDetection && !force : !this.#colorDetection) return;
    await this.#rvr.command("enable_color_detection", { is_enabled: on }, {
      requestsResponse: true,
    });
    this.#colorDetection = on;
    log.info(on ? "Colour detection on for the color_detection stream" : "Colour detection off");
  }

  /** After a failed set-up: leave the robot with nothing configured, as far as it answers. */
  async #clearQuietly(): Promise<void> {
    if (this.#links.peek() === undefined) return;
    for (const node of [1, 2] as const) {
      try {
        await this.#rvr.command("clear_streaming_service", {}, {
          target: node,
          requestsResponse: true,
        });
      } catch (error) {
        log.warn("clear_streaming_service to node {node} after a failed set-up: {error}", {
          node,
          error: describe(error),
        });
      }
    }
  }

  #onConnected(link: RvrLink): void {
    if (this.#disposed) return;
    this.#listen(link);
    if (this.#wanted().sensors.length === 0) return;
    log.info("Reconnected with sensor streams wanted: reconfiguring");
    void this.#serial(() => this.#apply("force")).catch((error) => {
      log.error("Could not restart the sensor streams after the reconnect: {error}", {
        error: describe(error),
      });
    });
  }

  #onDisconnected(reason: string): void {
    if (this.#active) log.warn("Sensor streams interrupted: {reason}", { reason });
    this.#active = false;
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
    const slot = this.#decode[node].get(token);
    if (slot === undefined) {
      this.#drop("unknown_token", { node, token });
      return;
    }
    let decoded: Decoded;
    try {
      decoded = decodeSlot(slot.entries, data);
    } catch (error) {
      this.#drop("undecodable", { node, token, error: describe(error) });
      return;
    }
    for (const sensor of slot.sensors) {
      const reading: SensorReading = { sensor, values: SPECS[sensor].values(decoded), valid, at };
      if (valid) {
        this.#metrics.sensorSamplesTotal.inc({ sensor });
        let times = this.#rateTimes.get(sensor);
        if (times === undefined) this.#rateTimes.set(sensor, times = []);
        times.push(at);
        if (times.length > 4096) times.splice(0, times.length - 4096);
      } else {
        this.#drop("invalid", { node, token, sensor });
      }
      this.#cache.set(sensor, reading);
      this.#bus.publish("robot.sample", { ...reading });
      for (const listener of [...this.#listeners]) {
        try {
          listener(reading);
        } catch (error) {
          log.error("A sensor reading listener threw: {error}", { error: describe(error) });
        }
      }
    }
  }

  #drop(reason: SensorDropReason, detail: Record<string, unknown>): void {
    this.#metrics.sensorDropsTotal.inc({ reason });
    const n = ++this.#dropCounts[reason];
    if (isPowerOfTen(n)) {
      log.warn("Dropped sensor stream data ({reason}, occurrence {n})", { reason, n, ...detail });
    }
  }

  /** Rate and age gauges, at scrape time. */
  #collect(): void {
    const now = Date.now();
    const windowMs = Math.max(RATE_WINDOW_MS, 2.5 * (this.#configured?.intervalMs ?? 0));
    for (const [sensor, times] of this.#rateTimes) {
      let first = 0;
      while (first < times.length && times[first] <= now - windowMs) first++;
      if (first > 0) times.splice(0, first);
      const n = times.length;
      const spanMs = n >= 2 ? times[n - 1] - times[0] : 0;
      this.#metrics.sensorRateHz.set({ sensor }, spanMs > 0 ? ((n - 1) * 1000) / spanMs : 0);
    }
    for (const [sensor, r] of this.#cache) {
      this.#metrics.sensorDataAgeSeconds.set({ sensor }, Math.max(0, now - r.at) / 1000);
    }
  }
}
