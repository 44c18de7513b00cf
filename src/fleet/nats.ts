/**
 * The fleet's NATS connection, the adapter between src/fleet and the broker
 * (`@nats-io/transport-node`): the one fleet file that touches the outside world. A
 * {@link FleetLink} connects in the background and never gives up: no broker yet, a broker that
 * goes away, a token it refuses are log lines (the first, then every 10th, 100th, ...) while the
 * program goes on serving locally; nats.js reconnects on its own after a drop, and this link
 * starts over with a new connection when nats.js gives one up (e.g. the token was refused on a
 * reconnect). Whoever needs the connection registers {@link FleetLink.onConnection}: it runs for
 * every new connection (subscriptions made on it survive reconnects: nats.js renews them).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  connect,
  errors,
  type Msg,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";
import { Svcm } from "@nats-io/services";
import { backoff, delay, errorMessage, isAbandonedSocketReset } from "../core/mod.ts";

export type { Msg, NatsConnection, Subscription };

const log = getLogger(["rvr", "fleet", "nats"]);

let resetsAbsorbed = false;

/**
 * A broker that refuses a token (or goes away) resets the connection; nats.js has already let that
 * socket go, so the reset surfaces as an uncaught error (see isAbandonedSocketReset). It is a
 * broker problem: a log line, never a crash. Installed once, by the first FleetLink; main.ts's
 * last-resort handler applies the same rule (it runs first there, and this one then stays quiet).
 */
function absorbAbandonedSocketResets(): void {
  if (resetsAbsorbed) return;
  resetsAbsorbed = true;
  globalThis.addEventListener("error", (event) => {
    if (event.defaultPrevented || !isAbandonedSocketReset(event.error)) return;
    event.preventDefault();
    log.warn("Fleet: the broker reset a connection already given up: {error}", {
      error: (event.error as Error).message,
    });
  });
}

/** How to reach the broker. */
export interface FleetLinkOptions {
  /** Server URLs (RVR_FLEET_URL, comma-separated), e.g. ["nats://teacher.local:4222"]. */
  readonly servers: readonly string[];
  /** RVR_FLEET_TOKEN, for a broker with token auth. Never logged. */
  readonly token?: string;
  /** The connection's name as the broker shows it (e.g. "rvr sim-01"). */
  readonly name: string;
  /** Wait between reconnect attempts, ms. Default 500. */
  readonly reconnectWaitMs?: number;
  /** Longest wait between fresh connection attempts after a refusal, ms. Default 10 000. */
  readonly maxRetryMs?: number;
}

/** Logs the 1st, 10th, 100th, ... occurrence so a broker that stays away cannot flood the log. */
function worthLogging(count: number): boolean {
  return count === 1 || Math.log10(count) % 1 === 0;
}

/** True when `error` says nobody listens on the subject (no member there). */
export function isNoResponders(error: unknown): boolean {
  return (error instanceof errors.RequestError && error.isNoResponders()) ||
    error instanceof errors.NoRespondersError;
}

/** True when a NATS request ran out of time. */
export function isRequestTimeout(error: unknown): boolean {
  return error instanceof errors.TimeoutError ||
    (error instanceof errors.RequestError && error.cause instanceof errors.TimeoutError);
}

/** True when the broker refused the credentials. */
export function isAuthError(error: unknown): boolean {
  return error instanceof errors.AuthorizationError;
}

/** A broker connection that keeps itself alive; see the module doc. */
export class FleetLink {
  readonly #options: FleetLinkOptions;
  #nc: NatsConnection | undefined;
  #connected = false;
  #closed = false;
  #failures = 0;
  readonly #listeners = new Set<(nc: NatsConnection) => void>();
  readonly #stop = new AbortController();
  /** Set while a connection problem is the last thing heard: what the gateway tells callers. */
  #problem: string | undefined = "not connected to the broker yet";

  constructor(options: FleetLinkOptions) {
    if (options.servers.length === 0) {
      throw new RangeError(
        "FleetLink needs at least one broker URL, e.g. nats://teacher.local:4222 (RVR_FLEET_URL).",
      );
    }
    this.#options = options;
    absorbAbandonedSocketResets();
    this.#run().catch((error) => {
      log.error("The fleet connection loop failed (a bug): {error}", {
        error: errorMessage(error),
      });
    });
  }

  /** The broker URLs, for messages. */
  get servers(): readonly string[] {
    return this.#options.servers;
  }

  /** True while connected to the broker (not while reconnecting). */
  get connected(): boolean {
    return this.#connected;
  }

  /** The connection while {@link connected}, else undefined. */
  get nc(): NatsConnection | undefined {
    return this.#connected ? this.#nc : undefined;
  }

  /** Why there is no connection now (undefined while connected). */
  get problem(): string | undefined {
    return this.#connected ? undefined : this.#problem;
  }

  /**
   * Runs `listener` for every new connection (at once when connected now). Returns a function
   * that unregisters it.
   */
  onConnection(listener: (nc: NatsConnection) => void): () => void {
    this.#listeners.add(listener);
    if (this.#connected && this.#nc) this.#notify(listener, this.#nc);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once connected (at once when connected now); rejects when the link closes first. */
  ready(signal?: AbortSignal): Promise<NatsConnection> {
    if (this.#connected && this.#nc) return Promise.resolve(this.#nc);
    return new Promise((resolve, reject) => {
      const off = this.onConnection((nc) => {
        off();
        signal?.removeEventListener("abort", abort);
        resolve(nc);
      });
      const abort = () => {
        off();
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", abort, { once: true });
    });
  }

  /** Drains nothing, closes the connection and stops reconnecting. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#connected = false;
    this.#stop.abort();
    this.#listeners.clear();
    const nc = this.#nc;
    this.#nc = undefined;
    if (nc && !nc.isClosed()) {
      await nc.close().catch((error) => {
        log.warn("Closing the fleet connection failed: {error}", { error: errorMessage(error) });
      });
    }
  }

  #notify(listener: (nc: NatsConnection) => void, nc: NatsConnection): void {
    try {
      listener(nc);
    } catch (error) {
      log.error("A fleet connection listener threw: {error}", { error: errorMessage(error) });
    }
  }

  async #run(): Promise<void> {
    const { servers, token, name, reconnectWaitMs = 500, maxRetryMs = 10_000 } = this.#options;
    const waits = backoff({ initialMs: reconnectWaitMs, maxMs: maxRetryMs, factor: 2 });
    while (!this.#closed) {
      let nc: NatsConnection;
      try {
        nc = await connect({
          servers: [...servers],
          name,
          ...(token === undefined ? {} : { token }),
          waitOnFirstConnect: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: reconnectWaitMs,
          reconnectJitter: 100,
          pingInterval: 2000,
          maxPingOut: 2,
        });
      } catch (error) {
        if (this.#closed) return;
        this.#failures++;
        this.#problem = isAuthError(error)
          ? `the broker at ${servers.join(",")} refused the token (RVR_FLEET_TOKEN): set the ` +
            `token the broker was started with`
          : `cannot connect to the broker at ${servers.join(",")}: ${errorMessage(error)}`;
        if (worthLogging(this.#failures)) {
          log.error("Fleet: {problem} ({failures} attempts so far; retrying)", {
            problem: this.#problem,
            failures: this.#failures,
          });
        }
        await this.#pause(waits.next().value);
        continue;
      }
      if (this.#closed) {
        await nc.close();
        return;
      }
      this.#nc = nc;
      this.#connected = true;
      this.#failures = 0;
      this.#problem = undefined;
      log.info("Fleet: connected to {server}", { server: nc.getServer() });
      for (const listener of [...this.#listeners]) this.#notify(listener, nc);
      await this.#watch(nc);
      this.#connected = false;
      if (this.#closed) return;
      this.#problem ??= "the connection to the broker closed";
      log.warn("Fleet: the connection closed ({problem}); connecting again", {
        problem: this.#problem,
      });
      await this.#pause(waits.next().value);
    }
  }

  /** Waits `ms` before the next attempt; `close()` ends the wait early (the loop then returns). */
  async #pause(ms: number): Promise<void> {
    try {
      await delay(ms, { signal: this.#stop.signal });
    } catch (error) {
      if (!this.#stop.signal.aborted) throw error;
    }
  }

  /** Follows `nc`'s status until it closes for good. */
  async #watch(nc: NatsConnection): Promise<void> {
    const closed = nc.closed().then((error) => {
      if (error) this.#problem = errorMessage(error);
    });
    for await (const s of nc.status()) {
      switch (s.type) {
        case "disconnect":
          this.#connected = false;
          this.#problem = `the broker at ${s.server} went away; reconnecting`;
          log.warn("Fleet: disconnected from {server}; reconnecting in the background", {
            server: s.server,
          });
          break;
        case "reconnect":
          this.#connected = true;
          this.#problem = undefined;
          log.info("Fleet: reconnected to {server}", { server: s.server });
          break;
        case "error":
          log.warn("Fleet: broker error: {error}", { error: errorMessage(s.error) });
          break;
        default:
          break;
      }
    }
    await closed;
  }
}

/**
 * The services API (`@nats-io/services`) over our connection. Its only published line is a
 * pre-release built on an older `@nats-io/nats-core` than the transport's; the runtime objects
 * are compatible (it calls subscribe, publish, request), their declared types are not, so the
 * one cast between the two lives here.
 */
function services(nc: NatsConnection): Svcm {
  return new Svcm(nc as unknown as ConstructorParameters<typeof Svcm>[0]);
}

/** A message to a service endpoint. */
export interface EndpointMsg {
  readonly subject: string;
  readonly reply?: string;
  string(): string;
  respond(data: string | Uint8Array): boolean;
}

/** A registered service. */
export interface FleetService {
  readonly id: string;
  stop(): Promise<null | Error>;
}

/** What {@link addService} registers. */
export interface ServiceSpec {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly metadata: Record<string, string>;
  /** Reported in each endpoint's stats `data` ($SRV.STATS). */
  readonly stats: () => unknown;
  readonly endpoints: readonly {
    readonly name: string;
    readonly subject: string;
    readonly handler: (msg: EndpointMsg) => void;
  }[];
}

/**
 * Registers a NATS micro-service (discoverable with $SRV.PING/INFO/STATS). Its endpoints use no
 * queue group: one member answers its own subjects.
 */
export async function addService(nc: NatsConnection, spec: ServiceSpec): Promise<FleetService> {
  const service = await services(nc).add({
    name: spec.name,
    version: spec.version,
    description: spec.description,
    metadata: { ...spec.metadata },
    queue: "",
    statsHandler: () => Promise.resolve(spec.stats()),
  });
  for (const e of spec.endpoints) {
    service.addEndpoint(e.name, {
      subject: e.subject,
      handler: (error, msg) => {
        if (error) {
          log.warn("Fleet: endpoint {name} failed: {error}", {
            name: e.name,
            error: errorMessage(error),
          });
          return;
        }
        e.handler(msg);
      },
    });
  }
  return { id: service.info().id, stop: (err?: Error) => service.stop(err) };
}

/** One service instance as discovery reports it. */
export interface DiscoveredService {
  readonly id: string;
  readonly version: string;
  readonly metadata: Record<string, string>;
  /** Each endpoint's stats data (what its `stats` returned), by endpoint name (STATS only). */
  readonly data: Record<string, unknown>;
}

/**
 * Every instance of service `name` that answers $SRV.STATS (or $SRV.INFO with `verb: "info"`)
 * within `maxWaitMs`.
 */
export async function discover(
  nc: NatsConnection,
  name: string,
  options: { maxWaitMs: number; verb?: "stats" | "info" },
): Promise<DiscoveredService[]> {
  const client = services(nc).client({ strategy: "timer", maxWait: options.maxWaitMs });
  const found: DiscoveredService[] = [];
  try {
    if (options.verb === "info") {
      for await (const s of await client.info(name)) {
        found.push({ id: s.id, version: s.version, metadata: s.metadata ?? {}, data: {} });
      }
    } else {
      for await (const s of await client.stats(name)) {
        const data: Record<string, unknown> = {};
        for (const e of s.endpoints ?? []) data[e.name] = e.data;
        found.push({ id: s.id, version: s.version, metadata: s.metadata ?? {}, data });
      }
    }
  } catch (error) {
    // Nobody runs the service (yet): that is an empty answer, not a failure.
    if (!isNoResponders(error)) throw error;
  }
  return found;
}

/** $SRV.PING of one service instance: resolves when it answers, rejects on timeout. */
export async function pingService(
  nc: NatsConnection,
  name: string,
  id: string,
  timeoutMs: number,
): Promise<void> {
  await nc.request(`$SRV.PING.${name}.${id}`, "", { timeout: timeoutMs });
}
