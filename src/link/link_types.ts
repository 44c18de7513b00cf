/**
 * The link's vocabulary: why frames are dropped, how requests end, the options of the link and
 * of one request, notification handlers, and the stats snapshot (rvr_link.ts).
 *
 * @module
 */
import {
  FRAME_ERRORS as FRAME_ERROR_REASONS,
  type NodeId,
  type NotificationName,
  type ResponseOf,
} from "../protocol/mod.ts";
import type { LinkClosedError } from "./errors.ts";

/** Why a received frame or packet was not delivered: the decoder's reasons plus the link's own. */
export const LINK_DROP_REASONS = [
  ...FRAME_ERROR_REASONS,
  /** A reply whose SEQ is not pending, or whose DID/CID differ from the pending request's. */
  "unmatched",
  /** A reply or notification whose payload does not fit its command's fields. */
  "undecodable",
  /** A notification (or close) handler threw. */
  "handler_error",
  /** A robot-initiated packet that is not a known notification, or from no known node. */
  "unknown_notification",
] as const;
export type LinkDropReason = (typeof LINK_DROP_REASONS)[number];

/** How a request ended, for observers (metrics). */
export const LINK_REQUEST_OUTCOMES = [
  "sent",
  "reply",
  "error_reply",
  "timeout",
  "aborted",
  "failed",
] as const;
export type LinkRequestOutcome = (typeof LINK_REQUEST_OUTCOMES)[number];

/** One finished request: `durationMs` from encoding to the reply (or the failure). */
export interface LinkRequestEvent {
  command: string;
  target: NodeId;
  outcome: LinkRequestOutcome;
  durationMs: number;
}

export interface RvrLinkOptions {
  /** Timeout for requests that expect a reply, unless the request passes its own. Default 1000. */
  defaultTimeoutMs?: number;
  /** Called once per finished request (sendImmediate included). Must not throw; if it does, logged. */
  onRequest?: (event: LinkRequestEvent) => void;
  /** Sequence number of the first request, 0-255. Default 0 (the Node SDK's; Python starts at 1). */
  firstSeq?: number;
}

export interface LinkRequestOptions {
  /** How long to wait for the reply. Default: the link's `defaultTimeoutMs`. */
  timeoutMs?: number;
  /** Aborting rejects the request with `signal.reason` (the reply, if it comes, is dropped). */
  signal?: AbortSignal;
  /** Processor to send to: 1 Nordic, 2 ST. Required for commands that run on either (echo...). */
  target?: NodeId;
  /**
   * Ask the robot for a reply (FLAGS 0x02). Default: true when the command has reply fields.
   * With `true` on a command without reply fields the (empty) acknowledgement is awaited, e.g. to
   * know that `wake` arrived (section 11). With `false` the request resolves once written.
   */
  requestsResponse?: boolean;
}

export interface SendImmediateOptions {
  /** Processor to send to: 1 Nordic, 2 ST. Required for commands that run on either. */
  target?: NodeId;
}

export interface NotificationMeta {
  /** The processor that sent it (the packet's SID, or the command's node when SID is absent). */
  node: NodeId;
}

export type NotificationHandler<N extends NotificationName> = (
  values: ResponseOf<N>,
  meta: NotificationMeta,
) => void;

export interface NotificationOptions {
  /** Only deliver notifications from this processor. Default: both. */
  node?: NodeId;
}

/** Called once when the link closes: `error` is set when it closed on its own (e.g. hangup). */
export type LinkCloseListener = (error?: LinkClosedError) => void;

export interface RvrLinkStats {
  bytesIn: number;
  bytesOut: number;
  /** Valid frames decoded. */
  framesIn: number;
  /** Packets handed to the port. */
  framesOut: number;
  /** Requests written (with or without reply wanted, sendImmediate included). */
  requests: number;
  /** Replies matched to a pending request (error replies included). */
  replies: number;
  timeouts: number;
  /** Requests rejected because their signal aborted. */
  aborted: number;
  /** Error replies by section 6 code name, e.g. `{ bad_data_value: 1 }`. */
  errors: Record<string, number>;
  /** Notifications decoded (delivered to zero or more handlers). */
  notifications: number;
  /** Frames and packets not delivered, by reason. */
  dropped: Record<LinkDropReason, number>;
  /** Requests waiting for a reply now. */
  pending: number;
}
