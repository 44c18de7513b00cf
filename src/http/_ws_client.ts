/**
 * One client of the telemetry hub (telemetry_ws.ts) and its flow control: the frames it waits
 * for, what fits in its socket now, and what it loses; and reading what a client sends. The hub owns the shared state (the full
 * frame's text, the totals, the drop metric) and gives it to each client as a {@link ClientHub}.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { TelemetryFrame } from "../telemetry/mod.ts";

const log = getLogger(["rvr", "http", "telemetry"]);

/** A frame type: "full" or "delta". */
export type FrameType = TelemetryFrame["type"];

/** One client as `TelemetryHub.clientStats()` reports it. */
export interface TelemetryClientStats {
  readonly id: string;
  /** True once the socket opened (the hub sends nothing before). */
  readonly open: boolean;
  readonly sentFull: number;
  readonly sentDelta: number;
  /** Frames this client did not get (queue overflow, or waiting for a full frame). */
  readonly dropped: number;
  /** Times its queue overflowed. */
  readonly overflows: number;
  /** Full frames it asked for with {"type":"resync"}. */
  readonly resyncs: number;
  /** Frames waiting in its queue now. */
  readonly queued: number;
  /** True while its next frame must be a full one. */
  readonly awaitingFull: boolean;
  /** Bytes its socket has not written yet. */
  readonly bufferedBytes: number;
}

/** What a client needs of its hub. */
export interface ClientHub {
  /** Frames a backed-up client may have waiting before they are dropped. */
  readonly queueSize: number;
  /** A client with more bytes than this unsent in its socket is backed up. */
  readonly highWaterBytes: number;
  /** The full frame of the current state at the current seq, serialized. */
  fullText(): string;
  /** A frame went out to a client. */
  sent(type: FrameType): void;
  /** `frames` frames were dropped for `client`. */
  dropped(client: WsClient, frames: number): void;
  /** `socket.send` threw: the hub forgets the client. */
  sendFailed(client: WsClient, error: unknown): void;
}

/** The `type` of a client's message, or what came instead ("a binary frame", "not JSON (...)"). */
export function messageType(data: unknown): unknown {
  if (typeof data !== "string") return "a binary frame";
  try {
    return (JSON.parse(data) as { type?: unknown } | null)?.type;
  } catch (e) {
    return `not JSON (${e instanceof Error ? e.message : String(e)})`;
  }
}

/** A close reason within the 123 bytes RFC 6455 allows. */
export function closeReason(text: string): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= 123) return text;
  return new TextDecoder().decode(bytes.subarray(0, 120)).replace(/\uFFFD$/, "") + "...";
}

interface Queued {
  readonly text: string;
  readonly type: FrameType;
}

/** A telemetry client: its socket, its queue and its counters (see the hub's module doc). */
export class WsClient {
  readonly id: string;
  readonly socket: WebSocket;
  /** True once the socket opened. */
  open = false;
  /** True while its next frame must be a full one (it starts so). */
  awaitingFull = true;
  sentFull = 0;
  sentDelta = 0;
  dropped = 0;
  overflows = 0;
  resyncs = 0;
  /** Serialized frames waiting for room in the socket, oldest first. */
  #queue: Queued[] = [];
  readonly #hub: ClientHub;

  constructor(id: string, socket: WebSocket, hub: ClientHub) {
    this.id = id;
    this.socket = socket;
    this.#hub = hub;
  }

  /** True while it has frames waiting (or awaits a full frame) and its socket is open. */
  get pending(): boolean {
    return this.open && (this.#queue.length > 0 || this.awaitingFull);
  }

  /** Its counters now. */
  stats(): TelemetryClientStats {
    return {
      id: this.id,
      open: this.open,
      sentFull: this.sentFull,
      sentDelta: this.sentDelta,
      dropped: this.dropped,
      overflows: this.overflows,
      resyncs: this.resyncs,
      queued: this.#queue.length,
      awaitingFull: this.awaitingFull,
      bufferedBytes: this.open ? this.socket.bufferedAmount : 0,
    };
  }

  /** Hands it the latest frame: now, into its queue, or dropped. */
  offer(text: string, type: FrameType): void {
    if (this.awaitingFull) {
      // The full frame is built from the state this frame leads to, so it covers the frame:
      // either it goes out now, or the client is still backed up and this frame is dropped.
      this.drain();
      if (this.awaitingFull) this.#drop(1);
      return;
    }
    if (this.#queue.length > 0) this.drain();
    if (this.#queue.length === 0 && this.#hasRoom()) {
      this.#send(text, type);
      return;
    }
    this.#queue.push({ text, type });
    if (this.#queue.length > this.#hub.queueSize) {
      this.overflows++;
      this.#drop(this.#queue.length);
      this.#queue = [];
      this.awaitingFull = true;
      log.debug("Telemetry client {id} is backed up: dropped its queue, a full frame follows", {
        id: this.id,
      });
    }
  }

  /** It asked for a full frame: queued deltas are superseded by it (not lost: it holds them). */
  resync(): void {
    this.resyncs++;
    this.#queue = [];
    this.awaitingFull = true;
    this.drain();
  }

  /** Sends what fits: the full frame it awaits, or its queued deltas, while its socket has room. */
  drain(): void {
    if (!this.open) return;
    while (this.#hasRoom()) {
      if (this.awaitingFull) {
        this.awaitingFull = false;
        this.#queue = [];
        if (!this.#send(this.#hub.fullText(), "full")) return;
      } else if (this.#queue.length > 0) {
        const next = this.#queue.shift() as Queued;
        if (!this.#send(next.text, next.type)) return;
      } else {
        return;
      }
    }
  }

  /** Forgets its waiting frames (it is gone). */
  clear(): void {
    this.#queue = [];
  }

  #hasRoom(): boolean {
    return this.socket.readyState === WebSocket.OPEN &&
      this.socket.bufferedAmount <= this.#hub.highWaterBytes;
  }

  #send(text: string, type: FrameType): boolean {
    try {
      this.socket.send(text);
    } catch (e) {
      this.#hub.sendFailed(this, e);
      return false;
    }
    if (type === "full") this.sentFull++;
    else this.sentDelta++;
    this.#hub.sent(type);
    return true;
  }

  #drop(frames: number): void {
    this.dropped += frames;
    this.#hub.dropped(this, frames);
  }
}
