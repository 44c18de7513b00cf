/**
 * A telemetry wire format: how a {@link TelemetryFrame} travels between the server and a client.
 * JSON text (json.ts) is the one the side port's WebSocket speaks today. A binary format (the fleet
 * issue's protobuf, wire/protobuf.ts, from proto/rvr/v1/telemetry.proto) implements this same
 * interface with `Uint8Array` data; the frames, their numbering and the client rules
 * (json_delta.ts) stay the same whatever the format. Pure: no Deno, no DOM, no logging.
 *
 * @module
 */
import type { TelemetryFrame } from "../json_delta.ts";

/** Encodes frames for the wire and decodes them back; `Data` is text or bytes. */
export interface WireFormat<Data extends string | Uint8Array> {
  /** Short name for logs and negotiation, e.g. "json". */
  readonly name: string;
  /** The frame as it goes on the wire. */
  encode(frame: TelemetryFrame): Data;
  /**
   * The frame `data` carries. TypeError naming what came instead when it is not a frame of this
   * format (the receiver counts it and asks for a full frame).
   */
  decode(data: Data): TelemetryFrame;
}
