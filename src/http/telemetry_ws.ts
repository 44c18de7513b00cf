/**
 * The telemetry WebSocket hub behind `GET /telemetry`: one delta stream, fanned out to every
 * client, with a bounded send queue per client so that a slow client loses frames (and is sent a
 * full frame instead) but never slows the others.
 *
 * ## Protocol
 *
 * Text frames of JSON (src/telemetry/wire/json.ts). Server to client: a {@link TelemetryFrame}
 * (src/telemetry/json_delta.ts):
 *
 * ```text
 * {"type":"full","seq":41,"at":1767000000000,"state":{"pose":{"x_m":0.1,...},...}}
 * {"type":"delta","seq":42,"at":1767000000005,"changes":{"pose.x_m":0.12,"speed_mps":0.3}}
 * ```
 *
 * Client to server: only `{"type":"resync"}` (send me a full frame). Anything else (binary, not
 * JSON, another type) closes the socket with code 1003 and a reason that says what to send.
 *
 * 1. The first frame on every connection is a full frame.
 * 2. There is one delta stream and one seq counter, shared by every client: delta `S` holds the
 *    leaves (dotted paths) that changed between the states `S - 1` and `S`, nothing else.
 * 3. A full frame carries the seq of the state it shows: the last delta broadcast (or the
 *    hub's initial state); it is `TelemetryModel.lastFull()`. It takes no new number, so sending
 *    one to one client opens no gap for the others; after a full frame at `S` that client's next frame is delta `S + 1` (or another
 *    full frame).
 * 4. Client rule (what {@link applyFrame} and the dashboard do): a full frame always replaces the
 *    state (last = its seq). A delta is applied only when its seq is last + 1; on any other seq,
 *    or a delta before any full frame, the client ignores deltas, sends `{"type":"resync"}` once,
 *    and waits for the full frame.
 * 5. Flow control (per client in _ws_client.ts): a frame is serialized once and handed to each socket with `send()`, never
 *    awaited. A client whose `socket.bufferedAmount` (bytes Deno has not yet written to the TCP
 *    socket) is above `highWaterBytes` is backed up: its frames wait in its own queue, at most
 *    `queueSize` of them. When that queue overflows, its frames are dropped, counted per client
 *    (`rvr_telemetry_ws_dropped_total{client}`), and the client is marked: its next frame is a
 *    full one, sent as soon as its socket is below the mark again; deltas broadcast while it waits
 *    are dropped (and counted) too, because that full frame covers them. Queues drain on every
 *    broadcast and, between broadcasts, on a timer every `drainIntervalMs`. Per client the hub
 *    holds at most `highWaterBytes` + `queueSize` frames, so a stuck client costs bounded memory.
 *    The operating system's TCP buffers come first: on loopback they absorb a few MB before
 *    `bufferedAmount` rises at all.
 *
 * **Why one state is enough.** Every client that is keeping up receives exactly the same
 * sequence of deltas, so the one model's frames ({@link TelemetryModel.nextFrame}) serve them all.
 * A client falls out of that sequence only by missing frames: when it connects (it has nothing
 * yet), when its queue overflows (the hub knows) or when it sees a gap (it asks). In each case a
 * full frame of the current state at the current seq puts it back on the shared stream, so no
 * per-client diff state is needed. The hub folds a batch and frames it in one step, so the
 * model's state is always the last delta's: full `S` followed by delta `S + 1` is exactly state
 * `S + 1`. That model is the only state store between a robot sample and the sockets: no copy
 * of the previous state is kept to diff against, and a full frame is serialized only when a
 * client needs one.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { SidePortMetrics as Metrics } from "./metrics.ts";
import {
  type Batch,
  jsonWire,
  type TelemetryFrame,
  type TelemetryModel,
  type TelemetryState,
} from "../telemetry/mod.ts";
import {
  type ClientHub,
  closeReason,
  type FrameType,
  messageType,
  type TelemetryClientStats,
  WsClient,
} from "./_ws_client.ts";

const log = getLogger(["rvr", "http", "telemetry"]);

export type { TelemetryClientStats };

/** What a client may send. */
export const CLIENT_MESSAGE_TYPES = ["resync"] as const;
export type ClientMessageType = typeof CLIENT_MESSAGE_TYPES[number];

/** WebSocket close code for a message the protocol does not have (RFC 6455: unsupported data). */
export const CLOSE_UNSUPPORTED = 1003;
/** WebSocket close code when the server shuts down (going away). */
export const CLOSE_GOING_AWAY = 1001;

/** Defaults of {@link TelemetryHubOptions}. */
export const DEFAULT_QUEUE_SIZE = 64;
export const DEFAULT_HIGH_WATER_BYTES = 64 * 1024;
export const DEFAULT_DRAIN_INTERVAL_MS = 10;

export interface TelemetryHubOptions {
  /**
   * The state the frames show; batches are applied to it. The hub owns it from now on: one that
   * has made no frame yet (`new TelemetryModel(...)` or `TelemetryModel.fromSnapshot(...)`).
   */
  model: TelemetryModel;
  metrics: Metrics;
  /** Frames a backed-up client may have waiting before they are dropped. Default 64. */
  queueSize?: number;
  /** A client with more bytes than this unsent in its socket is backed up. Default 64 KiB. */
  highWaterBytes?: number;
  /** How often waiting frames are retried when no broadcast comes, ms. Default 10. */
  drainIntervalMs?: number;
  /** Epoch ms for frame `at` (tests). Default Date.now. */
  now?: () => number;
}

export interface TelemetryHubStats {
  readonly clients: number;
  /** Frames broadcast (deltas; the initial full frame is not broadcast). */
  readonly broadcasts: number;
  readonly sentFull: number;
  readonly sentDelta: number;
  /** Frames dropped for backed-up clients, all clients ever. */
  readonly dropped: number;
  readonly resyncs: number;
  /** Clients closed for sending something other than {"type":"resync"}. */
  readonly badMessages: number;
  /** send() calls that threw (the client is dropped). */
  readonly sendErrors: number;
  /** The seq of the last frame (the state a full frame shows now). */
  readonly seq: number;
}

/** Input of {@link TelemetryHub.publish}: an aggregator batch (only its events are read). */
export type PublishInput = Pick<Batch, "events">;

let hubCount = 0;

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class TelemetryHub {
  readonly #model: TelemetryModel;
  readonly #metrics: Metrics;
  readonly #drainIntervalMs: number;
  readonly #now: () => number;
  readonly #clients = new Map<string, WsClient>();
  /** What every client gets of the hub: limits, the full frame, the totals. */
  readonly #clientHub: ClientHub;
  readonly #uncollect: () => void;
  readonly #metricsKey: string;
  /** The full frame of the last frame's state at its seq (model.lastFull()), serialized once. */
  #fullText: string | undefined;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #broadcasts = 0;
  #sentFull = 0;
  #sentDelta = 0;
  #dropped = 0;
  #resyncs = 0;
  #badMessages = 0;
  #sendErrors = 0;

  constructor(options: TelemetryHubOptions) {
    const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    if (!Number.isInteger(queueSize) || queueSize < 1) {
      throw new RangeError(
        `TelemetryHub queueSize must be an integer >= 1 (frames per client), got ${queueSize}.`,
      );
    }
    const highWaterBytes = options.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES;
    if (!Number.isFinite(highWaterBytes) || highWaterBytes < 0) {
      throw new RangeError(
        `TelemetryHub highWaterBytes must be a number of bytes >= 0, got ${highWaterBytes}.`,
      );
    }
    const drainIntervalMs = options.drainIntervalMs ?? DEFAULT_DRAIN_INTERVAL_MS;
    if (!Number.isFinite(drainIntervalMs) || drainIntervalMs < 1) {
      throw new RangeError(
        `TelemetryHub drainIntervalMs must be >= 1 ms, got ${drainIntervalMs}.`,
      );
    }
    if (options.model.seq !== 0) {
      throw new TypeError(
        `The telemetry hub needs a model of its own that has made no frame yet (this one is at ` +
          `seq ${options.model.seq}); give it a new TelemetryModel or ` +
          `TelemetryModel.fromSnapshot().`,
      );
    }
    this.#model = options.model;
    this.#metrics = options.metrics;
    this.#drainIntervalMs = drainIntervalMs;
    this.#now = options.now ?? Date.now;
    // The model's first frame is the full state: the base every client starts from.
    const first = this.#model.nextFrame(this.#now());
    if (first?.type !== "full") {
      throw new Error("The telemetry model did not start with a full frame; the hub needs one.");
    }
    this.#fullText = jsonWire.encode(first);
    const m = this.#metrics;
    // Keys of its own, so that two hubs on one Metrics (two side ports) count side by side.
    this.#metricsKey = `telemetry_hub${++hubCount}.`;
    this.#uncollect = m.addCollector(() => this.#collect());
    this.#clientHub = {
      queueSize,
      highWaterBytes,
      fullText: () => this.#fullText ??= jsonWire.encode(this.#model.lastFull() as TelemetryFrame),
      sent: (type) => {
        if (type === "full") this.#sentFull++;
        else this.#sentDelta++;
      },
      dropped: (client, frames) => {
        this.#dropped += frames;
        this.#metrics.telemetryWsDroppedTotal.inc({ client: client.id }, frames);
      },
      sendFailed: (client, e) => {
        this.#sendErrors++;
        log.warn("Sending to telemetry client {id} failed, dropping it: {error}", {
          id: client.id,
          error: describe(e),
        });
        this.#detach(client);
      },
    };
  }

  /** Connected clients (open or opening). */
  get clients(): number {
    return this.#clients.size;
  }

  /** The seq of the last frame. */
  get seq(): number {
    return this.#model.seq;
  }

  /** The state after the last frame (what a full frame sent now contains); a copy. */
  get state(): TelemetryState {
    return this.#model.snapshot();
  }

  get stats(): TelemetryHubStats {
    return {
      clients: this.#clients.size,
      broadcasts: this.#broadcasts,
      sentFull: this.#sentFull,
      sentDelta: this.#sentDelta,
      dropped: this.#dropped,
      resyncs: this.#resyncs,
      badMessages: this.#badMessages,
      sendErrors: this.#sendErrors,
      seq: this.#model.seq,
    };
  }

  /** Per-client counters, in connection order. */
  clientStats(): TelemetryClientStats[] {
    return [...this.#clients.values()].map((c) => c.stats());
  }

  /**
   * Takes over `socket` (from Deno.upgradeWebSocket, or already open): a full frame once it is
   * open, then the shared deltas; `{"type":"resync"}` from it is answered with a full frame. The
   * hub forgets it when it closes. `clientId` labels its drop counter; it must be unique.
   */
  attach(socket: WebSocket, clientId: string): void {
    if (this.#closed) {
      throw new Error(`The telemetry hub is closed; cannot attach client ${clientId}.`);
    }
    if (this.#clients.has(clientId)) {
      throw new RangeError(
        `A telemetry client with id ${clientId} is already attached; give each client its own id.`,
      );
    }
    const client = new WsClient(clientId, socket, this.#clientHub);
    this.#clients.set(clientId, client);
    this.#metrics.telemetryClients.inc();
    const onOpen = () => {
      client.open = true;
      log.debug("Telemetry client {id} connected", { id: clientId });
      client.drain();
      this.#armDrain();
    };
    socket.addEventListener("open", onOpen);
    socket.addEventListener("message", (event) => this.#onMessage(client, event.data));
    socket.addEventListener("error", (event) => {
      const message = (event as ErrorEvent).message ?? "unknown error";
      log.warn("Telemetry client {id}: socket error: {message}", { id: clientId, message });
    });
    socket.addEventListener("close", (event) => {
      log.debug("Telemetry client {id} closed ({code})", { id: clientId, code: event.code });
      this.#detach(client);
    });
    if (socket.readyState === WebSocket.OPEN) onOpen();
  }

  /**
   * Folds an aggregator batch into the model and broadcasts the delta to every client. Returns
   * the frame, or null when nothing changed. Never waits for a client.
   */
  publish(input: PublishInput): TelemetryFrame | null {
    if (this.#closed) return null;
    if (!this.#model.apply(input.events)) return null;
    const frame = this.#model.nextFrame(this.#now());
    if (!frame) return null;
    // The full frame now differs from the one cached; it is serialized when a client needs it.
    this.#fullText = undefined;
    this.#broadcast(jsonWire.encode(frame), frame.type);
    return frame;
  }

  /** Closes every client socket (1001, going away) and stops the drain timer. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#drainTimer !== undefined) clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
    for (const client of [...this.#clients.values()]) {
      try {
        client.socket.close(CLOSE_GOING_AWAY, "server shutting down");
      } catch (e) {
        log.warn("Closing telemetry client {id} failed: {error}", {
          id: client.id,
          error: describe(e),
        });
      }
      this.#detach(client);
    }
    this.#collect();
    this.#uncollect();
    this.#metrics.forget(this.#metricsKey);
  }

  /** Brings the frame counters up to date (run before every scrape). */
  #collect(): void {
    const m = this.#metrics;
    const k = this.#metricsKey;
    m.advance(`${k}full`, m.telemetryFramesTotal, this.#sentFull, { type: "full" });
    m.advance(`${k}delta`, m.telemetryFramesTotal, this.#sentDelta, { type: "delta" });
  }

  #broadcast(text: string, type: FrameType): void {
    const started = performance.now();
    this.#broadcasts++;
    for (const client of this.#clients.values()) {
      if (!client.open) continue; // it gets a full frame (which includes this) when it opens
      client.offer(text, type);
    }
    this.#metrics.telemetryWsSendSeconds.observe((performance.now() - started) / 1000);
    this.#armDrain();
  }

  #onMessage(client: WsClient, data: unknown): void {
    if (this.#clients.get(client.id) !== client) return; // closing: nothing more to send it
    const type = messageType(data);
    if (type === "resync") {
      this.#resyncs++;
      client.resync();
      this.#armDrain();
      return;
    }
    this.#badMessages++;
    const what = typeof type === "string" ? type : JSON.stringify(type) ?? "undefined";
    log.warn("Telemetry client {id} sent {what}; closing it", { id: client.id, what });
    try {
      client.socket.close(
        CLOSE_UNSUPPORTED,
        closeReason(`unsupported message (type ${what}); the only message is {"type":"resync"}`),
      );
    } catch (e) {
      log.warn("Closing telemetry client {id} failed: {error}", {
        id: client.id,
        error: describe(e),
      });
    }
    this.#detach(client);
  }

  #detach(client: WsClient): void {
    if (this.#clients.get(client.id) !== client) return;
    this.#clients.delete(client.id);
    client.clear();
    this.#metrics.telemetryClients.dec();
    // Keep the sum over clients monotonic while bounding the label set.
    const m = this.#metrics.telemetryWsDroppedTotal;
    if (client.dropped > 0) {
      m.remove({ client: client.id });
      m.inc({ client: "closed" }, client.dropped);
    }
  }

  /** Retries waiting frames every drainIntervalMs while any client has some. */
  #armDrain(): void {
    if (this.#closed || this.#drainTimer !== undefined) return;
    if (!this.#pending()) return;
    this.#drainTimer = setTimeout(() => {
      this.#drainTimer = undefined;
      for (const client of [...this.#clients.values()]) client.drain();
      this.#armDrain();
    }, this.#drainIntervalMs);
  }

  #pending(): boolean {
    for (const c of this.#clients.values()) if (c.pending) return true;
    return false;
  }
}
