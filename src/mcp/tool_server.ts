/**
 * An MCP server of just tools, for a program that drives something other than one robot runtime
 * (the fleet gateway, src/fleet): catalog-shaped tools registered through the one adapter
 * (./_tool.ts), so both serve the same way (arguments checked as read, output schemas,
 * annotations, progress, cancellation, DomainError hints), for either protocol era like
 * server.ts's {@link createServer}: the SDK's entries (`serveMcpStdio`, `serveMcpHttp`) call it
 * with the era of each connection, session or request.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { McpServer } from "@modelcontextprotocol/server";
import type { z } from "zod";
import type { Tool } from "../tools/mod.ts";
import { registerTool } from "./_tool.ts";
import type { Era } from "./server.ts";

const log = getLogger(["rvr", "mcp"]);

/** Who the server is. */
export interface ToolServerInfo {
  readonly name: string;
  readonly title: string;
  readonly version: string;
  readonly instructions: string;
}

/** Options beyond the tools. */
export interface ToolServerOptions {
  /** Default "legacy" (2025 era, with the logging capability); "modern" serves 2026-07-28. */
  era?: Era;
}

/** An McpServer serving `tools`, each run against `robot`, for `options.era`. */
export function createToolServer<R>(
  info: ToolServerInfo,
  tools: readonly Tool<z.ZodRawShape, z.ZodRawShape, R>[],
  robot: R,
  options: ToolServerOptions = {},
): McpServer {
  const legacy = (options.era ?? "legacy") === "legacy";
  const server = new McpServer(
    { name: info.name, title: info.title, version: info.version },
    {
      capabilities: { tools: {}, ...(legacy ? { logging: {} } : {}) },
      instructions: info.instructions,
    },
  );
  const notify = (name: string, detail: string) =>
    log.info("{name} changed: {detail}", { name, detail });
  for (const t of tools) registerTool(server, t, { robot, notify });
  return server;
}
