/**
 * The link layer's instruments: requests, round trips, timeouts, error replies, bytes and frames
 * on the wire, dropped frames, notifications and pending requests. The link exposes stats and a
 * request observer; the composed runtime (src/robot/runtime.ts) feeds these from them.
 *
 * @module
 */
import type { Counter, Gauge, Histogram, MetricsRegistry } from "../core/mod.ts";

/** The instruments linkInstruments() declares. */
export interface LinkInstruments {
  readonly linkRequestsTotal: Counter<"command">;
  readonly linkRequestSeconds: Histogram<"command">;
  readonly linkTimeoutsTotal: Counter<"command">;
  readonly linkRobotErrorsTotal: Counter<"code">;
  readonly linkBytesTotal: Counter<"direction">;
  readonly linkFramesTotal: Counter<"direction">;
  readonly linkFramesDroppedTotal: Counter<"reason">;
  readonly linkNotificationsTotal: Counter<"notification">;
  readonly linkPendingRequests: Gauge<string>;
}

/** Declares the link's instruments on `r` (see src/core/metrics.ts for how layers compose). */
export function linkInstruments(r: MetricsRegistry): LinkInstruments {
  return {
    linkRequestsTotal: r.counter(
      "rvr_link_requests_total",
      "Requests written to the robot, by command.",
      ["command"],
    ),
    linkRequestSeconds: r.histogram(
      "rvr_link_request_seconds",
      "Round trip from writing a request to its reply.",
      ["command"],
    ),
    linkTimeoutsTotal: r.counter(
      "rvr_link_timeouts_total",
      "Requests whose reply did not arrive in time, by command.",
      ["command"],
    ),
    linkRobotErrorsTotal: r.counter(
      "rvr_link_robot_errors_total",
      "Replies carrying an error code, by code name.",
      ["code"],
    ),
    linkBytesTotal: r.counter(
      "rvr_link_bytes_total",
      "Bytes on the wire, by direction (in, out).",
      ["direction"],
    ),
    linkFramesTotal: r.counter(
      "rvr_link_frames_total",
      "Whole frames on the wire, by direction (in, out).",
      ["direction"],
    ),
    linkFramesDroppedTotal: r.counter(
      "rvr_link_frames_dropped_total",
      "Received frames dropped, by reason (noise, bad_checksum, bad_escape, ..., unmatched).",
      ["reason"],
    ),
    linkNotificationsTotal: r.counter(
      "rvr_link_notifications_total",
      "Notifications received from the robot, by name.",
      ["notification"],
    ),
    linkPendingRequests: r.gauge(
      "rvr_link_pending_requests",
      "Requests awaiting a reply.",
    ),
  };
}
