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
import { errorMessage, onAbort } from "../core/mod.ts";
import {
  commandByName,
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
import { hex, NotificationRouter } from "./_notifications.ts";
import { checkTimeout, type PendingRequest, PendingRequests, targetOf } from "./_pending.ts";
import { LinkCounters } from "./_link_counters.ts";
import { CloseListeners } from "./_close_listeners.ts";
import type {
  LinkCloseListener,
  LinkDropReason,
  LinkRequestEvent,
  LinkRequestOptions,
  LinkRequestOutcome,
  NotificationHandler,
  NotificationOptions,
  RvrLinkOptions,
  RvrLinkStats,
  SendImmediateOptions,
} from "./link_types.ts";

export * from "./link_types.ts";

const log = getLogger(["rvr", "link"]);

type LinkState = "new" | "open" | "closed";

export class RvrLink {
  readonly port: BytePort;
  readonly defaultTimeoutMs: number;
  readonly #onRequest: ((event: LinkRequestEvent) => void) | undefined;
  #state: LinkState = "new";
  readonly #pending: PendingRequests;
  readonly #count = new LinkCounters();
  readonly #router = new NotificationRouter({
    drop: (reason, detail) => this.#drop(reason, detail),
    handlerThrew: () => this.#count.dropped.handler_error++,
  });
  readonly #closeListeners: CloseListeners;
  readonly #decoder: FrameDecoder;

  constructor(port: BytePort, options: RvrLinkOptions = {}) {
    this.port = port;
    this.defaultTimeoutMs = checkTimeout(
      "RvrLink defaultTimeoutMs",
      options.defaultTimeoutMs ?? 1000,
    );
    this.#pending = new PendingRequests(options.firstSeq ?? 0);
    this.#closeListeners = new CloseListeners(port.path, () => this.#count.dropped.handler_error++);
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
    return this.#count.snapshot(this.#decoder, this.#router.delivered, this.#pending.size);
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
    const target = targetOf(def, options.target);
    const wantsReply = options.requestsResponse ?? def.response.length > 0;
    const timeoutMs = checkTimeout(
      `timeoutMs for ${name}`,
      options.timeoutMs ?? this.defaultTimeoutMs,
    );
    const signal = options.signal;
    if (signal?.aborted) {
      this.#count.aborted++;
      throw signal.reason;
    }
    const started = performance.now();
    const seq = this.#pending.allocate(name, this.port.path);
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
      this.#count.timeouts++;
      entry.fail(new ResponseTimeoutError(name, timeoutMs, target, seq));
    }, timeoutMs);
    const unwatch = signal === undefined ? undefined : onAbort(signal, () => {
      if (entry.settled) return;
      this.#count.aborted++;
      entry.fail(signal.reason);
    });
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
      unwatch?.();
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
    const target = targetOf(def, options.target);
    const started = performance.now();
    const seq = this.#pending.allocate(name, this.port.path);
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
    return this.#router.on(name, handler, options);
  }

  /**
   * Calls `listener` once when the link closes - with a LinkClosedError when the port closed on
   * its own (hangup, read error), with nothing after `close()`. Called at once if already closed.
   * Returns a function that unregisters it.
   */
  onClose(listener: LinkCloseListener): () => void {
    return this.#closeListeners.add(listener);
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
      throw this.#closeListeners.error ?? new LinkClosedError(this.port.path);
    }
    if (this.#state === "new") {
      throw new Error(
        `RvrLink on ${this.port.path} was not started; call link.start() before sending ${name}.`,
      );
    }
  }

  async #write(name: string, bytes: Uint8Array): Promise<void> {
    this.#count.requests++;
    try {
      await this.port.write(bytes);
    } catch (error) {
      if (this.#state === "closed") {
        throw this.#closeListeners.error ?? new LinkClosedError(this.port.path);
      }
      if (!this.port.isOpen) {
        // The port failed under this write (e.g. hangup) and will report its close shortly.
        throw new LinkClosedError(this.port.path, error instanceof Error ? error : undefined);
      }
      throw new Error(
        `Writing ${name} to ${this.port.path} failed: ${errorMessage(error)}`,
        { cause: error },
      );
    }
    this.#count.bytesOut += bytes.length;
    this.#count.framesOut++;
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
    this.#count.bytesIn += chunk.length;
    for (const packet of this.#decoder.push(chunk)) {
      if (packet.flags & Flag.isResponse) this.#onReply(packet);
      else this.#router.deliver(packet);
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
    this.#count.replies++;
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
      this.#count.errors[codeName] = (this.#count.errors[codeName] ?? 0) + 1;
      entry.fail(new RobotError(entry.command, err, entry.target));
      return;
    }
    entry.succeed(packet);
  }

  #drop(reason: Exclude<LinkDropReason, (typeof FRAME_ERRORS)[number]>, detail: object): void {
    this.#count.dropped[reason]++;
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
    const rejection = error ?? new LinkClosedError(this.port.path);
    for (const entry of this.#pending.values()) entry.fail(rejection);
    this.#closeListeners.fire(error);
  }
}
