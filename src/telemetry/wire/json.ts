/**
 * The JSON wire format the side port's telemetry WebSocket sends (one text message per frame) and
 * the dashboard reads:
 *
 * ```text
 * {"type":"full","seq":41,"at":1767000000000,"state":{"pose":{"x_m":0.1,...},...}}
 * {"type":"delta","seq":42,"at":1767000000005,"changes":{"pose.x_m":0.12,"speed_mps":0.3}}
 * ```
 *
 * The frames themselves (numbering, dotted paths, what a client does on a gap) are json_delta.ts's;
 * this file only puts them into text and takes them out. Pure: the server and the browser import
 * it.
 *
 * @module
 */
import type { TelemetryFrame } from "../json_delta.ts";
import type { WireFormat } from "./format.ts";

/** The first characters of `text`, for an error message. */
function excerpt(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}...` : text;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Frames as JSON text (see the module doc). */
export const jsonWire: WireFormat<string> = {
  name: "json",

  encode(frame: TelemetryFrame): string {
    return JSON.stringify(frame);
  },

  decode(data: string): TelemetryFrame {
    if (typeof data !== "string") {
      throw new TypeError(
        `A JSON telemetry frame is a text message, got ${
          data === null ? "null" : typeof data
        }; the side port sends text frames only.`,
      );
    }
    let frame: unknown;
    try {
      frame = JSON.parse(data);
    } catch (error) {
      throw new TypeError(
        `Telemetry message is not JSON (${error instanceof Error ? error.message : error}): ${
          excerpt(data)
        }`,
        { cause: error },
      );
    }
    const what = `: ${excerpt(data)}; expected ` +
      `{"type":"full"|"delta","seq","at","state"|"changes"}.`;
    if (!isObject(frame)) throw new TypeError(`Telemetry frame is not an object${what}`);
    if (!Number.isSafeInteger(frame.seq) || (frame.seq as number) < 1) {
      throw new TypeError(`Telemetry frame without an integer seq >= 1${what}`);
    }
    if (typeof frame.at !== "number" || !Number.isFinite(frame.at)) {
      throw new TypeError(`Telemetry frame without a finite at (epoch ms)${what}`);
    }
    if (frame.type !== "full" && frame.type !== "delta") {
      throw new TypeError(
        `Telemetry frame ${frame.seq} has type ${JSON.stringify(frame.type)}, not "full" or ` +
          `"delta"${what}`,
      );
    }
    const part = frame.type === "full" ? "state" : "changes";
    if (!isObject(frame[part])) {
      throw new TypeError(
        `Telemetry ${frame.type} frame ${frame.seq} without its ${part} object${what}`,
      );
    }
    return frame as TelemetryFrame;
  },
};
