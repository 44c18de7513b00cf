/**
 * The side port's instruments: the telemetry WebSocket's clients, frames, drops and send time
 * (src/http/telemetry_ws.ts feeds them).
 *
 * @module
 */
import {
  type Counter,
  type Gauge,
  type Histogram,
  type Instrumented,
  MetricsRegistry,
  withInstruments,
} from "../core/mod.ts";

/** The instruments sidePortInstruments() declares. */
export interface SidePortInstruments {
  readonly telemetryClients: Gauge<string>;
  readonly telemetryFramesTotal: Counter<"type">;
  readonly telemetryWsDroppedTotal: Counter<"client">;
  readonly telemetryWsSendSeconds: Histogram<string>;
}

/** Declares the side port's instruments on `r`. */
export function sidePortInstruments(r: MetricsRegistry): SidePortInstruments {
  return {
    telemetryClients: r.gauge(
      "rvr_telemetry_clients",
      "Telemetry WebSocket clients connected to GET /telemetry.",
    ),
    telemetryFramesTotal: r.counter(
      "rvr_telemetry_frames_total",
      "Telemetry frames handed to WebSocket clients (one per client), by type (full, delta).",
      ["type"],
    ),
    telemetryWsDroppedTotal: r.counter(
      "rvr_telemetry_ws_dropped_total",
      'Telemetry frames a backed-up WebSocket client did not get, by client; when a client disconnects its count moves to client="closed".',
      ["client"],
    ),
    telemetryWsSendSeconds: r.histogram(
      "rvr_telemetry_ws_send_seconds",
      "Time to hand one telemetry frame to every WebSocket client (the broadcast loop, never waiting for a client).",
    ),
  };
}

/** What the telemetry hub takes: a registry carrying the side port's instruments. */
export type SidePortMetrics = Instrumented<SidePortInstruments>;

/** A registry (a new one unless given) with the side port's instruments declared on it. */
export function sidePortMetrics(
  registry: MetricsRegistry = new MetricsRegistry(),
): SidePortMetrics {
  return withInstruments(registry, sidePortInstruments(registry));
}
