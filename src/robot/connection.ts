/**
 * The connection to the robot: open the port, wake the robot, prove both processors answer, keep
 * watching it, and find it again when it goes silent.
 *
 * - Connect = open the port, `wake` with a reply requested, then an empty echo to each processor,
 *   retried with a growing pause until the wake deadline (RVR_WAKE_TIMEOUT). No fixed sleep: the
 *   Python SDK's `sleep(2)` after wake exists only because it never asks wake for a reply
 *   (rvr-protocol.md section 11).
 * - Auto-connect: at start-up the server tries once and, if the robot is not there yet, keeps
 *   retrying in the background (state `reconnecting`, growing pauses up to 5 s).
 * - Heartbeat: an empty echo to the Nordic processor every `heartbeatMs`. Two misses in a row mean
 *   the robot went silent (one lost echo on a noisy UART must not stop a drive): the closing hooks
 *   put `drive_stop` on the wire, the link is closed, and the background reconnect starts.
 * - A link that closes on its own (hangup: the tty went away) is treated the same way.
 * - A connect while another is in progress to the same port joins it (one attempt, one link); to
 *   another port it waits for it and then replaces it. A connect while connected replaces the link
 *   (closing hooks first: drive_stop on the wire).
 * - Callers that need the robot ({@link Connection.awaitLink}) wait for a connect in progress,
 *   bounded by the wake timeout and their own signal, and get its link or its own error.
 *
 * Connection states follow the table in src/core/state.ts:
 * disconnected -> connecting -> connected -> reconnecting -> connected ..., with `error` after a
 * failed explicit connect.
 */
import { getLogger } from "@logtape/logtape";
import { backoff, delay } from "../core/async.ts";
import type { Metrics } from "../core/metrics.ts";
import type { ConnectionStatus, StateStore } from "../core/state.ts";
import { type BytePort, ResponseTimeoutError, RvrLink, type RvrLinkOptions } from "../link/mod.ts";
import { NotConnectedError, RobotNotRespondingError } from "./errors.ts";
import type { LinkProvider } from "./link_provider.ts";

const log = getLogger(["rvr", "robot", "connection"]);

/** A port opened for one connection, with how to release it (and anything behind it). */
export interface OpenedPort {
  port: BytePort;
  /** True when the built-in simulator is on the other end. */
  simulated: boolean;
  close(): Promise<void>;
}

/** Where to connect: a tty path (or "sim"/"auto", resolved by the opener) and a baud rate. */
export interface PortSpec {
  path: string;
  baudRate: number;
}

export type PortOpener = (spec: PortSpec) => Promise<OpenedPort>;

export interface ConnectionOptions {
  openPort: PortOpener;
  /** What `connect()` without arguments and the background reconnect use. */
  spec: PortSpec;
  state: StateStore;
  metrics?: Metrics;
  /** RVR_WAKE_TIMEOUT in ms: how long one connect may try. */
  wakeTimeoutMs: number;
  /** RVR_HEARTBEAT_MS; 0 disables the heartbeat. */
  heartbeatMs: number;
  /** Default reply timeout of the link (RVR_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** More options for every link (e.g. a request observer for metrics). */
  linkOptions?: Omit<RvrLinkOptions, "defaultTimeoutMs">;
  /** Pauses between background reconnect attempts. Default 250 ms growing to 5 s. */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
}

export interface ConnectResult {
  port: string;
  simulated: boolean;
  wakeMs: number;
  attempts: number;
}

/** Run before a link is closed on purpose or after it went silent; e.g. put drive_stop on the wire. */
export type ClosingHook = (link: RvrLink, reason: string) => Promise<void> | void;

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export interface WakeOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Per-attempt reply timeout; default min(500, timeoutMs). */
  attemptTimeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Wakes the robot and waits until both processors answer an echo. Throws
 * RobotNotRespondingError after `timeoutMs`.
 */
export async function wakeRobot(
  link: RvrLink,
  portPath: string,
  options: WakeOptions,
): Promise<{ elapsedMs: number; attempts: number }> {
  const started = performance.now();
  const deadline = started + options.timeoutMs;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? Math.min(500, options.timeoutMs);
  const pauses = backoff({ initialMs: 20, maxMs: 250 });
  const signal = options.signal;
  let attempts = 0;
  let lastError: unknown;
  let heardAnything = false;
  while (true) {
    signal?.throwIfAborted();
    attempts++;
    const timeoutMs = Math.max(10, Math.min(attemptTimeoutMs, deadline - performance.now()));
    try {
      await link.request("wake", {}, { requestsResponse: true, timeoutMs, signal });
      heardAnything = true;
      await link.request("echo", { data: [] }, { target: 1, timeoutMs, signal });
      await link.request("echo", { data: [] }, { target: 2, timeoutMs, signal });
      return { elapsedMs: performance.now() - started, attempts };
    } catch (e) {
      if (signal?.aborted || !link.isOpen) throw e;
      lastError = e;
      if (!(e instanceof ResponseTimeoutError)) heardAnything = true;
      log.debug("Wake attempt {attempts} failed: {error}", { attempts, error: describe(e) });
    }
    const left = deadline - performance.now();
    if (left <= 0) {
      throw new RobotNotRespondingError(portPath, options.timeoutMs, lastError, heardAnything);
    }
    // A short, growing pause so a robot that is still booting is not flooded.
    await delay(Math.min(pauses.next().value as number, left), { signal });
  }
}

/**
 * Waits until an earlier connect has finished, however it ended: its result or error was already
 * given to its own caller and recorded in the state (`error`), so here only its end matters.
 */
async function settled(connect: Promise<unknown> | undefined): Promise<void> {
  try {
    await connect;
  } catch (e) {
    log.debug("An earlier connect ended with {error} (reported to its caller)", {
      error: describe(e),
    });
  }
}

/** How a connect in progress ended, for the callers waiting in awaitLink. */
type Outcome = { link: RvrLink } | { error: unknown };

function sameSpec(a: PortSpec, b: PortSpec): boolean {
  return a.path === b.path && a.baudRate === b.baudRate;
}

/** What awaitLink waits beyond the wake timeout, for a failed attempt to close its port, ms. */
export const AWAIT_LINK_GRACE_MS = 500;

/** Misses in a row after which the heartbeat declares the robot silent. */
export const HEARTBEAT_MISSES = 2;

export class Connection implements LinkProvider {
  readonly #o: ConnectionOptions;
  #spec: PortSpec;
  #link: RvrLink | undefined;
  #opened: OpenedPort | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #heartbeatBusy = false;
  #misses = 0;
  /** Aborts the background reconnect loop (and the connect attempt it runs). */
  #background: AbortController | undefined;
  #backgroundDone: Promise<void> | undefined;
  #connecting: Promise<ConnectResult> | undefined;
  /** Where the connect in `#connecting` goes (a connect to the same place joins it). */
  #connectingSpec: PortSpec | undefined;
  /** Set from the moment a lost link is noticed until the background reconnect runs. */
  #losing = false;
  /** Callers of awaitLink waiting for the outcome of the connect in progress. */
  readonly #waiters = new Set<(outcome: Outcome) => void>();
  #closed = false;
  #lastResult: ConnectResult | undefined;
  readonly #connected = new Set<(link: RvrLink) => void>();
  readonly #disconnected = new Set<(reason: string) => void>();
  readonly #closing = new Set<ClosingHook>();

  constructor(options: ConnectionOptions) {
    this.#o = options;
    this.#spec = options.spec;
  }

  get status(): ConnectionStatus {
    return this.#o.state.connection.status;
  }

  /** Where the connection points (changed by connect({ path })). */
  get spec(): PortSpec {
    return this.#spec;
  }

  /** The last successful connect, while connected. */
  get info(): ConnectResult | undefined {
    return this.#link ? this.#lastResult : undefined;
  }

  current(): RvrLink {
    if (this.#link?.isOpen) return this.#link;
    const c = this.#o.state.connection;
    throw new NotConnectedError(c.status, c.error ?? undefined);
  }

  peek(): RvrLink | undefined {
    return this.#link?.isOpen ? this.#link : undefined;
  }

  /**
   * True while a connect is in progress: an explicit connect, the auto-connect at start-up or the
   * background reconnect after a lost link (also in its pauses between attempts).
   */
  get connecting(): boolean {
    return this.#connecting !== undefined || this.#background !== undefined || this.#losing;
  }

  awaitLink(options: { signal?: AbortSignal } = {}): Promise<RvrLink> {
    const link = this.peek();
    if (link) return Promise.resolve(link);
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!this.connecting) {
      const c = this.#o.state.connection;
      return Promise.reject(new NotConnectedError(c.status, c.error ?? undefined));
    }
    // A connect ends within the wake timeout (plus closing its port): its own outcome comes first.
    const waitMs = this.#o.wakeTimeoutMs + AWAIT_LINK_GRACE_MS;
    return new Promise<RvrLink>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(onOutcome);
        signal?.removeEventListener("abort", onAbort);
      };
      const onOutcome = (outcome: Outcome) => {
        done();
        if ("link" in outcome) resolve(outcome.link);
        else reject(outcome.error);
      };
      const onAbort = () => {
        done();
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        done();
        const c = this.#o.state.connection;
        reject(
          new NotConnectedError(
            c.status,
            `still connecting to ${this.#spec.path} after ${waitMs} ms (RVR_WAKE_TIMEOUT ` +
              `${this.#o.wakeTimeoutMs} ms)` +
              (c.error ? `; last error: ${c.error}` : ""),
          ),
        );
      }, waitMs);
      this.#waiters.add(onOutcome);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Tells the callers waiting in awaitLink how the connect in progress ended. */
  #settleWaiters(outcome: Outcome): void {
    for (const waiter of [...this.#waiters]) waiter(outcome);
  }

  onConnected(listener: (link: RvrLink) => void): () => void {
    this.#connected.add(listener);
    return () => this.#connected.delete(listener);
  }

  onDisconnected(listener: (reason: string) => void): () => void {
    this.#disconnected.add(listener);
    return () => this.#disconnected.delete(listener);
  }

  /** Hooks run (in order, each awaited, errors logged) before a link is closed. */
  onClosing(hook: ClosingHook): () => void {
    this.#closing.add(hook);
    return () => this.#closing.delete(hook);
  }

  /**
   * Connects now (closing an existing link first), optionally to another port. Resolves when the
   * robot answers on both processors; rejects with the port's or the robot's error (state error).
   * While a connect to the same port is in progress, returns that one (joins it: `signal` then
   * only ends the wait of the first caller's connect, see below); a connect to another port waits
   * for it and then replaces it.
   */
  connect(spec: Partial<PortSpec> = {}, signal?: AbortSignal): Promise<ConnectResult> {
    if (this.#closed) return Promise.reject(new Error("The connection manager is closed."));
    const next = { ...this.#spec, ...spec };
    const previous = this.#connecting;
    if (previous !== undefined && this.#connectingSpec && sameSpec(this.#connectingSpec, next)) {
      log.info("A connect to {path} is already in progress; joining it", { path: next.path });
      return previous;
    }
    const run = async () => {
      await this.#stopBackground();
      await settled(previous);
      if (this.#link) await this.#teardown("reconnect requested");
      // The state table only enters `connecting` from disconnected or error.
      if (!["disconnected", "error"].includes(this.status)) {
        this.#moveTo("disconnected", "reconnect requested");
      }
      this.#spec = next;
      this.#moveTo("connecting", `connect to ${next.path}`);
      try {
        return await this.#attempt(signal);
      } catch (e) {
        this.#moveTo("error", "connect failed", e);
        // Callers waiting for the robot get this connect's error, unless a newer one follows.
        if (this.#connecting === p) {
          this.#settleWaiters({
            error: signal?.aborted
              ? new NotConnectedError("error", `the connect to ${next.path} was cancelled`)
              : e,
          });
        }
        throw e;
      }
    };
    const p: Promise<ConnectResult> = run().finally(() => {
      if (this.#connecting === p) {
        this.#connecting = undefined;
        this.#connectingSpec = undefined;
      }
    });
    this.#connecting = p;
    this.#connectingSpec = next;
    return p;
  }

  /**
   * Connects in the background: one attempt now and, while the robot is not there, more with
   * growing pauses until it answers, `disconnect()` or `close()`.
   */
  startAutoConnect(): void {
    if (this.#closed || this.#link || this.#background || this.#connecting) return;
    this.#moveTo("connecting", `auto-connect to ${this.#spec.path}`);
    this.#runBackground(false);
  }

  /** Resolves once the robot is connected (e.g. after auto-connect); rejects if `signal` aborts. */
  whenConnected(signal?: AbortSignal): Promise<RvrLink> {
    const link = this.peek();
    if (link) return Promise.resolve(link);
    return new Promise((resolve, reject) => {
      const off = this.onConnected((l) => {
        off();
        signal?.removeEventListener("abort", onAbort);
        resolve(l);
      });
      const onAbort = () => {
        off();
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Puts drive_stop on the wire (closing hooks), closes the link and stays disconnected. */
  async disconnect(reason = "disconnect requested"): Promise<void> {
    await this.#stopBackground();
    await settled(this.#connecting);
    await this.#teardown(reason);
    if (this.status !== "disconnected") this.#moveTo("disconnected", reason);
    if (!this.connecting) {
      this.#settleWaiters({ error: new NotConnectedError("disconnected", reason) });
    }
  }

  /** disconnect() and refuse further connects (process exit). */
  async close(reason = "shutting down"): Promise<void> {
    this.#closed = true;
    await this.disconnect(reason);
  }

  async #attempt(signal?: AbortSignal): Promise<ConnectResult> {
    const spec = this.#spec;
    const m = this.#o.metrics;
    let opened: OpenedPort | undefined;
    let link: RvrLink | undefined;
    try {
      opened = await this.#o.openPort(spec);
      link = new RvrLink(opened.port, {
        ...this.#o.linkOptions,
        defaultTimeoutMs: this.#o.requestTimeoutMs,
      });
      link.start();
      const wake = await wakeRobot(link, opened.port.path, {
        timeoutMs: this.#o.wakeTimeoutMs,
        signal,
      });
      signal?.throwIfAborted();
      m?.connectionAttemptsTotal.inc({ result: "ok" });
      m?.wakeSeconds.observe(wake.elapsedMs / 1000);
      const result: ConnectResult = {
        port: opened.port.path,
        simulated: opened.simulated,
        wakeMs: Math.round(wake.elapsedMs * 10) / 10,
        attempts: wake.attempts,
      };
      this.#install(link, opened, result);
      return result;
    } catch (e) {
      m?.connectionAttemptsTotal.inc({ result: "failed" });
      await link?.close();
      await opened?.close();
      throw e;
    }
  }

  #install(link: RvrLink, opened: OpenedPort, result: ConnectResult): void {
    const wasReconnecting = this.status === "reconnecting";
    this.#link = link;
    this.#opened = opened;
    this.#lastResult = result;
    this.#misses = 0;
    link.onClose((error) => {
      if (this.#link !== link) return; // closed on purpose by #teardown
      void this.#lost(`link closed: ${error?.message ?? "port closed"}`);
    });
    this.#moveTo("connected", `robot answers on ${result.port}`);
    this.#o.state.setPower("awake", { reason: "woken on connect" });
    if (wasReconnecting) this.#o.metrics?.connectionReconnectsTotal.inc();
    log.info(
      result.simulated
        ? "RVR connected on {port} (simulated): both processors answer after {wakeMs} ms"
        : "RVR connected on {port}: both processors answer after {wakeMs} ms",
      { ...result },
    );
    if (this.#o.heartbeatMs > 0) {
      this.#heartbeat = setInterval(() => void this.#beat(link), this.#o.heartbeatMs);
    }
    for (const listener of [...this.#connected]) {
      try {
        listener(link);
      } catch (e) {
        log.error("A connected-listener threw: {error}", { error: describe(e), e });
      }
    }
    // After the listeners: the safety set-up is queued before any waiting caller's command.
    this.#settleWaiters({ link });
  }

  async #beat(link: RvrLink): Promise<void> {
    if (this.#heartbeatBusy || this.#link !== link) return;
    this.#heartbeatBusy = true;
    try {
      await link.request("echo", { data: [] }, {
        target: 1,
        timeoutMs: Math.min(this.#o.requestTimeoutMs, this.#o.heartbeatMs),
      });
      this.#misses = 0;
    } catch (e) {
      if (this.#link !== link) return;
      this.#misses++;
      this.#o.metrics?.heartbeatFailuresTotal.inc();
      log.warn("Heartbeat echo missed ({misses} in a row): {error}", {
        misses: this.#misses,
        error: describe(e),
      });
      if (this.#misses >= HEARTBEAT_MISSES) {
        await this.#lost(`robot silent: ${this.#misses} heartbeat echoes unanswered`);
      }
    } finally {
      this.#heartbeatBusy = false;
    }
  }

  /** The robot went away while connected: stop it if we still can, then look for it again. */
  async #lost(reason: string): Promise<void> {
    if (!this.#link || this.#closed || this.#losing) return;
    log.warn("Lost the RVR ({reason}); reconnecting", { reason });
    this.#losing = true;
    try {
      await this.#teardown(reason);
      this.#moveTo("reconnecting", reason);
      this.#runBackground(true);
    } finally {
      this.#losing = false;
    }
  }

  #runBackground(reconnecting: boolean): void {
    const controller = new AbortController();
    this.#background = controller;
    const signal = controller.signal;
    const pauses = backoff({
      initialMs: this.#o.reconnectInitialMs ?? 250,
      maxMs: this.#o.reconnectMaxMs ?? 5000,
    });
    const loop = async () => {
      let first = !reconnecting;
      while (!signal.aborted) {
        try {
          await this.#attempt(signal);
          return;
        } catch (e) {
          if (signal.aborted) return;
          this.#settleWaiters({ error: e });
          if (first) {
            log.warn("RVR not reachable yet ({reason}); retrying in the background", {
              reason: describe(e),
            });
            this.#moveTo("error", "auto-connect failed", e);
            first = false;
          } else {
            log.debug("Reconnect attempt failed: {reason}", { reason: describe(e) });
          }
          this.#moveTo("reconnecting", "retrying in the background", e);
        }
        try {
          await delay(pauses.next().value as number, { signal });
        } catch (e) {
          if (!signal.aborted) throw e;
        }
      }
    };
    this.#backgroundDone = loop().catch((e) => {
      log.error("Background connect stopped unexpectedly: {error}", { error: describe(e), e });
    }).finally(() => {
      if (this.#background === controller) this.#background = undefined;
    });
  }

  async #stopBackground(): Promise<void> {
    this.#background?.abort(new Error("background connect stopped"));
    this.#background = undefined;
    await this.#backgroundDone;
    this.#backgroundDone = undefined;
  }

  /** Closing hooks, then close link and port. Safe to call when nothing is open. */
  async #teardown(reason: string): Promise<void> {
    const link = this.#link;
    const opened = this.#opened;
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    if (!link) return;
    for (const hook of [...this.#closing]) {
      try {
        await hook(link, reason);
      } catch (e) {
        log.error("A closing hook failed ({reason}): {error}", { reason, error: describe(e), e });
      }
    }
    this.#link = undefined;
    this.#opened = undefined;
    await link.close();
    await opened?.close();
    this.#o.state.setPower("unknown", { reason });
    for (const listener of [...this.#disconnected]) {
      try {
        listener(reason);
      } catch (e) {
        log.error("A disconnected-listener threw: {error}", { error: describe(e), e });
      }
    }
  }

  #moveTo(to: ConnectionStatus, reason: string, error?: unknown): void {
    const state = this.#o.state;
    if (state.connection.status === to && to !== "reconnecting") return;
    state.transition(to, { reason, ...(error !== undefined ? { error: describe(error) } : {}) });
  }
}
