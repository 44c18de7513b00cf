/**
 * Sensor streaming tools: start_sensor_streaming, stop_sensor_streaming and get_sensor_data (the
 * latest streamed readings, sending nothing to the robot), and the views of a stream status and a
 * reading that the rvr://sensors resource shares.
 *
 * @module
 */
import { z } from "zod";
import { MIN_STREAM_PERIOD_MS } from "../protocol/mod.ts";
import {
  MAX_STREAM_PERIOD_MS,
  type SensorName,
  SENSORS,
  type SensorSnapshot,
  type SensorStreams,
  type StreamStatus,
} from "../robot/mod.ts";
import { tool } from "./_tool.ts";

const streamStatusShape = {
  active: z.boolean().describe("True while the robot streams."),
  sensors: z.array(z.enum(SENSORS)).describe("The sensors streaming."),
  interval_ms: z.number().nullable().describe("Streaming period, ms (null when stopped)."),
  slots: z.array(z.object({
    node: z.union([z.literal(1), z.literal(2)]).describe("1 Nordic, 2 ST processor."),
    token: z.number().int(),
    services: z.array(z.string()),
    bytes: z.number().int(),
  })).describe("The robot's streaming slots as configured."),
};

function streamStatusView(s: StreamStatus): z.infer<z.ZodObject<typeof streamStatusShape>> {
  return {
    active: s.active,
    sensors: [...s.sensors],
    interval_ms: s.intervalMs,
    slots: s.slots.map((slot) => ({
      node: slot.node,
      token: slot.token,
      services: [...slot.services],
      bytes: slot.bytes,
    })),
  };
}

export const readingShape = z.object({
  sensor: z.enum(SENSORS),
  values: z.record(z.string(), z.number()).describe(
    "Values by name, units in the name (x_m, pitch_deg, x_g, x_dps, speed_mps, lux, ...).",
  ),
  valid: z.boolean().describe("False when the robot flagged the sample as invalid."),
  at: z.string().describe("ISO-8601 time the sample arrived."),
  age_ms: z.number().min(0),
  stale: z.boolean().describe("Older than the cache TTL (RVR_SENSOR_CACHE_TTL)."),
});

export function readingView(s: SensorSnapshot): z.infer<typeof readingShape> {
  return {
    sensor: s.sensor,
    values: { ...s.values },
    valid: s.valid,
    at: new Date(s.at).toISOString(),
    age_ms: s.ageMs,
    stale: s.stale,
  };
}

const sensorDataShape = {
  streaming: z.boolean(),
  interval_ms: z.number().nullable(),
  readings: z.array(readingShape),
  missing: z.array(z.enum(SENSORS)).describe("Asked-for or streaming sensors without a sample."),
  hint: z.string().nullable().describe("What to do when something is missing."),
};

export type SensorDataView = z.infer<z.ZodObject<typeof sensorDataShape>>;

/** The latest readings of `sensors` (default: those streaming), with what is missing. */
export function sensorDataView(
  streams: SensorStreams,
  sensors?: readonly SensorName[],
): SensorDataView {
  const status = streams.status();
  const wanted = sensors === undefined ? undefined : [...new Set(sensors)];
  const readings = streams.latest(wanted).map(readingView);
  const have = new Set(readings.map((r) => r.sensor));
  const missing = (wanted ?? status.sensors).filter((s) => !have.has(s));
  let hint: string | null = null;
  if (!status.active) {
    hint = "Nothing is streaming: call start_sensor_streaming with the sensors you need, then " +
      "read them here or from the rvr://sensors resource.";
  } else if (missing.length > 0) {
    const notStreaming = missing.filter((s) => !status.sensors.includes(s));
    hint = notStreaming.length > 0
      ? `Not streaming: ${notStreaming.join(", ")}; add them with start_sensor_streaming.`
      : "No sample yet for some sensors; wait one streaming interval.";
  }
  return {
    streaming: status.active,
    interval_ms: status.intervalMs,
    readings,
    missing,
    hint,
  };
}

export const startSensorStreaming = tool({
  name: "start_sensor_streaming",
  title: "Start sensor streaming",
  description:
    "Makes the robot send the chosen sensors every `interval_ms` (replacing the current " +
    "set). Read them with get_sensor_data or the rvr://sensors resource (subscribable). " +
    "Sensors: quaternion, imu (pitch/roll/yaw deg), accelerometer (g), gyroscope (deg/s), " +
    "locator (x/y m), velocity (m/s), speed (m/s), encoders (ticks), color_detection " +
    "(switches the colour sensor and its white belly LED on while it streams), " +
    "ambient_light (lux), core_time (ms). Not affected by the speed limit or e-stop.",
  input: {
    sensors: z.array(z.enum(SENSORS)).min(1).max(SENSORS.length).describe(
      "Sensors to stream (duplicates are ignored).",
    ),
    interval_ms: z.number().int().min(MIN_STREAM_PERIOD_MS).max(MAX_STREAM_PERIOD_MS)
      .optional().describe(
        `Period in ms, ${MIN_STREAM_PERIOD_MS}-${MAX_STREAM_PERIOD_MS} (the robot cannot ` +
          "stream faster than every 33 ms). Default: RVR_SENSOR_INTERVAL (250).",
      ),
  },
  output: streamStatusShape,
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler(robot, args) {
    const sensors = [...new Set(args.sensors)];
    const status = await robot.streams.start(
      sensors,
      args.interval_ms === undefined ? {} : { intervalMs: args.interval_ms },
    );
    return streamStatusView(status);
  },
});

export const stopSensorStreaming = tool({
  name: "stop_sensor_streaming",
  title: "Stop sensor streaming",
  description:
    "Stops streaming and clears the robot's streaming slots on both processors. The last " +
    "readings stay readable (they grow stale).",
  input: {},
  output: streamStatusShape,
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler(robot) {
    return streamStatusView(await robot.streams.stop());
  },
});

export const getSensorData = tool({
  name: "get_sensor_data",
  title: "Latest sensor data",
  description:
    "The latest streamed sample of each sensor, with its age in ms (stale = older than the " +
    "cache TTL). Without `sensors`, every streaming sensor. Sends nothing to the robot: start " +
    "streaming first (start_sensor_streaming); `missing` and `hint` say what is not there.",
  input: {
    sensors: z.array(z.enum(SENSORS)).min(1).max(SENSORS.length).optional().describe(
      "Only these sensors (default: all streaming).",
    ),
  },
  output: sensorDataShape,
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
  handler(robot, args) {
    return Promise.resolve(sensorDataView(robot.streams, args.sensors));
  },
});
