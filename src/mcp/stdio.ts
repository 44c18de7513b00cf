/**
 * MCP on stdin/stdout for both protocol eras: the SDK's `serveStdio` reads the client's opening
 * message and pins the connection to one server from the factory, a 2025-era one (`initialize`)
 * or a 2026-07-28 one (`server/discover` or any request with the protocol version in `_meta`).
 * The factory may also be called for a `server/discover` probe that the SDK discards when the
 * client falls back to `initialize`; the SDK closes that instance, which releases what it
 * subscribed to. On a 2026-era connection the instance's `resources/updated` notifications go to
 * the `subscriptions/listen` streams that asked for the resource (the SDK routes them).
 *
 * Lines are read by the SDK's stdio transport over the stdin stream main.ts hands in (a
 * non-blocking socket on a pipe, see main.ts `mcpStdin`); main.ts hears that stream end (or stdout
 * fail) itself and shuts the program down.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { McpServer } from "@modelcontextprotocol/server";
import { serveStdio, StdioServerTransport } from "@modelcontextprotocol/server/stdio";
import type { Readable } from "node:stream";
import type { Era } from "./server.ts";

const log = getLogger(["rvr", "mcp", "stdio"]);

/** MCP being served on stdio. */
export interface McpStdio {
  /** Closes the connection's server and the transport. */
  close(): Promise<void>;
}

/** Options of {@link serveMcpStdio}. */
export interface McpStdioOptions {
  /** Where the client's messages come from; default node:process's stdin. */
  readonly stdin?: Readable;
}

/** Serves MCP on this process's stdin/stdout with a server from `createServer` for its era. */
export function serveMcpStdio(
  createServer: (era: Era) => McpServer,
  options: McpStdioOptions = {},
): McpStdio {
  const handle = serveStdio((ctx) => {
    log.debug("MCP on stdio: a {era} server", { era: ctx.era });
    return createServer(ctx.era);
  }, {
    transport: new StdioServerTransport(options.stdin),
    onerror: (error) => log.warn("MCP on stdio: {error}", { error: error.message }),
  });
  return { close: () => handle.close() };
}
