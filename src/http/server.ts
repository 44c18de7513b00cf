/**
 * The side port (RVR_HTTP_PORT; off unless set): Prometheus metrics, health and readiness, the
 * telemetry WebSocket, the dashboard page and an emergency stop, under Deno.serve.
 *
 * | route | | auth |
 * |---|---|---|
 * | `GET /` | the dashboard page (`dashboardHtml()`) | key |
 * | `GET /metrics` | Prometheus text (`runtime.metrics.text()`, its content type) | key |
 * | `GET /healthz` | 200 `{"ok":true,"uptime_s":...}` while the process runs | none |
 * | `GET /readyz` | 200 when the robot is connected and the breaker closed, else 503; JSON with the reason | key |
 * | `GET /telemetry` | WebSocket: full frame, then deltas (protocol in telemetry_ws.ts) | key |
 * | `POST /estop` | `runtime.rvr.emergencyStop("http")`; its result as JSON | key |
 * | `POST /estop/clear` | releases the e-stop as a person (`clearEmergencyStop(..., { by: "person" })`): `{"cleared":bool,"latched":false}` | key |
 *
 * **Security.** With RVR_API_KEY every route but /healthz needs `Authorization: Bearer <key>`, or
 * `?key=<key>` in the URL (a browser cannot set headers on a WebSocket or a page load); both are
 * compared in constant time (src/http/auth.ts, shared with MCP over HTTP). Without a key the port binds to
 * loopback only: any other RVR_HTTP_HOST is refused at start-up, and requests whose Host header is
 * not this loopback address are refused (403), so a web page cannot reach it by DNS rebinding.
 * Whatever the key, a browser request to /telemetry, /estop or /estop/clear from a page of another
 * origin (an `Origin` header whose host differs from `Host`) is refused (403): another site must
 * neither read the telemetry nor press (or release) the stop on someone's behalf.
 *
 * **Who pressed the stop releases it.** POST /estop is a person's stop (source `http`): the model's
 * clear_emergency_stop must ask that person. A person at this port may release any stop with POST
 * /estop/clear: being here, with the key, is the approval.
 *
 * **Bodies.** No route needs one; a body declared or streamed past `maxBodyBytes`
 * (RVR_MAX_BODY_BYTES, 1 MiB) is refused with 413 having read at most that much (body_limit.ts),
 * a smaller one is read and dropped. POST /estop engages the stop first, whatever the body: its
 * answer is then 413 with `estop: true`. POST /estop/clear with a body over the limit clears
 * nothing (413).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { ConfigError, errorMessage } from "../core/errors.ts";
import { bindHost, hasKey, hostProblem, isLoopback, originProblem } from "./auth.ts";
import { json } from "./_json.ts";
import { bodyRefusal, checkBodyLimit, DEFAULT_MAX_BODY_BYTES } from "./body_limit.ts";
import type { Runtime } from "../robot/runtime.ts";
import { type Aggregator, TelemetryModel } from "../telemetry/mod.ts";
import { TelemetryHub, type TelemetryHubOptions } from "./telemetry_ws.ts";
import type { SidePortInstruments } from "./metrics.ts";
import type { RobotMetrics } from "../robot/metrics.ts";

const log = getLogger(["rvr", "http"]);

/** The routes and their methods. */
export const SIDE_PORT_ROUTES = {
  "/": ["GET"],
  "/metrics": ["GET"],
  "/healthz": ["GET"],
  "/readyz": ["GET"],
  "/telemetry": ["GET"],
  "/estop": ["POST"],
  "/estop/clear": ["POST"],
} as const satisfies Record<string, readonly string[]>;
export type SidePortRoute = keyof typeof SIDE_PORT_ROUTES;

/** Routes that answer without the API key. */
export const OPEN_ROUTES: readonly SidePortRoute[] = ["/healthz"];

export interface SidePortOptions {
  /** RVR_HTTP_PORT; 0 picks a free port (see the returned url). */
  port: number;
  /** RVR_HTTP_HOST. Anything but loopback needs `apiKey`. */
  host: string;
  /** RVR_API_KEY. */
  apiKey?: string;
  /** Its registry is served at GET /metrics and carries the side port's instruments too. */
  runtime: Runtime<RobotMetrics & SidePortInstruments>;
  /** Its batches feed the telemetry WebSocket. */
  aggregator: Aggregator;
  /** The page served at GET /. */
  dashboardHtml: () => string;
  /** RVR_MAX_BODY_BYTES: larger request bodies get 413 (default {@link DEFAULT_MAX_BODY_BYTES}). */
  maxBodyBytes?: number;
  /** Tuning of the telemetry hub (queue size, high-water mark, drain interval). */
  telemetry?: Omit<TelemetryHubOptions, "model" | "metrics">;
}

export interface SidePort {
  /** e.g. http://127.0.0.1:9100 (no trailing slash). */
  readonly url: string;
  /** The telemetry hub (clients, counters). */
  readonly hub: TelemetryHub;
  /** Stops the telemetry feed, closes every WebSocket (1001) and stops listening. Idempotent. */
  close(): Promise<void>;
}

/** Why the side port will not start on `host` without a key; undefined when it may. */
export function refuseHost(host: string, apiKey: string | undefined): string | undefined {
  if (apiKey || isLoopback(host)) return undefined;
  return `Refusing to serve the side port (RVR_HTTP_PORT: /metrics, /telemetry, the dashboard ` +
    `and POST /estop) on RVR_HTTP_HOST=${host} without RVR_API_KEY: anyone on the network could ` +
    `watch the robot and stop it. Set RVR_API_KEY (16+ characters), or bind to 127.0.0.1.`;
}

/** What /readyz reports. */
export interface Readiness {
  ready: boolean;
  /** Why not ready (absent when ready). */
  reason?: string;
  connection: string;
  breaker: string;
  port?: string;
  simulated?: boolean;
}

/** Ready when the robot answers (connected) and the circuit breaker is closed. */
export function readiness(runtime: Runtime): Readiness {
  const status = runtime.connection.status;
  const breaker = runtime.breaker.state;
  const base = { connection: status, breaker: breaker.name };
  if (status !== "connected") {
    const error = runtime.state.connection.error;
    return {
      ready: false,
      reason: `The robot is not connected (connection ${status}${error ? `: ${error}` : ""}).`,
      ...base,
    };
  }
  if (breaker.name === "open") {
    const inS = Math.max(0, Math.ceil((breaker.retryAt - Date.now()) / 1000));
    return {
      ready: false,
      reason: `The circuit breaker is open (${breaker.reason}); commands fail fast until a probe ` +
        `succeeds, the next in ${inS} s.`,
      ...base,
    };
  }
  if (breaker.name === "half_open") {
    return {
      ready: false,
      reason: "The circuit breaker is half-open: probing whether the robot answers again.",
      ...base,
    };
  }
  const info = runtime.connection.info;
  return {
    ready: true,
    ...base,
    ...(info ? { port: info.port, simulated: info.simulated } : {}),
  };
}

/**
 * A telemetry model that starts from the runtime's state now (`TelemetryModel.fromSnapshot`): the
 * port and speed limit as its initial values, then each aspect of the state store. Later changes
 * arrive in aggregator batches.
 */
export function seededTelemetryModel(runtime: Runtime): TelemetryModel {
  const info = runtime.connection.info;
  return TelemetryModel.fromSnapshot(runtime.state.snapshot, {
    initial: {
      connection: { port: info?.port ?? runtime.spec.path, simulated: info?.simulated ?? null },
      safety: { speed_limit_percent: runtime.safety.speedLimitPercent },
    },
    reason: "side port started",
  });
}

/** Starts the side port; resolves once listening. Throws for a non-loopback host without a key. */
export async function serveSidePort(options: SidePortOptions): Promise<SidePort> {
  const refusal = refuseHost(options.host, options.apiKey);
  if (refusal) throw new ConfigError(refusal);
  const hostname = bindHost(options.host, options.apiKey);
  const maxBodyBytes = checkBodyLimit(options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
  const { runtime, apiKey } = options;
  const hub = new TelemetryHub({
    ...options.telemetry,
    model: seededTelemetryModel(runtime),
    metrics: runtime.metrics,
  });
  const unsubscribe = options.aggregator.subscribe((batch) => hub.publish(batch), {
    name: "telemetry-ws",
  });
  const guardHost = !apiKey && isLoopback(hostname);
  let port = options.port;
  let clientCount = 0;
  let closing: Promise<void> | undefined;

  const handle = async (
    req: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname as SidePortRoute;
    const methods: readonly string[] | undefined = SIDE_PORT_ROUTES[path];
    if (!methods) {
      return json(404, {
        error: `Not found: ${url.pathname}. The side port serves ${
          Object.entries(SIDE_PORT_ROUTES).map(([p, m]) => `${m.join("/")} ${p}`).join(", ")
        }.`,
      });
    }
    const badHost = guardHost ? hostProblem(req, port) : undefined;
    if (badHost) return json(403, { error: badHost });
    if (apiKey && !OPEN_ROUTES.includes(path) && !(await hasKey(req, url, apiKey))) {
      return json(401, {
        error: "Unauthorized: send Authorization: Bearer <RVR_API_KEY> (browsers: add ?key=<key>).",
      }, { "www-authenticate": 'Bearer realm="rvr-mcp"' });
    }
    if (!methods.includes(req.method)) {
      return json(405, {
        error: `Method ${req.method} not allowed on ${path}; use ${methods.join(", ")}.`,
      }, { allow: methods.join(", ") });
    }
    if (path === "/telemetry" || path === "/estop" || path === "/estop/clear") {
      const foreign = originProblem(req, path);
      if (foreign) return json(403, { error: foreign });
    }
    if (path === "/estop") {
      const remote = `${info.remoteAddr.hostname}:${info.remoteAddr.port}`;
      log.warn("Emergency stop requested over HTTP from {remote}", { remote });
      // The stop goes out first: it never waits for a body, nor depends on one.
      const [tooLarge, result] = await Promise.all([
        bodyRefusal(req, maxBodyBytes),
        runtime.rvr.emergencyStop("http"),
      ]);
      if (tooLarge) {
        return json(413, {
          estop: true,
          ...result,
          error:
            `${tooLarge.message} The emergency stop was engaged anyway: POST /estop needs no body.`,
        });
      }
      return json(200, { estop: true, ...result });
    }
    const tooLarge = await bodyRefusal(req, maxBodyBytes);
    if (tooLarge) return json(413, { error: tooLarge.message });
    switch (path) {
      case "/estop/clear": {
        const remote = `${info.remoteAddr.hostname}:${info.remoteAddr.port}`;
        const cleared = runtime.rvr.clearEmergencyStop(`cleared over HTTP from ${remote}`, {
          by: "person",
        });
        log.warn("Emergency stop {what} over HTTP (POST /estop/clear) from {remote}", {
          what: cleared ? "cleared" : "clear requested (was not latched)",
          remote,
        });
        return json(200, { cleared, latched: false });
      }
      case "/healthz":
        return json(200, { ok: true, uptime_s: Math.round(performance.now()) / 1000 });
      case "/readyz": {
        const r = readiness(runtime);
        return json(r.ready ? 200 : 503, r);
      }
      case "/metrics":
        return new Response(await runtime.metrics.text(), {
          headers: { "content-type": runtime.metrics.contentType, "cache-control": "no-store" },
        });
      case "/telemetry": {
        if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
          return json(426, {
            error: "GET /telemetry is a WebSocket: connect with a WebSocket client " +
              "(Upgrade: websocket), e.g. new WebSocket('ws://host:port/telemetry').",
          }, { upgrade: "websocket" });
        }
        if (closing) return json(503, { error: "The side port is shutting down." });
        // Before the upgrade: the request (and its remote address) is gone after it.
        const name = clientName(url.searchParams.get("client")) ?? info.remoteAddr.hostname;
        const id = `${++clientCount}-${name}`;
        const { socket, response } = Deno.upgradeWebSocket(req);
        hub.attach(socket, id);
        return response;
      }
      case "/":
        return new Response(options.dashboardHtml(), {
          headers: {
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
          },
        });
    }
  };

  const ready = Promise.withResolvers<Deno.NetAddr>();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      port: options.port,
      hostname,
      onListen: (addr) => ready.resolve(addr as Deno.NetAddr),
      onError: (e) => {
        log.error("Side port request failed: {error}", { error: errorMessage(e), e });
        return json(500, { error: "Internal error; see the server's log." });
      },
    }, handle);
  } catch (e) {
    unsubscribe();
    hub.close();
    throw new Error(
      `Could not serve the side port on ${hostname}:${options.port} (RVR_HTTP_HOST, ` +
        `RVR_HTTP_PORT): ${errorMessage(e)}. Pick a free port or unset RVR_HTTP_PORT.`,
      { cause: e },
    );
  }
  const addr = await ready.promise;
  port = addr.port;
  const url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${addr.port}`;
  log.info(
    apiKey
      ? "Side port at {url}: /metrics /healthz /readyz /telemetry / (bearer token required)"
      : "Side port at {url}: /metrics /healthz /readyz /telemetry / (loopback only)",
    { url },
  );
  return {
    url,
    hub,
    close: () =>
      closing ??= (async () => {
        unsubscribe();
        hub.close();
        await server.shutdown();
      })(),
  };
}

/** `?client=` as a metric label: letters, digits, dot, dash, underscore; at most 32. */
function clientName(raw: string | null): string | undefined {
  if (raw === null) return undefined;
  const name = raw.replace(/[^A-Za-z0-9._-]/g, "").slice(0, 32);
  return name === "" ? undefined : name;
}
