/**
 * The link's counters and their snapshot (RvrLink.stats). Private to the link.
 *
 * @module
 */
import type { FrameDecoder } from "../protocol/mod.ts";
import type { RvrLinkStats } from "./link_types.ts";

export class LinkCounters {
  bytesIn = 0;
  bytesOut = 0;
  framesOut = 0;
  requests = 0;
  replies = 0;
  timeouts = 0;
  aborted = 0;
  /** Error replies by section 6 code name. */
  readonly errors: Record<string, number> = {};
  /** The link's own drop reasons (the decoder counts the frame errors). */
  readonly dropped = {
    unmatched: 0,
    undecodable: 0,
    handler_error: 0,
    unknown_notification: 0,
  };

  snapshot(decoder: FrameDecoder, notifications: number, pending: number): RvrLinkStats {
    const d = decoder.stats;
    return {
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      framesIn: d.frames,
      framesOut: this.framesOut,
      requests: this.requests,
      replies: this.replies,
      timeouts: this.timeouts,
      aborted: this.aborted,
      errors: { ...this.errors },
      notifications,
      dropped: { ...d.errors, ...this.dropped },
      pending,
    };
  }
}
