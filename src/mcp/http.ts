/**
 * MCP over Streamable HTTP under Deno.serve, beside stdio. One MCP server per session (an
 * McpServer serves one transport), all driving the same robot runtime.
 *
 * Security: without RVR_API_KEY the endpoint binds to 127.0.0.1 only (and checks the Host header
 * against DNS rebinding); with a key it binds to RVR_HTTP_HOST and every request needs
 * `Authorization: Bearer <key>` (401 otherwise), compared in constant time (src/http/auth.ts).
 */
import { getLogger } from "@logtape/logtape";
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
// @ts-types="@modelcontextprotocol/sdk/server/webStandardStreamableHttp"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { authorized, bindHost, isLoopback } from "../http/auth.ts";

const log = getLogger(["rvr", "mcp", "http"]);

/** Where MCP is served on the HTTP port. */
export const MCP_PATH = "/mcp";
/** RVR_MCP_HTTP_PORT when `--http` is given without it. */
export const DEFAULT_MCP_HTTP_PORT = 3000;

export interface McpHttpOptions {
  port: number;
  /** Used only with an API key; without one the endpoint binds to 127.0.0.1. */
  host: string;
  apiKey?: string;
  /** A fresh MCP server for each session. */
  createServer: () => McpServer;
  /** Called when a session ends (client DELETE, transport closed, or shutdown). */
  onSessionClosed?: (sessionId: string) => void | Promise<void>;
}

export interface McpHttpServer {
  /** e.g. http://127.0.0.1:3000/mcp */
  readonly url: string;
  readonly sessions: number;
  close(): Promise<void>;
}

function jsonRpcError(status: number, code: number, message: string): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }), {
    status,
    headers: { "content-type": "application/json" },
  });
}

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  server: McpServer;
}

/** Starts serving; resolves once listening. */
export async function serveMcpHttp(options: McpHttpOptions): Promise<McpHttpServer> {
  const hostname = bindHost(options.host, options.apiKey);
  const sessions = new Map<string, Session>();
  const ready = Promise.withResolvers<Deno.NetAddr>();
  let port = options.port;

  const endSession = async (id: string, why: string) => {
    const session = sessions.get(id);
    if (!session) return;
    sessions.delete(id);
    log.info("MCP HTTP session {id} ended ({why})", { id, why });
    await session.server.close();
    await options.onSessionClosed?.(id);
  };

  const handle = async (req: Request): Promise<Response> => {
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
    const sessionId = req.headers.get("mcp-session-id");
    if (sessionId) {
      const session = sessions.get(sessionId);
      if (!session) {
        return jsonRpcError(404, -32001, `Session ${sessionId} not found; initialize a new one.`);
      }
      return await session.transport.handleRequest(req);
    }
    if (req.method !== "POST") {
      return jsonRpcError(
        400,
        -32000,
        "No mcp-session-id header: POST an initialize request first.",
      );
    }
    let body: unknown;
    try {
      body = await req.json();
    } catch (e) {
      return jsonRpcError(400, -32700, `Parse error: ${(e as Error).message}`);
    }
    if (!isInitializeRequest(body)) {
      return jsonRpcError(
        400,
        -32000,
        "No mcp-session-id header: the first request must be initialize.",
      );
    }
    const loopback = isLoopback(hostname);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      enableDnsRebindingProtection: loopback,
      ...(loopback ? { allowedHosts: [`127.0.0.1:${port}`, `localhost:${port}`] } : {}),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server });
        log.info("MCP HTTP session {id} started", { id });
      },
      onsessionclosed: (id) => endSession(id, "closed by the client"),
    });
    transport.onclose = () => {
      if (transport.sessionId) void endSession(transport.sessionId, "transport closed");
    };
    const server = options.createServer();
    await server.connect(transport);
    return await transport.handleRequest(req, { parsedBody: body });
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
      ? "MCP over Streamable HTTP at {url} (bearer token required)"
      : "MCP over Streamable HTTP at {url} (loopback only)",
    { url },
  );
  return {
    url,
    get sessions() {
      return sessions.size;
    },
    close: async () => {
      for (const id of [...sessions.keys()]) await endSession(id, "server shutting down");
      await server.shutdown();
    },
  };
}
