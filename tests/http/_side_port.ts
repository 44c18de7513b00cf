/**
 * A real side port for the HTTP tests: Deno.serve on a free loopback port, a real Runtime over a
 * keep-alive SimulatedRvr on a MemoryPort (every connection gets a fresh recorded port), a real
 * Aggregator on the runtime's bus, and WebSocket clients that follow the telemetry protocol.
 * Real sockets need real time: nothing here fakes timers; every wait is on an event and bounded.
 */
import assert from "node:assert/strict";
import { serveSidePort, type SidePort, type SidePortOptions } from "../../src/http/server.ts";
import { Runtime, type RuntimeSettings } from "../../src/robot/runtime.ts";
import {
  Aggregator,
  applyFrame,
  type TelemetryFrame,
  type TelemetryState,
} from "../../src/telemetry/mod.ts";
import type { SimOptions, SimulatedRvr } from "../../src/sim/mod.ts";
import { keepAliveSimOpener, testSettings, type WireTap } from "../_helpers/mod.ts";
import { type ProgramMetrics, programMetrics } from "../../main.ts";

/** Rejects with a message naming `what` unless `p` settles within `ms`; clears its timer. */
export async function bounded<T>(p: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once `check()` is true, re-checking whenever `subscribe` reports a change. */
export function until(
  check: () => boolean,
  subscribe: (changed: () => void) => () => void,
  what: string,
  ms = 5000,
): Promise<void> {
  if (check()) return Promise.resolve();
  const done = Promise.withResolvers<void>();
  const off = subscribe(() => {
    if (check()) done.resolve();
  });
  return bounded(done.promise, what, ms).finally(off);
}

export interface SideRigOptions {
  apiKey?: string;
  /** Connect the robot first (default true). */
  connect?: boolean;
  settings?: Partial<RuntimeSettings>;
  sim?: SimOptions;
  telemetry?: SidePortOptions["telemetry"];
  /** RVR_MAX_BODY_BYTES of the side port (default: the program's). */
  maxBodyBytes?: number;
  windowMs?: number;
  dashboardHtml?: () => string;
}

export interface SideRig {
  readonly runtime: Runtime<ProgramMetrics>;
  readonly aggregator: Aggregator;
  readonly side: SidePort;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** ws://127.0.0.1:<port>/telemetry */
  readonly wsUrl: string;
  /** The simulated robot (after the first connect). */
  readonly sim: SimulatedRvr;
  /** The recorded robot side of the current connection. */
  readonly wire: WireTap;
  close(): Promise<void>;
}

export async function makeSideRig(options: SideRigOptions = {}): Promise<SideRig> {
  const robot = keepAliveSimOpener(options.sim, "side");
  const metrics = programMetrics({ processMetrics: false });
  const settings = testSettings({
    requestTimeoutMs: 100,
    commandTimeout: 0,
    sensorInterval: 50,
    ...options.settings,
  });
  const runtime = new Runtime(settings, robot.open, metrics);
  if (options.connect ?? true) {
    await bounded(runtime.connection.connect(), "the robot to connect");
    await bounded(runtime.rvr.ready(), "the safety set-up");
  }
  const aggregator = new Aggregator(runtime.bus, { windowMs: options.windowMs ?? 20, metrics });
  const side = await serveSidePort({
    port: 0,
    host: "127.0.0.1",
    apiKey: options.apiKey,
    runtime,
    aggregator,
    dashboardHtml: options.dashboardHtml ?? (() => "<!doctype html><title>test page</title>"),
    telemetry: options.telemetry,
    maxBodyBytes: options.maxBodyBytes,
  });
  return {
    runtime,
    aggregator,
    side,
    url: side.url,
    wsUrl: side.url.replace(/^http/, "ws") + "/telemetry",
    get sim(): SimulatedRvr {
      return robot.sim;
    },
    get wire(): WireTap {
      return robot.wire;
    },
    async close() {
      await side.close();
      aggregator.close();
      await runtime.close("sigterm");
      if (robot.wires.length > 0) await robot.sim.stop();
    },
  };
}

export interface ClientOptions {
  key?: string;
  /** ?client= name (the metric label). */
  name?: string;
  /** Follow the protocol's client rule: on a gap, send {"type":"resync"} once. Default true. */
  resyncOnGap?: boolean;
}

/**
 * A telemetry client on Deno's WebSocket: keeps every frame, applies them with applyFrame, checks
 * the seq rule, and asks for a full frame on a gap (like the dashboard).
 */
export class TelemetryClient {
  readonly socket: WebSocket;
  readonly frames: TelemetryFrame[] = [];
  state: TelemetryState | null = null;
  lastSeq: number | null = null;
  /** Deltas that did not follow the last seq (ignored, resync asked). */
  gaps = 0;
  resyncsSent = 0;
  /** Drop this many of the next deltas unseen (to make a gap on purpose). */
  skipNext = 0;
  readonly closed: Promise<CloseEvent>;
  readonly #listeners = new Set<() => void>();
  #awaitingFull = true;
  readonly #resyncOnGap: boolean;

  private constructor(url: string, options: ClientOptions) {
    const u = new URL(url);
    if (options.key) u.searchParams.set("key", options.key);
    if (options.name) u.searchParams.set("client", options.name);
    this.#resyncOnGap = options.resyncOnGap ?? true;
    this.socket = new WebSocket(u);
    const closed = Promise.withResolvers<CloseEvent>();
    this.closed = closed.promise;
    this.socket.onclose = (e) => {
      closed.resolve(e);
      this.#changed();
    };
    this.socket.onmessage = (e) => this.#onFrame(JSON.parse(e.data as string) as TelemetryFrame);
  }

  /** Connects; resolves once open (rejects if the server refuses). */
  static async open(url: string, options: ClientOptions = {}): Promise<TelemetryClient> {
    const client = new TelemetryClient(url, options);
    const opened = new Promise<void>((resolve, reject) => {
      client.socket.addEventListener("open", () => resolve());
      client.socket.addEventListener("error", (e) => {
        reject(new Error(`WebSocket ${url} failed: ${(e as ErrorEvent).message}`));
      });
    });
    try {
      await bounded(opened, `WebSocket ${url} to open`);
    } catch (e) {
      await bounded(client.closed, "the refused WebSocket to close");
      throw e;
    }
    return client;
  }

  /** Resolves once `check(this)` holds (checked after every frame). */
  waitFor(check: (c: TelemetryClient) => boolean, what: string, ms = 5000): Promise<void> {
    return until(
      () => check(this),
      (changed) => {
        this.#listeners.add(changed);
        return () => this.#listeners.delete(changed);
      },
      what,
      ms,
    );
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  async close(): Promise<CloseEvent> {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close();
    return await bounded(this.closed, "the WebSocket to close");
  }

  #onFrame(frame: TelemetryFrame): void {
    if (frame.type === "delta" && this.skipNext > 0) {
      this.skipNext--;
      return;
    }
    this.frames.push(frame);
    if (frame.type === "full") {
      this.state = applyFrame(this.state, frame);
      this.lastSeq = frame.seq;
      this.#awaitingFull = false;
    } else if (!this.#awaitingFull && this.lastSeq !== null && frame.seq === this.lastSeq + 1) {
      this.state = applyFrame(this.state, frame);
      this.lastSeq = frame.seq;
    } else {
      this.gaps++;
      if (this.#resyncOnGap && !this.#awaitingFull) {
        this.#awaitingFull = true;
        this.resyncsSent++;
        this.send({ type: "resync" });
      }
    }
    this.#changed();
  }

  #changed(): void {
    for (const l of [...this.#listeners]) l();
  }
}

/** GET (or another method) with optional bearer key; returns status, headers and the body text. */
export async function request(
  url: string,
  init: RequestInit & { key?: string } = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const headers = new Headers(init.headers);
  if (init.key) headers.set("authorization", `Bearer ${init.key}`);
  const res = await bounded(fetch(url, { ...init, headers }), `${init.method ?? "GET"} ${url}`);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

export function assertJson(text: string): Record<string, unknown> {
  const value = JSON.parse(text);
  assert.equal(typeof value, "object");
  return value;
}

/**
 * A WebSocket client on a bare TCP connection, so a test controls when it reads: between
 * {@link RawWsClient.readUntil} calls it reads nothing, and the server's frames pile up in the
 * kernel buffers and then in the server's send queue, like a client on a congested link.
 */
export class RawWsClient {
  readonly #conn: Deno.TcpConn;
  #buf = new Uint8Array(0);
  /** Where the unparsed bytes of #buf start. */
  #pos = 0;
  readonly frames: TelemetryFrame[] = [];
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /** Connects to ws://host:port/path?query and completes the opening handshake. */
  static async connect(url: string): Promise<RawWsClient> {
    const u = new URL(url);
    const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
    const client = new RawWsClient(conn);
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await conn.write(new TextEncoder().encode(
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ));
    const head = await client.#bounded(async () => {
      while (true) {
        const end = indexOf(client.#buf, "\r\n\r\n");
        if (end >= 0) {
          const text = new TextDecoder().decode(client.#buf.subarray(0, end));
          client.#buf = client.#buf.slice(end + 4);
          return text;
        }
        await client.#fill();
      }
    }, "the handshake");
    if (!head.startsWith("HTTP/1.1 101")) {
      client.close();
      throw new Error(`WebSocket handshake refused: ${head.split("\r\n")[0]}`);
    }
    return client;
  }

  /** Reads frames until `check` accepts one (bounded); returns the frames read by this call. */
  readUntil(
    check: (frame: TelemetryFrame) => boolean,
    what: string,
    ms = 10_000,
  ): Promise<TelemetryFrame[]> {
    return this.#bounded(
      async () => {
        const got: TelemetryFrame[] = [];
        while (true) {
          let frame = this.#parse();
          while (frame === undefined) {
            await this.#fill();
            frame = this.#parse();
          }
          if (frame === null) continue; // a control frame
          got.push(frame);
          this.frames.push(frame);
          if (check(frame)) return got;
        }
      },
      what,
      ms,
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close();
  }

  async #fill(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.#conn.read(chunk);
    if (n === null) throw new Error("the server closed the connection");
    const rest = this.#buf.subarray(this.#pos);
    const next = new Uint8Array(rest.length + n);
    next.set(rest);
    next.set(chunk.subarray(0, n), rest.length);
    this.#buf = next;
    this.#pos = 0;
  }

  /** One frame off the buffer: a telemetry frame, null for a control frame, undefined if incomplete. */
  #parse(): TelemetryFrame | null | undefined {
    const b = this.#buf.subarray(this.#pos);
    if (b.length < 2) return undefined;
    const opcode = b[0] & 0x0f;
    let len = b[1] & 0x7f;
    let at = 2;
    if (b[1] & 0x80) throw new Error("a server frame must not be masked");
    if (len === 126) {
      if (b.length < 4) return undefined;
      len = (b[2] << 8) | b[3];
      at = 4;
    } else if (len === 127) {
      if (b.length < 10) return undefined;
      len = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
      at = 10;
    }
    if (b.length < at + len) return undefined;
    const payload = b.subarray(at, at + len);
    this.#pos += at + len;
    if (opcode === 0x8) {
      throw new Error(`the server closed the WebSocket (${payload.length} bytes)`);
    }
    if (opcode !== 0x1) return null;
    assert.equal(b[0] & 0x80, 0x80, "telemetry frames are not fragmented");
    return JSON.parse(new TextDecoder().decode(payload)) as TelemetryFrame;
  }

  async #bounded<T>(run: () => Promise<T>, what: string, ms = 10_000): Promise<T> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.close(); // ends the pending read
    }, ms);
    try {
      return await run();
    } catch (e) {
      if (timedOut) throw new Error(`Timed out after ${ms} ms reading ${what}`);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }
}

function indexOf(haystack: Uint8Array, text: string): number {
  const needle = new TextEncoder().encode(text);
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * A request body of `total` zero bytes made on demand in chunks of `chunk`, counting what was
 * pulled from it (how much a server read before it refused).
 */
export function bodySource(
  total: number,
  chunk = 64 * 1024,
): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= total) return controller.close();
      const n = Math.min(chunk, total - pulled);
      pulled += n;
      controller.enqueue(new Uint8Array(n));
    },
  }, { highWaterMark: 0 });
  return { stream, pulled: () => pulled };
}
