/**
 * An MCP server of just tools, for a program that drives something other than one robot runtime
 * (the fleet gateway, src/fleet): catalog-shaped tools registered through the one adapter
 * (./_tool.ts), so both serve the same way (strict inputs, output schemas, annotations, progress,
 * cancellation, DomainError hints).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { z } from "zod";
import type { Tool } from "../tools/mod.ts";
import { registerTool } from "./_tool.ts";

const log = getLogger(["rvr", "mcp"]);

/** Who the server is. */
export interface ToolServerInfo {
  readonly name: string;
  readonly title: string;
  readonly version: string;
  readonly instructions: string;
}

/** An McpServer serving `tools`, each run against `robot`. */
export function createToolServer<R>(
  info: ToolServerInfo,
  tools: readonly Tool<z.ZodRawShape, z.ZodRawShape, R>[],
  robot: R,
): McpServer {
  const server = new McpServer(
    { name: info.name, title: info.title, version: info.version },
    { capabilities: { tools: {}, logging: {} }, instructions: info.instructions },
  );
  const notify = (name: string, detail: string) =>
    log.info("{name} changed: {detail}", { name, detail });
  for (const t of tools) registerTool(server, t, { robot, notify });
  return server;
}
