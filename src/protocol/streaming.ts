/**
 * Sensor streaming (docs/protocol.md section 10): the service table, slot configuration, the packed
 * notification layout, and normalisation with its inverse. Which slot and size each service gets
 * is in stream_slots.ts.
 */
import type { NodeId } from "./constants.ts";

export interface StreamAttribute {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Decoded values are truncated to integers (R, G, B, Index, encoder ticks, core time). */
  readonly integer: boolean;
  readonly unit: string;
}

export interface StreamService {
  readonly id: number;
  /** Sphero's name, e.g. "Accelerometer". */
  readonly name: string;
  /** snake_case key used in decoded samples, e.g. "accelerometer". */
  readonly key: string;
  /** Processors that stream it. */
  readonly nodes: readonly NodeId[];
  readonly attributes: readonly StreamAttribute[];
}

/** Attribute widths the configure command can ask for. */
export const DATA_BYTES = [1, 2, 4] as const;
export type DataBytes = (typeof DATA_BYTES)[number];
/** Size code in configure_streaming_service: 0 = 8-bit, 1 = 16-bit, 2 = 32-bit. */
export const SIZE_CODE_BYTES: Readonly<Record<number, DataBytes>> = { 0: 1, 1: 2, 2: 4 };

const attr = (name: string, min: number, max: number, unit: string, integer = false) => ({
  name,
  min,
  max,
  unit,
  integer,
});

export const STREAM_SERVICES = [
  {
    id: 0x0000,
    name: "Quaternion",
    key: "quaternion",
    nodes: [2],
    attributes: [
      attr("W", -1, 1, ""),
      attr("X", -1, 1, ""),
      attr("Y", -1, 1, ""),
      attr("Z", -1, 1, ""),
    ],
  },
  {
    id: 0x0001,
    name: "IMU",
    key: "imu",
    nodes: [2],
    attributes: [
      attr("Pitch", -180, 180, "deg"),
      attr("Roll", -90, 90, "deg"),
      attr("Yaw", -180, 180, "deg"),
    ],
  },
  {
    id: 0x0002,
    name: "Accelerometer",
    key: "accelerometer",
    nodes: [2],
    attributes: [attr("X", -16, 16, "g"), attr("Y", -16, 16, "g"), attr("Z", -16, 16, "g")],
  },
  {
    id: 0x0003,
    name: "ColorDetection",
    key: "color_detection",
    nodes: [1],
    attributes: [
      attr("R", 0, 255, "", true),
      attr("G", 0, 255, "", true),
      attr("B", 0, 255, "", true),
      attr("Index", 0, 255, "", true),
      attr("Confidence", 0, 1, ""),
    ],
  },
  {
    id: 0x0004,
    name: "Gyroscope",
    key: "gyroscope",
    nodes: [2],
    attributes: [
      attr("X", -2000, 2000, "deg/s"),
      attr("Y", -2000, 2000, "deg/s"),
      attr("Z", -2000, 2000, "deg/s"),
    ],
  },
  {
    id: 0x0005,
    name: "CoreTimeLower",
    key: "core_time_lower",
    nodes: [1, 2],
    attributes: [attr("Time", 0, 4294967295, "ms", true)],
  },
  {
    id: 0x0006,
    name: "Locator",
    key: "locator",
    nodes: [2],
    attributes: [attr("X", -16000, 16000, "m"), attr("Y", -16000, 16000, "m")],
  },
  {
    id: 0x0007,
    name: "Velocity",
    key: "velocity",
    nodes: [2],
    attributes: [attr("X", -5, 5, "m/s"), attr("Y", -5, 5, "m/s")],
  },
  {
    id: 0x0008,
    name: "Speed",
    key: "speed",
    nodes: [2],
    attributes: [attr("Speed", 0, 5, "m/s")],
  },
  {
    id: 0x0009,
    name: "CoreTimeUpper",
    key: "core_time_upper",
    nodes: [1, 2],
    attributes: [attr("Time", 0, 4294967295, "ms", true)],
  },
  {
    id: 0x000a,
    name: "AmbientLight",
    key: "ambient_light",
    nodes: [1],
    attributes: [attr("Light", 0, 120000, "lux")],
  },
  {
    id: 0x000b,
    name: "Encoders",
    key: "encoders",
    nodes: [2],
    attributes: [
      attr("LeftTicks", 0, 4294967295, "ticks", true),
      attr("RightTicks", 0, 4294967295, "ticks", true),
    ],
  },
] as const satisfies readonly StreamService[];

export type StreamServiceKey = (typeof STREAM_SERVICES)[number]["key"];
export const STREAM_SERVICE_KEYS = STREAM_SERVICES.map((s) => s.key) as StreamServiceKey[];

const BY_ID = new Map<number, StreamService>(STREAM_SERVICES.map((s) => [s.id, s]));
const BY_KEY = new Map<string, StreamService>(STREAM_SERVICES.map((s) => [s.key, s]));

/** Slots per processor, services per slot, configuration bytes per slot (section 10.1). */
export const MAX_TOKENS = 4;
export const MAX_SERVICES_PER_SLOT = 5;
/**
 * Shortest streaming period: the Python SDK refuses shorter ones (`min_streaming_interval`); the
 * simulator answers a shorter start_streaming_service with `failed` 0x06.
 */
export const MIN_STREAM_PERIOD_MS = 33;

export function serviceById(id: number): StreamService | undefined {
  return BY_ID.get(id);
}

/** The service for a snake_case key or Sphero name; throws naming the valid keys. */
export function serviceByKey(key: string): StreamService {
  const s = BY_KEY.get(key) ?? STREAM_SERVICES.find((x) => x.name === key);
  if (!s) {
    throw new TypeError(
      `Unknown sensor stream "${key}"; use one of: ${STREAM_SERVICE_KEYS.join(", ")}.`,
    );
  }
  return s;
}

/** One service in a slot, with its attribute width. */
export interface SlotEntry {
  readonly service: StreamService;
  readonly bytes: DataBytes;
}

function maxRaw(bytes: DataBytes): number {
  return bytes === 4 ? 0xffffffff : bytes === 2 ? 0xffff : 0xff;
}

/**
 * Raw unsigned value -> engineering value: `min + raw / (2^N - 1) * (max - min)` (both SDKs'
 * formula, in their order of operations, so real attributes give the very same double). Integer
 * attributes are that value truncated, computed in integers, so they are exact by construction
 * rather than by the luck of rounding: the raw value itself whenever the range is 0..2^N-1
 * (encoders and core time at 32-bit, R/G/B/Index at 8-bit).
 */
export function normalize(raw: number, bytes: DataBytes, a: StreamAttribute): number {
  if (a.integer) return normalizeInteger(raw, maxRaw(bytes), a.min, a.max - a.min);
  return a.min + (raw / maxRaw(bytes)) * (a.max - a.min);
}

/**
 * trunc(min + raw * span / top), exact. The range 0..top itself (the identity) is the common case
 * on the wire; other sizes (R at 16-bit, encoders at 8-bit) go through BigInt, whose division
 * truncates like Math.trunc.
 */
function normalizeInteger(raw: number, top: number, min: number, span: number): number {
  if (span === top) return min + raw;
  const t = BigInt(top);
  return Number((BigInt(min) * t + BigInt(raw) * BigInt(span)) / t);
}

/** Engineering value -> raw unsigned value (clamped to the attribute's range). */
export function denormalize(value: number, bytes: DataBytes, a: StreamAttribute): number {
  const clamped = Math.min(a.max, Math.max(a.min, value));
  return Math.round(((clamped - a.min) / (a.max - a.min)) * maxRaw(bytes));
}

/** Bytes of packed data one slot produces per notification (token byte excluded). */
export function slotDataLength(entries: readonly SlotEntry[]): number {
  let n = 0;
  for (const e of entries) n += e.service.attributes.length * e.bytes;
  return n;
}

/** `configuration` bytes of configure_streaming_service for one slot. */
export function encodeSlotConfiguration(entries: readonly SlotEntry[]): number[] {
  if (entries.length === 0 || entries.length > MAX_SERVICES_PER_SLOT) {
    throw new RangeError(
      `A streaming slot holds 1 to ${MAX_SERVICES_PER_SLOT} services, got ${entries.length}.`,
    );
  }
  const out: number[] = [];
  for (const e of entries) {
    const code = e.bytes === 1 ? 0 : e.bytes === 2 ? 1 : 2;
    out.push(e.service.id >> 8, e.service.id & 0xff, code);
  }
  return out;
}

/**
 * Parses configure_streaming_service bytes; returns the slot entries or a reason the robot
 * would reject them (length not a multiple of 3, unknown service, bad size, wrong node).
 */
export function parseSlotConfiguration(
  configuration: readonly number[],
  node: NodeId,
): SlotEntry[] | string {
  if (configuration.length === 0 || configuration.length % 3 !== 0) {
    return `configuration has ${configuration.length} bytes; it takes 3 per service`;
  }
  if (configuration.length / 3 > MAX_SERVICES_PER_SLOT) {
    return `configuration names ${
      configuration.length / 3
    } services; a slot holds at most ${MAX_SERVICES_PER_SLOT}`;
  }
  const out: SlotEntry[] = [];
  for (let i = 0; i < configuration.length; i += 3) {
    const id = (configuration[i] << 8) | configuration[i + 1];
    const service = serviceById(id);
    if (!service) return `unknown service 0x${id.toString(16).padStart(4, "0")}`;
    if (!service.nodes.includes(node)) return `service ${service.name} is not on node ${node}`;
    const bytes = SIZE_CODE_BYTES[configuration[i + 2]];
    if (bytes === undefined) return `bad size code ${configuration[i + 2]} for ${service.name}`;
    out.push({ service, bytes });
  }
  return out;
}

/** A decoded slot: validity (token high nibble 0) and values per service key and attribute. */
export interface StreamSample {
  token: number;
  valid: boolean;
  values: Record<string, Record<string, number>>;
}

/** Splits the token byte: low nibble token, high nibble status (0 = valid). */
export function parseTokenByte(byte: number): { token: number; valid: boolean } {
  return { token: byte & 0x0f, valid: (byte & 0xf0) === 0 };
}

/**
 * Decodes a streaming_service_data_notify payload (`sensor_data` after the token byte: the link's
 * byte array or a Uint8Array, read as is, never copied) against the slot's entries. Throws
 * RangeError when the length does not match the configuration.
 */
export function decodeSlotData(
  entries: readonly SlotEntry[],
  data: ArrayLike<number>,
): Record<string, Record<string, number>> {
  const expected = slotDataLength(entries);
  if (data.length !== expected) {
    throw new RangeError(
      `Streaming data has ${data.length} bytes; the slot's configuration (${
        entries.map((e) => `${e.service.name}/${e.bytes * 8}-bit`).join(", ")
      }) produces ${expected}.`,
    );
  }
  const out: Record<string, Record<string, number>> = {};
  let o = 0;
  for (const e of entries) {
    const values: Record<string, number> = {};
    for (const a of e.service.attributes) {
      let raw = 0; // unsigned big-endian
      for (let i = 0; i < e.bytes; i++) raw = raw * 256 + (data[o + i] & 0xff);
      values[a.name] = normalize(raw, e.bytes, a);
      o += e.bytes;
    }
    out[e.service.key] = values;
  }
  return out;
}

/**
 * Packs values for one slot (robot side). `values[service.key][attribute]`; a missing value
 * packs as the attribute's mid-range raw value.
 */
export function encodeSlotData(
  entries: readonly SlotEntry[],
  values: Readonly<Record<string, Readonly<Record<string, number>>>>,
): Uint8Array {
  const out = new Uint8Array(slotDataLength(entries));
  const view = new DataView(out.buffer);
  let o = 0;
  for (const e of entries) {
    const sv = values[e.service.key];
    for (const a of e.service.attributes) {
      const v = sv?.[a.name];
      const raw = v === undefined ? Math.round(maxRaw(e.bytes) / 2) : denormalize(v, e.bytes, a);
      if (e.bytes === 4) view.setUint32(o, raw);
      else if (e.bytes === 2) view.setUint16(o, raw);
      else out[o] = raw;
      o += e.bytes;
    }
  }
  return out;
}
