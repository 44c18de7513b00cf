/**
 * What a simulated command sees and how it fails: the request context, the error with an ERR code,
 * and the callbacks the simulator's parts share (notify the host, guard a timer's work).
 */
import type { NodeId, NotificationName, ResponseOf } from "../protocol/mod.ts";

/** The byte transport the simulator talks on (the simulator's only import of it). */
export type { BytePort } from "../core/byte_port.ts";

/** A command outcome with a specific ERR code (anything else: RangeError = bad_data_value). */
export class CommandError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export interface RequestContext {
  readonly node: NodeId;
  /** Extra delay of this reply (wake latency). */
  replyDelayMs: number;
  /** Runs after the reply went out (or at once when none is sent), only on success. */
  after?: () => void;
}

/** Sends a notification to the host (dropped while silent, stopped or without a port). */
export type NotifyHost = <N extends NotificationName>(
  name: N,
  values: ResponseOf<N>,
  node?: NodeId,
) => void;

/** Runs timer or port work; an exception is logged and counted as a simulator bug, never thrown. */
export type Guard = (what: string, fn: () => void) => void;

export type TimerId = ReturnType<typeof setTimeout>;
