/**
 * The connection to the robot: open the port, wake the robot, prove both processors answer, keep
 * watching it, and find it again when it goes silent. The Connection here composes the concepts
 * in connection/: the wake/ready handshake (wake.ts), the heartbeat (heartbeat.ts), the background
 * reconnect loop (reconnect_loop.ts), connect joining (joining.ts) and the callers waiting for the
 * robot (waiters.ts); other files import them through this one.
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
 * Connection states follow the table in src/robot/state_types.ts (CONNECTION_TRANSITIONS):
 * disconnected -> connecting -> connected -> reconnecting -> connected ..., with `error` after a
 * failed explicit connect.
 */
import { getLogger } from "@logtape/logtape";
import { errorMessage } from "../core/errors.ts";
import { RvrLink } from "../link/mod.ts";
import { NotConnectedError } from "./errors.ts";
import type { LinkProvider } from "./link_provider.ts";
import { Heartbeat } from "./connection/heartbeat.ts";
import { ConnectInProgress, settled } from "./connection/joining.ts";
import { ReconnectLoop } from "./connection/reconnect_loop.ts";
import type {
  ClosingHook,
  ConnectionOptions,
  ConnectResult,
  OpenedPort,
  PortSpec,
} from "./connection/types.ts";
import { LinkWaiters } from "./connection/waiters.ts";
import { wakeRobot } from "./connection/wake.ts";
import { type ConnectionStatus } from "./state.ts";

export type {
  ClosingHook,
  ConnectionOptions,
  ConnectResult,
  OpenedPort,
  PortOpener,
  PortSpec,
} from "./connection/types.ts";
export { type WakeOptions, wakeRobot } from "./connection/wake.ts";
export { HEARTBEAT_MISSES } from "./connection/heartbeat.ts";

const log = getLogger(["rvr", "robot", "connection"]);

/** What awaitLink waits beyond the wake timeout, for a failed attempt to close its port, ms. */
export const AWAIT_LINK_GRACE_MS = 500;

export class Connection implements LinkProvider {
  readonly #o: ConnectionOptions;
  #spec: PortSpec;
  #link: RvrLink | undefined;
  #opened: OpenedPort | undefined;
  readonly #heartbeat: Heartbeat;
  /** The background connect: auto-connect at start-up, reconnect after a lost link. */
  readonly #background: ReconnectLoop;
  readonly #inProgress = new ConnectInProgress();
  /** Set from the moment a lost link is noticed until the background reconnect runs. */
  #losing = false;
  /** Callers of awaitLink waiting for the outcome of the connect in progress. */
  readonly #waiters = new LinkWaiters();
  #closed = false;
  #lastResult: ConnectResult | undefined;
  readonly #connected = new Set<(link: RvrLink) => void>();
  readonly #disconnected = new Set<(reason: string) => void>();
  readonly #closing = new Set<ClosingHook>();

  constructor(options: ConnectionOptions) {
    this.#o = options;
    this.#spec = options.spec;
    this.#heartbeat = new Heartbeat({
      periodMs: options.heartbeatMs,
      requestTimeoutMs: options.requestTimeoutMs,
      metrics: options.metrics,
      isCurrent: (link) => this.#link === link,
      onSilent: (reason) => this.#lost(reason),
    });
    this.#background = new ReconnectLoop({
      initialMs: options.reconnectInitialMs,
      maxMs: options.reconnectMaxMs,
      attempt: (signal) => this.#attempt(signal),
      onFailure: (e, first) => this.#backgroundFailed(e, first),
    });
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
    return this.#inProgress.current !== undefined || this.#background.running || this.#losing;
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
    return this.#waiters.wait({
      waitMs,
      signal,
      onTimeout: () => {
        const c = this.#o.state.connection;
        return new NotConnectedError(
          c.status,
          `still connecting to ${this.#spec.path} after ${waitMs} ms (RVR_WAKE_TIMEOUT ` +
            `${this.#o.wakeTimeoutMs} ms)` +
            (c.error ? `; last error: ${c.error}` : ""),
        );
      },
    });
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
    const joined = this.#inProgress.joinable(next);
    if (joined !== undefined) {
      log.info("A connect to {path} is already in progress; joining it", { path: next.path });
      return joined;
    }
    const previous = this.#inProgress.current;
    const run = async () => {
      await this.#background.stop();
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
        if (this.#inProgress.current === p) {
          this.#waiters.settle({
            error: signal?.aborted
              ? new NotConnectedError("error", `the connect to ${next.path} was cancelled`)
              : e,
          });
        }
        throw e;
      }
    };
    const p: Promise<ConnectResult> = this.#inProgress.begin(run, next);
    return p;
  }

  /**
   * Connects in the background: one attempt now and, while the robot is not there, more with
   * growing pauses until it answers, `disconnect()` or `close()`.
   */
  startAutoConnect(): void {
    if (this.#closed || this.#link || this.#background.running || this.#inProgress.current) return;
    this.#moveTo("connecting", `auto-connect to ${this.#spec.path}`);
    this.#background.start(false);
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
    await this.#background.stop();
    await settled(this.#inProgress.current);
    await this.#teardown(reason);
    if (this.status !== "disconnected") this.#moveTo("disconnected", reason);
    if (!this.connecting) {
      this.#waiters.settle({ error: new NotConnectedError("disconnected", reason) });
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
    this.#heartbeat.reset();
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
    this.#heartbeat.start(link);
    for (const listener of [...this.#connected]) {
      try {
        listener(link);
      } catch (e) {
        log.error("A connected-listener threw: {error}", { error: errorMessage(e), e });
      }
    }
    // After the listeners: the safety set-up is queued before any waiting caller's command.
    this.#waiters.settle({ link });
  }

  /** The robot went away while connected: stop it if we still can, then look for it again. */
  async #lost(reason: string): Promise<void> {
    if (!this.#link || this.#closed || this.#losing) return;
    log.warn("Lost the RVR ({reason}); reconnecting", { reason });
    this.#losing = true;
    try {
      await this.#teardown(reason);
      this.#moveTo("reconnecting", reason);
      this.#background.start(true);
    } finally {
      this.#losing = false;
    }
  }

  /** A background connect attempt failed: callers waiting get its error; the state says so. */
  #backgroundFailed(e: unknown, first: boolean): void {
    this.#waiters.settle({ error: e });
    if (first) {
      log.warn("RVR not reachable yet ({reason}); retrying in the background", {
        reason: errorMessage(e),
      });
      this.#moveTo("error", "auto-connect failed", e);
    } else {
      log.debug("Reconnect attempt failed: {reason}", { reason: errorMessage(e) });
    }
    this.#moveTo("reconnecting", "retrying in the background", e);
  }

  /** Closing hooks, then close link and port. Safe to call when nothing is open. */
  async #teardown(reason: string): Promise<void> {
    const link = this.#link;
    const opened = this.#opened;
    this.#heartbeat.stop();
    if (!link) return;
    for (const hook of [...this.#closing]) {
      try {
        await hook(link, reason);
      } catch (e) {
        log.error("A closing hook failed ({reason}): {error}", {
          reason,
          error: errorMessage(e),
          e,
        });
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
        log.error("A disconnected-listener threw: {error}", { error: errorMessage(e), e });
      }
    }
  }

  #moveTo(to: ConnectionStatus, reason: string, error?: unknown): void {
    const state = this.#o.state;
    if (state.connection.status === to && to !== "reconnecting") return;
    state.transition(to, {
      reason,
      ...(error !== undefined ? { error: errorMessage(error) } : {}),
    });
  }
}
