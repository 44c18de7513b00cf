/**
 * RvrLink: requests and replies over any BytePort (docs/protocol.md section 2.3, section 7).
 *
 * - One sequence counter (0-255, wrapping) shared by both processors. A number still waiting for
 *   its reply is skipped, so two pending requests never share one.
 * - A reply is delivered to the pending request with its SEQ only when DID and CID match too;
 *   anything else is counted as dropped ("unmatched"). The reply's SID is only a hint (section 2.3).
 * - ERR != 0 rejects with RobotError; a payload that does not fit the command rejects with
 *   UndecodableReplyError; no reply in time rejects with ResponseTimeoutError; an aborted signal
 *   rejects with `signal.reason`. One `finally` per request clears its timer, its map entry and its
 *   abort listener.
 * - Notifications (robot-initiated packets) go to handlers registered with `on()`, by
 *   (DID, CID, node). A handler that throws is logged and counted; the read loop goes on.
 * - `close()`, or the port closing on its own, rejects every pending request with LinkClosedError.
 *
 * The link has no queue: every request is encoded and handed to the port synchronously, inside
 * the call. Writes are ordered only by the port. Pacing, priorities and retries belong above.
 */
import { getLogger } from "@logtape/logtape";
import {
  commandById,
  commandByName,
  type CommandDef,
  decodeResponse,
  encodeRequest,
  errorCodeName,
  Flag,
  FRAME_ERRORS,
  FrameDecoder,
  type NodeId,
  nodeOfId,
  type NotificationName,
  type Packet,
  type RequestName,
  type RequestOf,
  type ResponseOf,
} from "../protocol/mod.ts";
import type { BytePort } from "../core/mod.ts";
import {
  LinkClosedError,
  ResponseTimeoutError,
  RobotError,
  UndecodableReplyError,
} from "./errors.ts";

const log = getLogger(["rvr", "link"]);

/** Why a received frame or packet was not delivered: the decoder's reasons plus the link's own. */
export const LINK_DROP_REASONS = [
  ...FRAME_ERRORS,
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

interface PendingRequest {
  readonly command: string;
  readonly did: number;
  readonly cid: number;
  readonly target: NodeId;
  settled: boolean;
  succeed(packet: Packet): void;
  fail(error: unknown): void;
}

interface HandlerEntry {
  readonly handler: (values: unknown, meta: NotificationMeta) => void;
  readonly node: NodeId | undefined;
  readonly name: string;
}

type LinkState = "new" | "open" | "closed";

function checkNode(what: string, node: unknown): NodeId | undefined {
  if (node === undefined) return undefined;
  if (node !== 1 && node !== 2) {
    throw new RangeError(`${what} must be 1 (Nordic) or 2 (ST), got ${String(node)}.`);
  }
  return node;
}

function checkTimeout(what: string, ms: unknown): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0) {
    throw new RangeError(
      `${what} must be a positive number of milliseconds, got ${String(ms)}; e.g. 1000.`,
    );
  }
  return ms;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, "0")}`;
}

export class RvrLink {
  readonly port: BytePort;
  readonly defaultTimeoutMs: number;
  readonly #onRequest: ((event: LinkRequestEvent) => void) | undefined;
  #state: LinkState = "new";
  #nextSeq = 0;
  readonly #pending = new Map<number, PendingRequest>();
  readonly #handlers = new Map<number, Set<HandlerEntry>>();
  readonly #closeListeners = new Set<LinkCloseListener>();
  #closeError: LinkClosedError | undefined;
  readonly #decoder: FrameDecoder;
  #bytesIn = 0;
  #bytesOut = 0;
  #framesOut = 0;
  #requests = 0;
  #replies = 0;
  #timeouts = 0;
  #aborted = 0;
  #notifications = 0;
  readonly #errors: Record<string, number> = {};
  readonly #dropped = {
    unmatched: 0,
    undecodable: 0,
    handler_error: 0,
    unknown_notification: 0,
  };

  constructor(port: BytePort, options: RvrLinkOptions = {}) {
    this.port = port;
    this.defaultTimeoutMs = checkTimeout(
      "RvrLink defaultTimeoutMs",
      options.defaultTimeoutMs ?? 1000,
    );
    const firstSeq = options.firstSeq ?? 0;
    if (!Number.isInteger(firstSeq) || firstSeq < 0 || firstSeq > 0xff) {
      throw new RangeError(`RvrLink firstSeq must be an integer 0-255, got ${String(firstSeq)}.`);
    }
    this.#nextSeq = firstSeq;
    this.#onRequest = options.onRequest;
    this.#decoder = new FrameDecoder({
      onError: (reason) =>
        log.warn("Dropped frame from {path}: {reason}", { path: port.path, reason }),
    });
  }

  /** False before `start()` and after close. */
  get isOpen(): boolean {
    return this.#state === "open";
  }

  /** Requests waiting for a reply. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** A snapshot of the counters. */
  get stats(): RvrLinkStats {
    const d = this.#decoder.stats;
    return {
      bytesIn: this.#bytesIn,
      bytesOut: this.#bytesOut,
      framesIn: d.frames,
      framesOut: this.#framesOut,
      requests: this.#requests,
      replies: this.#replies,
      timeouts: this.#timeouts,
      aborted: this.#aborted,
      errors: { ...this.#errors },
      notifications: this.#notifications,
      dropped: { ...d.errors, ...this.#dropped },
      pending: this.#pending.size,
    };
  }

  /** Starts reading from the port. Call once; throws Error if called again or after close. */
  start(): void {
    if (this.#state !== "new") {
      throw new Error(
        `RvrLink on ${this.port.path} is already ${
          this.#state === "open" ? "started" : "closed"
        }; create a new link to start again.`,
      );
    }
    this.port.start({
      onData: (chunk) => this.#onData(chunk),
      onClose: (error) => this.#onPortClose(error),
    });
    // The port may have closed during start (e.g. already hung up): keep "closed" in that case.
    if (this.#state === "new") this.#state = "open";
  }

  /**
   * Sends `name` and resolves with the decoded reply. A command without reply fields (or with
   * `requestsResponse: false`) resolves once written, unless `requestsResponse: true` asks for the
   * robot's acknowledgement. The packet is handed to the port before this returns.
   */
  request<N extends RequestName>(
    name: N,
    params: RequestOf<N>,
    options: LinkRequestOptions & { requestsResponse: false },
  ): Promise<void>;
  request<N extends RequestName>(
    name: N,
    params: RequestOf<N>,
    options?: LinkRequestOptions,
  ): Promise<ResponseOf<N>>;
  async request<N extends RequestName>(
    name: N,
    params: RequestOf<N>,
    options: LinkRequestOptions = {},
  ): Promise<ResponseOf<N> | void> {
    this.#checkUsable(name);
    const def = commandByName(name);
    const target = this.#targetOf(def, options.target);
    const wantsReply = options.requestsResponse ?? def.response.length > 0;
    const timeoutMs = checkTimeout(
      `timeoutMs for ${name}`,
      options.timeoutMs ?? this.defaultTimeoutMs,
    );
    const signal = options.signal;
    if (signal?.aborted) {
      this.#aborted++;
      throw signal.reason;
    }
    const started = performance.now();
    const seq = this.#allocateSeq(name);
    const bytes = encodeRequest(name, params, { seq, target, requestsResponse: wantsReply });
    if (!wantsReply) {
      try {
        await this.#write(name, bytes);
      } catch (error) {
        this.#observe(name, target, "failed", started);
        throw error;
      }
      this.#observe(name, target, "sent", started);
      return;
    }

    const { promise, resolve, reject } = Promise.withResolvers<Packet>();
    const entry: PendingRequest = {
      command: name,
      did: def.did,
      cid: def.cid,
      target,
      settled: false,
      succeed(packet) {
        if (entry.settled) return;
        entry.settled = true;
        resolve(packet);
      },
      fail(error) {
        if (entry.settled) return;
        entry.settled = true;
        reject(error);
      },
    };
    this.#pending.set(seq, entry);
    const timer = setTimeout(() => {
      if (entry.settled) return;
      this.#timeouts++;
      entry.fail(new ResponseTimeoutError(name, timeoutMs, target, seq));
    }, timeoutMs);
    const onAbort = () => {
      if (entry.settled) return;
      this.#aborted++;
      entry.fail(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    let outcome: LinkRequestOutcome = "failed";
    try {
      this.#write(name, bytes).catch((error) => entry.fail(error));
      const reply = await promise;
      outcome = reply.err ? "error_reply" : "reply";
      return this.#decodeReply(name, reply);
    } catch (error) {
      if (error instanceof ResponseTimeoutError) outcome = "timeout";
      else if (signal?.aborted) outcome = "aborted";
      throw error;
    } finally {
      clearTimeout(timer);
      this.#pending.delete(seq);
      signal?.removeEventListener("abort", onAbort);
      this.#observe(name, target, outcome, started);
    }
  }

  /**
   * The emergency path: encodes `name` (fire-and-forget, no reply requested) and hands it to the
   * port synchronously, before this returns - nothing in the link is awaited first, no reply is
   * registered, no timeout or signal applies. It takes a sequence number and is counted like any
   * request. Use it for drive_stop / emergency stop when the layer above must bypass its own
   * queue. Resolves once the port accepted the bytes; rejects with LinkClosedError once closed.
   * (Writes are ordered by the port: a packet already being written goes out first.)
   */
  async sendImmediate<N extends RequestName>(
    name: N,
    params: RequestOf<N>,
    options: SendImmediateOptions = {},
  ): Promise<void> {
    this.#checkUsable(name);
    const def = commandByName(name);
    const target = this.#targetOf(def, options.target);
    const started = performance.now();
    const seq = this.#allocateSeq(name);
    const bytes = encodeRequest(name, params, { seq, target, requestsResponse: false });
    try {
      await this.#write(name, bytes);
    } catch (error) {
      this.#observe(name, target, "failed", started);
      throw error;
    }
    this.#observe(name, target, "sent", started);
  }

  /**
   * Calls `handler` for every notification `name` (optionally only from `options.node`).
   * Returns a function that unregisters it. A handler that throws is logged and counted
   * (`dropped.handler_error`); other handlers still run.
   */
  on<N extends NotificationName>(
    name: N,
    handler: NotificationHandler<N>,
    options: NotificationOptions = {},
  ): () => void {
    const def = commandByName(name);
    if (def.kind !== "notification") {
      throw new TypeError(
        `"${name}" is a command, not a notification; use link.request("${name}", ...) instead.`,
      );
    }
    if (typeof handler !== "function") {
      throw new TypeError(`The handler for ${name} must be a function, got ${typeof handler}.`);
    }
    const node = checkNode(`The node filter for ${name}`, options.node);
    const key = (def.did << 8) | def.cid;
    let set = this.#handlers.get(key);
    if (!set) {
      set = new Set();
      this.#handlers.set(key, set);
    }
    const entry: HandlerEntry = {
      handler: handler as HandlerEntry["handler"],
      node,
      name,
    };
    set.add(entry);
    return () => {
      const current = this.#handlers.get(key);
      if (!current) return;
      current.delete(entry);
      if (current.size === 0) this.#handlers.delete(key);
    };
  }

  /**
   * Calls `listener` once when the link closes - with a LinkClosedError when the port closed on
   * its own (hangup, read error), with nothing after `close()`. Called at once if already closed.
   * Returns a function that unregisters it.
   */
  onClose(listener: LinkCloseListener): () => void {
    if (this.#state === "closed") {
      this.#callCloseListener(listener, this.#closeError);
      return () => {};
    }
    this.#closeListeners.add(listener);
    return () => {
      this.#closeListeners.delete(listener);
    };
  }

  /** Rejects every pending request with LinkClosedError and closes the port. Idempotent. */
  async close(): Promise<void> {
    if (this.#state !== "closed") this.#shutDown(undefined);
    await this.port.close();
  }

  // ---- internals --------------------------------------------------------------------------

  #observe(command: string, target: NodeId, outcome: LinkRequestOutcome, started: number): void {
    if (!this.#onRequest) return;
    try {
      this.#onRequest({ command, target, outcome, durationMs: performance.now() - started });
    } catch (error) {
      log.warn("A request observer threw: {error}", { error: String(error) });
    }
  }

  #checkUsable(name: string): void {
    if (this.#state === "closed") {
      throw this.#closeError ?? new LinkClosedError(this.port.path);
    }
    if (this.#state === "new") {
      throw new Error(
        `RvrLink on ${this.port.path} was not started; call link.start() before sending ${name}.`,
      );
    }
  }

  #targetOf(def: CommandDef, target: NodeId | undefined): NodeId {
    const checked = checkNode(`target for ${def.name}`, target);
    if (checked !== undefined) return checked;
    if (def.node === "any") {
      throw new TypeError(
        `"${def.name}" runs on either processor; pass { target: 1 } (Nordic) or { target: 2 } (ST).`,
      );
    }
    return def.node;
  }

  #allocateSeq(name: string): number {
    for (let i = 0; i < 256; i++) {
      const seq = this.#nextSeq;
      this.#nextSeq = (seq + 1) & 0xff;
      if (!this.#pending.has(seq)) return seq;
    }
    throw new Error(
      `Cannot send ${name}: all 256 sequence numbers are waiting for replies on ${this.port.path}; ` +
        `limit concurrent requests (the robot answers one at a time anyway).`,
    );
  }

  async #write(name: string, bytes: Uint8Array): Promise<void> {
    this.#requests++;
    try {
      await this.port.write(bytes);
    } catch (error) {
      if (this.#state === "closed") {
        throw this.#closeError ?? new LinkClosedError(this.port.path);
      }
      if (!this.port.isOpen) {
        // The port failed under this write (e.g. hangup) and will report its close shortly.
        throw new LinkClosedError(this.port.path, error instanceof Error ? error : undefined);
      }
      throw new Error(
        `Writing ${name} to ${this.port.path} failed: ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    }
    this.#bytesOut += bytes.length;
    this.#framesOut++;
  }

  #decodeReply<N extends RequestName>(name: N, reply: Packet): ResponseOf<N> {
    try {
      return decodeResponse(name, reply.payload);
    } catch (cause) {
      this.#drop("undecodable", { command: name, seq: reply.seq });
      throw new UndecodableReplyError(name, reply.payload, cause);
    }
  }

  #onData(chunk: Uint8Array): void {
    this.#bytesIn += chunk.length;
    for (const packet of this.#decoder.push(chunk)) {
      if (packet.flags & Flag.isResponse) this.#onReply(packet);
      else this.#onNotification(packet);
    }
  }

  #onReply(packet: Packet): void {
    const entry = this.#pending.get(packet.seq);
    if (!entry || entry.settled || entry.did !== packet.did || entry.cid !== packet.cid) {
      this.#drop("unmatched", {
        seq: packet.seq,
        did: hex(packet.did),
        cid: hex(packet.cid),
        expected: entry && !entry.settled ? entry.command : "nothing",
      });
      return;
    }
    this.#replies++;
    if (packet.source !== undefined && nodeOfId(packet.source) !== entry.target) {
      log.debug("Reply to {command} came from node {node}, sent to node {target}", {
        command: entry.command,
        node: nodeOfId(packet.source),
        target: entry.target,
      });
    }
    const err = packet.err ?? 0;
    if (err !== 0) {
      const codeName = errorCodeName(err);
      this.#errors[codeName] = (this.#errors[codeName] ?? 0) + 1;
      entry.fail(new RobotError(entry.command, err, entry.target));
      return;
    }
    entry.succeed(packet);
  }

  #onNotification(packet: Packet): void {
    const def = commandById(packet.did, packet.cid);
    const node = packet.source !== undefined
      ? nodeOfId(packet.source)
      : def && def.node !== "any"
      ? def.node
      : undefined;
    if (!def || def.kind !== "notification" || (node !== 1 && node !== 2)) {
      this.#drop("unknown_notification", {
        did: hex(packet.did),
        cid: hex(packet.cid),
        source: packet.source === undefined ? "none" : hex(packet.source),
      });
      return;
    }
    let values: unknown;
    try {
      values = decodeResponse(def.name as NotificationName, packet.payload);
    } catch (error) {
      this.#drop("undecodable", {
        notification: def.name,
        error: error instanceof Error ? error.message : String(error),
      });
      return;
    }
    this.#notifications++;
    const set = this.#handlers.get((packet.did << 8) | packet.cid);
    if (!set) return;
    const meta: NotificationMeta = { node };
    for (const entry of [...set]) {
      if (entry.node !== undefined && entry.node !== node) continue;
      try {
        entry.handler(values, meta);
      } catch (error) {
        this.#dropped.handler_error++;
        log.error("Handler for {notification} threw: {error}", {
          notification: entry.name,
          error,
        });
      }
    }
  }

  #drop(reason: Exclude<LinkDropReason, (typeof FRAME_ERRORS)[number]>, detail: object): void {
    this.#dropped[reason]++;
    log.warn("Dropped packet from {path}: {reason}", { path: this.port.path, reason, ...detail });
  }

  #onPortClose(error?: Error): void {
    if (this.#state === "closed") return;
    const closed = new LinkClosedError(
      this.port.path,
      error ?? new Error("the port closed on its own; the other side hung up"),
    );
    log.error("Link to {path} lost: {error}", { path: this.port.path, error: closed.message });
    this.#shutDown(closed);
  }

  /** Marks the link closed, rejects every pending request, tells the close listeners once. */
  #shutDown(error: LinkClosedError | undefined): void {
    this.#state = "closed";
    this.#closeError = error;
    const rejection = error ?? new LinkClosedError(this.port.path);
    for (const entry of this.#pending.values()) entry.fail(rejection);
    const listeners = [...this.#closeListeners];
    this.#closeListeners.clear();
    for (const listener of listeners) this.#callCloseListener(listener, error);
  }

  #callCloseListener(listener: LinkCloseListener, error: LinkClosedError | undefined): void {
    try {
      listener(error);
    } catch (thrown) {
      this.#dropped.handler_error++;
      log.error("Close listener on {path} threw: {error}", {
        path: this.port.path,
        error: thrown,
      });
    }
  }
}
