/**
 * MCP over Streamable HTTP under Deno.serve, beside stdio, for both protocol eras on one endpoint:
 *
 * - 2026-07-28 requests (they carry the protocol version in `_meta`) go to the SDK's
 *   `createMcpHandler`: no session, a fresh server per request from the same factory; change
 *   notifications reach the client on its `subscriptions/listen` streams, published by one
 *   resource watch per endpoint ({@link McpHttpOptions.resourceUpdates}).
 * - 2025-era requests (`initialize`, then `mcp-session-id`) keep their sessions: one server per
 *   session on the SDK's Streamable HTTP transport, with the GET stream, `resources/subscribe`,
 *   log messages, and DELETE (or the transport closing) ending the session, which
 *   {@link McpHttpOptions.onSessionClosed} hears. The SDK's `isLegacyRequest` (its own
 *   classification) decides the era.
 *
 * The body of a POST is read here, once, bounded (RVR_MAX_BODY_BYTES: 413 from Content-Length or
 * while streaming, before anything is parsed; src/http/body_limit.ts), checked by the JSON-RPC
 * gate (_jsonrpc_gate.ts: -32700, -32600 and -32602 answered here, 400 or in-band 200), its
 * tools/call arguments noted as read (_wire_arguments.ts), and handed to whichever side serves it.
 *
 * 2025-era sessions expire after RVR_MCP_SESSION_IDLE_TIMEOUT without a request in flight (a
 * client that leaves without DELETE), and at most RVR_MCP_MAX_SESSIONS live: one more
 * `initialize` is refused with 503 and the way out (_session_table.ts).
 *
 * Security, for both eras: without RVR_API_KEY the endpoint binds to 127.0.0.1 only and checks
 * the Host header against DNS rebinding; with a key it binds to RVR_HTTP_HOST and every request
 * needs `Authorization: Bearer <key>` (401 otherwise), compared in constant time
 * (src/http/auth.ts).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { errorMessage } from "../core/mod.ts";
import {
  createMcpHandler,
  hostHeaderValidationResponse,
  isInitializeRequest,
  isLegacyRequest,
  localhostAllowedHostnames,
  type McpServer,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import { authorized, bindHost, isLoopback, loopbackHostHeaders } from "../http/auth.ts";
import { BodyTooLargeError, DEFAULT_MAX_BODY_BYTES, readBody } from "../http/body_limit.ts";
import { INVALID_PARAMS, INVALID_REQUEST, screenBytes } from "./_jsonrpc_gate.ts";
import { SessionTable } from "./_session_table.ts";
import { WireArguments } from "./_wire_arguments.ts";
import type { Era } from "./server.ts";

const log = getLogger(["rvr", "mcp", "http"]);

/** Where MCP is served on the HTTP port. */
export const MCP_PATH = "/mcp";
/** RVR_MCP_HTTP_PORT when `--http` is given without it. */
export const DEFAULT_MCP_HTTP_PORT = 3000;
/** RVR_MCP_SESSION_IDLE_TIMEOUT's default, in seconds: a 2025-era session idle this long ends. */
export const DEFAULT_SESSION_IDLE_TIMEOUT_S = 600;
/** RVR_MCP_MAX_SESSIONS's default: 2025-era sessions open at once. */
export const DEFAULT_MAX_SESSIONS = 32;
const IDLE_SETTING = "RVR_MCP_SESSION_IDLE_TIMEOUT";
const MAX_SESSIONS_SETTING = "RVR_MCP_MAX_SESSIONS";

export interface McpHttpOptions {
  port: number;
  /** Used only with an API key; without one the endpoint binds to 127.0.0.1. */
  host: string;
  apiKey?: string;
  /**
   * A fresh MCP server for `era`: one per 2025-era session, or one per 2026-era request (build
   * that one without a resource watch of its own: see `resourceUpdates`).
   */
  createServer: (era: Era) => McpServer;
  /**
   * Starts the endpoint's one watch of resource changes for the 2026 era: it calls `publish(uri)`
   * for each change (throttled), which reaches every `subscriptions/listen` stream that asked
   * for `uri`. Returns what stops it.
   */
  resourceUpdates?: (publish: (uri: string) => void) => () => void;
  /** Called when a 2025-era session ends (client DELETE, idle expiry, transport closed, shutdown). */
  onSessionClosed?: (sessionId: string) => void | Promise<void>;
  /** The largest request body in bytes (RVR_MAX_BODY_BYTES); default DEFAULT_MAX_BODY_BYTES. */
  maxBodyBytes?: number;
  /** A 2025-era session with no request in flight this long expires; default 600 s. */
  sessionIdleTimeoutMs?: number;
  /** The most 2025-era sessions at once; default DEFAULT_MAX_SESSIONS. */
  maxSessions?: number;
}

export interface McpHttpServer {
  /** e.g. http://127.0.0.1:3000/mcp */
  readonly url: string;
  /** Open 2025-era sessions. */
  readonly sessions: number;
  /** Sessions that expired for idleness since the start. */
  readonly expiredSessions: number;
  close(): Promise<void>;
}

function jsonRpcError(
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/**
 * `req` with a signal that aborts only when the client goes away before its response was
 * delivered (a 2026-era client cancels a call by closing its stream). Deno's own `req.signal`
 * also aborts after every successful response and, once read, makes Deno print a warning that
 * is not a JSON log line; the SDK reads the signal, so it gets this one. The body stays with
 * `req` (read once, by the caller).
 */
function withDisconnectSignal(req: Request, info: Deno.ServeHandlerInfo): Request {
  const gone = new AbortController();
  info.completed.catch((error: unknown) => {
    log.debug("MCP HTTP client went away before its response was delivered: {error}", {
      error: String(error),
    });
    gone.abort(new DOMException("The client closed the connection.", "AbortError"));
  });
  return new Request(req.url, { method: req.method, headers: req.headers, signal: gone.signal });
}

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  server: McpServer;
}

/** Starts serving; resolves once listening. */
export async function serveMcpHttp(options: McpHttpOptions): Promise<McpHttpServer> {
  const hostname = bindHost(options.host, options.apiKey);
  const loopback = isLoopback(hostname);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const idleTimeoutMs = options.sessionIdleTimeoutMs ?? DEFAULT_SESSION_IDLE_TIMEOUT_S * 1000;
  let expired = 0;
  const sessions: SessionTable<Session> = new SessionTable({
    idleTimeoutMs,
    maxSessions: options.maxSessions ?? DEFAULT_MAX_SESSIONS,
    expire: (id, session) => {
      expired++;
      endSession(id, `idle for ${idleTimeoutMs / 1000} s, ${IDLE_SETTING}`, session).catch(
        (error) => {
          log.error("MCP HTTP: closing expired session {id} failed: {error}", {
            id,
            error: errorMessage(error),
          });
        },
      );
    },
  });
  const ready = Promise.withResolvers<Deno.NetAddr>();
  let port = options.port;

  const modern = createMcpHandler(() => options.createServer("modern"), {
    legacy: "reject",
    onerror: (error) => log.info("MCP HTTP (2026-07-28): {error}", { error: error.message }),
  });
  const stopUpdates = options.resourceUpdates?.((uri) => modern.notify.resourceUpdated(uri));

  /** Ends session `id`; `dropped`: the one the table already dropped for idleness. */
  const endSession = async (id: string, why: string, dropped?: Session) => {
    const session = dropped ?? sessions.delete(id);
    if (!session) return;
    log.info("MCP HTTP session {id} ended ({why})", { id, why });
    try {
      await session.server.close();
    } finally {
      await options.onSessionClosed?.(id);
    }
  };

  /** The 2025 era: sessions on the SDK's Streamable HTTP transport. */
  const serveLegacy = async (
    req: Request,
    body: unknown,
    done: Promise<unknown>,
  ): Promise<Response> => {
    const sessionId = req.headers.get("mcp-session-id");
    if (sessionId) {
      const session = sessions.get(sessionId);
      if (!session) {
        return jsonRpcError(404, -32001, `Session ${sessionId} not found; initialize a new one.`);
      }
      // Not idle until the response (a GET stream: for as long as it is open) is delivered.
      const end = sessions.begin(sessionId);
      done.then(end, end);
      return await session.transport.handleRequest(req, { parsedBody: body });
    }
    if (req.method !== "POST") {
      return jsonRpcError(
        400,
        -32000,
        "No mcp-session-id header: POST an initialize request first.",
      );
    }
    if (!isInitializeRequest(body)) {
      return jsonRpcError(
        400,
        -32000,
        "No mcp-session-id header: the first request must be initialize (2025 era), or send " +
          "the protocol version in _meta (2026-07-28).",
      );
    }
    if (sessions.full) {
      const text = `Too many MCP sessions: ${sessions.maxSessions} are open ` +
        `(${MAX_SESSIONS_SETTING}); end one with DELETE, wait until an idle one expires (after ` +
        `${idleTimeoutMs / 1000} s, ${IDLE_SETTING}), or raise ${MAX_SESSIONS_SETTING}.`;
      log.warn("MCP HTTP: initialize refused: {text}", { text });
      return jsonRpcError(503, -32000, text, {
        "retry-after": String(Math.ceil(idleTimeoutMs / 1000)),
      });
    }
    const release = sessions.reserve();
    try {
      return await openSession(req, body);
    } finally {
      release();
    }
  };

  const openSession = async (req: Request, body: unknown): Promise<Response> => {
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      enableDnsRebindingProtection: loopback,
      ...(loopback ? { allowedHosts: loopbackHostHeaders(port) } : {}),
      onsessioninitialized: (id) => {
        sessions.add(id, { transport, server });
        log.info("MCP HTTP session {id} started", { id });
      },
      onsessionclosed: (id) => endSession(id, "closed by the client"),
    });
    transport.onclose = () => {
      if (transport.sessionId) void endSession(transport.sessionId, "transport closed");
    };
    const server = options.createServer("legacy");
    await server.connect(transport);
    return await transport.handleRequest(req, { parsedBody: body });
  };

  const handle = async (received: Request, info: Deno.ServeHandlerInfo): Promise<Response> => {
    const req = withDisconnectSignal(received, info);
    const url = new URL(req.url);
    if (url.pathname !== MCP_PATH) {
      return new Response(`Not found: MCP is served at ${MCP_PATH}\n`, { status: 404 });
    }
    if (options.apiKey && !(await authorized(req, options.apiKey))) {
      return new Response("Unauthorized: send Authorization: Bearer <RVR_API_KEY>\n", {
        status: 401,
        headers: { "www-authenticate": 'Bearer realm="rvr-mcp"' },
      });
    }
    if (loopback) {
      const rejected = hostHeaderValidationResponse(req, localhostAllowedHostnames());
      if (rejected) return rejected;
    }
    if (req.method !== "POST") {
      if (await isLegacyRequest(req, undefined)) {
        return await serveLegacy(req, undefined, info.completed);
      }
      return await modern.fetch(req);
    }
    let bytes: Uint8Array;
    try {
      bytes = await readBody(received, { maxBytes: maxBodyBytes });
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      log.warn("MCP HTTP: {error}", { error: error.message, readBytes: error.readBytes });
      return jsonRpcError(error.status, INVALID_REQUEST, error.message);
    }
    const screened = screenBytes(bytes);
    if (!screened.ok) {
      const response = screened.response;
      log.info("MCP HTTP: refused {reason}", { reason: screened.reason });
      // A request's invalid params are answered in-band (200), like the SDK's own; a message that
      // is no request at all (or a refused notification) is a bad HTTP request (400).
      const inBand = response !== undefined && response.id !== null &&
        response.error.code === INVALID_PARAMS;
      return new Response(
        JSON.stringify(
          response ??
            { jsonrpc: "2.0", id: null, error: { code: INVALID_PARAMS, message: screened.reason } },
        ),
        { status: inBand ? 200 : 400, headers: { "content-type": "application/json" } },
      );
    }
    const body = screened.raw;
    const wire = new WireArguments();
    wire.note(body);
    return await wire.run(async () => {
      if (await isLegacyRequest(req, body)) return await serveLegacy(req, body, info.completed);
      return await modern.fetch(req, { parsedBody: body });
    });
  };

  const server = Deno.serve({
    port: options.port,
    hostname,
    onListen: (addr) => ready.resolve(addr as Deno.NetAddr),
    onError: (e) => {
      log.error("MCP HTTP request failed: {error}", { error: String(e), e });
      return jsonRpcError(500, -32603, "Internal error; see the server's log.");
    },
  }, handle);
  const addr = await ready.promise;
  port = addr.port;
  const url = `http://${hostname}:${addr.port}${MCP_PATH}`;
  log.info(
    options.apiKey
      ? "MCP over Streamable HTTP at {url} (bearer token required; 2025-era and 2026-07-28 clients)"
      : "MCP over Streamable HTTP at {url} (loopback only; 2025-era and 2026-07-28 clients)",
    { url },
  );
  return {
    url,
    get sessions() {
      return sessions.size;
    },
    get expiredSessions() {
      return expired;
    },
    close: async () => {
      stopUpdates?.();
      for (const id of sessions.ids()) await endSession(id, "server shutting down");
      await modern.close();
      await server.shutdown();
    },
  };
}
