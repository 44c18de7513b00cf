/**
 * The telemetry wire formats other programs read, from proto/rvr/v1/telemetry.proto (the source
 * of truth; the message types are generated into ./gen by `deno task proto`):
 *
 * - one aggregator {@link Batch} as a `rvr.v1.TelemetryBatch`, what a fleet member publishes:
 *   {@link encodeBatch} writes protobuf binary, {@link encodeBatchJson} the proto3 JSON mapping of
 *   the same message, {@link decodeBatch} reads either back;
 * - the state frames of the telemetry stream (json_delta.ts) as a `rvr.v1.TelemetryFrame`:
 *   {@link protobufWire}, the binary {@link WireFormat} beside json.ts's text one.
 *
 * Not re-exported by src/telemetry/mod.ts: the fleet imports this file, and only when a fleet is
 * used, so a robot without one never loads protobuf.
 *
 * Free-form payloads (notification values, state aspects, safety data) travel as
 * `google.protobuf.Struct`: what JSON can say. A value JSON cannot say (a function, a symbol, a
 * cycle) never reaches the wire: it is dropped the way `JSON.stringify` drops it, and a cycle is
 * replaced by the string "[unserializable: <reason>]" so the rest of the batch still goes out.
 *
 * @module
 */
import {
  create,
  fromBinary,
  fromJsonString,
  type JsonObject,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import type { Batch, RobotEvent } from "../aggregator.ts";
import type { TelemetryFrame } from "../json_delta.ts";
import type { TelemetryState } from "../state.ts";
import type { WireFormat } from "./format.ts";
import {
  type Event,
  EventSchema,
  type TelemetryBatch,
  TelemetryBatchSchema,
  TelemetryFrameSchema,
} from "./gen/rvr/v1/telemetry_pb.ts";

export { type TelemetryBatch, TelemetryBatchSchema, TelemetryFrameSchema };

/** Who the batch is from: the robot id, its fleet, and whether it is the simulator. */
export interface BatchOrigin {
  readonly robotId: string;
  readonly fleet: string;
  readonly simulated: boolean;
}

/** The formats of a fleet's telemetry subject (RVR_FLEET_FORMAT, src/config.ts FLEET_FORMATS). */
export type FleetFormat = "protobuf" | "json";

/** A plain JSON object of `value` (a Struct's content); non-objects are wrapped as {value}. */
function struct(value: unknown): JsonObject {
  if (value === undefined || value === null) return {};
  let json: unknown;
  try {
    json = JSON.parse(JSON.stringify(value));
  } catch (e) {
    return { value: `[unserializable: ${(e as Error).message}]` };
  }
  if (json !== null && typeof json === "object" && !Array.isArray(json)) return json as JsonObject;
  return json === undefined ? {} : { value: json as JsonObject[string] };
}

const ms = (value: unknown): bigint =>
  typeof value === "number" && Number.isFinite(value) ? BigInt(Math.trunc(value)) : 0n;

function eventMessage(e: RobotEvent): Event {
  const base = { seq: BigInt(e.seq), publishedAtMs: ms(e.publishedAt) };
  switch (e.topic) {
    case "robot.notification": {
      const n = e.payload;
      return create(EventSchema, {
        ...base,
        kind: {
          case: "notification",
          value: { name: n.name, node: n.node, values: struct(n.values), atMs: ms(n.at) },
        },
      });
    }
    case "robot.sample": {
      const s = e.payload as { sensor?: unknown; values?: unknown; valid?: unknown; at: number };
      const values: Record<string, number> = {};
      if (s.values && typeof s.values === "object") {
        for (const [k, v] of Object.entries(s.values)) if (typeof v === "number") values[k] = v;
      }
      return create(EventSchema, {
        ...base,
        kind: {
          case: "sample",
          value: {
            sensor: typeof s.sensor === "string" ? s.sensor : "",
            values,
            valid: s.valid !== false,
            atMs: ms(s.at),
          },
        },
      });
    }
    case "robot.state": {
      const c = e.payload;
      return create(EventSchema, {
        ...base,
        kind: {
          case: "state",
          value: {
            aspect: c.aspect,
            previous: struct(c.previous),
            next: struct(c.next),
            reason: c.reason ?? "",
            atMs: ms(c.at),
          },
        },
      });
    }
    case "safety": {
      const s = e.payload;
      return create(EventSchema, {
        ...base,
        kind: {
          case: "safety",
          value: { type: s.type, detail: s.detail, data: struct(s.data), atMs: ms(s.at) },
        },
      });
    }
  }
}

/** The `rvr.v1.TelemetryBatch` message of one aggregator batch. */
export function batchMessage(batch: Batch, origin: BatchOrigin): TelemetryBatch {
  return create(TelemetryBatchSchema, {
    robotId: origin.robotId,
    fleet: origin.fleet,
    seq: BigInt(batch.seq),
    openedAtMs: ms(batch.openedAt),
    closedAtMs: ms(batch.closedAt),
    overflowed: batch.overflowed,
    simulated: origin.simulated,
    events: batch.events.map(eventMessage),
  });
}

/** The batch as protobuf binary. */
export function encodeBatch(batch: Batch, origin: BatchOrigin): Uint8Array {
  return toBinary(TelemetryBatchSchema, batchMessage(batch, origin));
}

/** The batch as the proto3 JSON mapping of the same message (field names in lowerCamelCase). */
export function encodeBatchJson(batch: Batch, origin: BatchOrigin): string {
  return toJsonString(TelemetryBatchSchema, batchMessage(batch, origin));
}

/** The batch in `format`. */
export function encodeBatchAs(
  format: FleetFormat,
  batch: Batch,
  origin: BatchOrigin,
): Uint8Array | string {
  return format === "json" ? encodeBatchJson(batch, origin) : encodeBatch(batch, origin);
}

/**
 * Reads a published batch in either format: JSON when the payload starts with `{`, else binary.
 * Throws (a protobuf-es error naming the field) when it is neither.
 */
export function decodeBatch(payload: Uint8Array): TelemetryBatch {
  if (payload[0] === 0x7b) {
    return fromJsonString(TelemetryBatchSchema, new TextDecoder().decode(payload));
  }
  return fromBinary(TelemetryBatchSchema, payload);
}

/**
 * State frames as `rvr.v1.TelemetryFrame` binary: the full state or the changes travel as a
 * `google.protobuf.Struct` (what JSON can say, like json.ts's text), seq and time as integers.
 */
export const protobufWire: WireFormat<Uint8Array> = {
  name: "protobuf",

  encode(frame: TelemetryFrame): Uint8Array {
    const body = frame.type === "full"
      ? { case: "state" as const, value: struct(frame.state) }
      : { case: "changes" as const, value: struct(frame.changes) };
    return toBinary(
      TelemetryFrameSchema,
      create(TelemetryFrameSchema, { seq: BigInt(frame.seq), atMs: ms(frame.at), body }),
    );
  },

  decode(data: Uint8Array): TelemetryFrame {
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(
        `A protobuf telemetry frame is binary (a Uint8Array), got ${
          data === null ? "null" : typeof data
        }; send the bytes of a rvr.v1.TelemetryFrame.`,
      );
    }
    let message;
    try {
      message = fromBinary(TelemetryFrameSchema, data);
    } catch (error) {
      throw new TypeError(
        `Telemetry message of ${data.length} bytes is not a rvr.v1.TelemetryFrame (${
          error instanceof Error ? error.message : error
        }).`,
        { cause: error },
      );
    }
    const seq = Number(message.seq);
    const at = Number(message.atMs);
    if (!Number.isSafeInteger(seq) || seq < 1) {
      throw new TypeError(
        `Telemetry frame of ${data.length} bytes has seq ${message.seq}; expected an integer >= 1.`,
      );
    }
    switch (message.body.case) {
      case "state":
        return { type: "full", seq, at, state: message.body.value as unknown as TelemetryState };
      case "changes":
        return { type: "delta", seq, at, changes: message.body.value };
      default:
        throw new TypeError(
          `Telemetry frame ${seq} has neither state nor changes; a rvr.v1.TelemetryFrame carries ` +
            `one of them.`,
        );
    }
  },
};
