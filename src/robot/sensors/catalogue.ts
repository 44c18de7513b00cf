/**
 * The sensors a user can stream, the services that feed each one and the values it reads as
 * (units in the key names):
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
 * Slot and size come from protocol's STREAM_SLOTS (see slots.ts). Values are decoded by protocol's
 * one slot decoder (`decodeSlotData`), whose integer attributes (encoders, core time, 8-bit colour)
 * are the raw unsigned integers, never rounded through floating point.
 *
 * @module
 */
import {
  serviceByKey,
  STREAM_SLOTS,
  type StreamService,
  type StreamServiceKey,
} from "../../protocol/mod.ts";

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

/** Longest period start_streaming_service can carry (u16 ms). */
export const MAX_STREAM_PERIOD_MS = 65535;

export interface SensorReading {
  sensor: SensorName;
  /** snake_case keys with units in the name (see the module doc). */
  values: Record<string, number>;
  /** False when the robot flagged the data invalid (token status nibble != 0). */
  valid: boolean;
  /** Epoch ms when decoded. */
  at: number;
}

/** Decoded slot data: values per service key and attribute (protocol's decodeSlotData). */
export type DecodedSlot = Readonly<Record<string, Readonly<Record<string, number>>>>;

interface SensorSpec {
  /** Its services; slot and size come from STREAM_SLOTS. */
  readonly services: readonly StreamServiceKey[];
  readonly values: (d: DecodedSlot) => Record<string, number>;
}

const xyz = (suffix: string) => (v: Readonly<Record<string, number>>) => ({
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

/** The values of `sensor` in a decoded slot that carries its services. */
export function sensorValues(sensor: SensorName, decoded: DecodedSlot): Record<string, number> {
  return SPECS[sensor].values(decoded);
}

/** The sensor a streamed service feeds, and the service. */
export interface SensorFeed {
  readonly sensor: SensorName;
  readonly service: StreamService;
}

/** The sensor each streamed service feeds, by service id. */
const FEEDS: ReadonlyMap<number, SensorFeed> = new Map(
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

/** The sensor the service with this id feeds, or undefined for a service no sensor reads. */
export function feedOf(serviceId: number): SensorFeed | undefined {
  return FEEDS.get(serviceId);
}
