/**
 * The adapter from the tool catalog (src/tools) to the MCP SDK, and the only file that knows how
 * the SDK registers and calls a tool. {@link registerTool} declares a catalog tool (a strict
 * input schema: unknown keys are refused; the output schema with the simulated_robot mark; the
 * annotations) and runs its handler with a context made from the request: a correlation id (as
 * logtape context and in every robot command of the call), the request's AbortSignal
 * (notifications/cancelled), progress notifications when the client sent a progressToken, and
 * notes that go to the event log (rvr://events).
 *
 * Errors: a `DomainError` (or the call's own cancellation) becomes an `isError: true` result whose
 * text is its hint, the cause first and then the way out ({@link describeToolError}). Anything
 * else is a bug: it is logged with its stack at error level and rethrown. The SDK (1.x) then
 * answers with an `isError` result carrying the bare message (it turns every throw from a tool
 * handler into one; only URL-elicitation errors become JSON-RPC errors), so the client is told and
 * the session goes on, while the log has what a developer needs.
 *
 * Private to src/mcp.
 *
 * @module
 */
import { getLogger, withContext } from "@logtape/logtape";
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import type { McpServer, RegisteredTool } from "@modelcontextprotocol/sdk/server/mcp.js";
// @ts-types="@modelcontextprotocol/sdk/shared/protocol"
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import type {
  CallToolResult,
  ServerNotification,
  ServerRequest,
  ToolAnnotations,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { DomainError } from "../core/mod.ts";
import type { Moves, Runtime, SensorStreams } from "../robot/mod.ts";
import { outputShape, runTool, type Tool, type ToolContext, type ToolRobot } from "../tools/mod.ts";

const log = getLogger(["rvr", "mcp"]);

/** `_meta` key of every tool result: the correlation id its robot commands carried in the logs. */
export const CORRELATION_META_KEY = "rvr-mcp/correlation_id";
/** `_meta` key of error results: the error class name. */
export const ERROR_META_KEY = "rvr-mcp/error";

/** What the MCP server drives: one robot runtime, its sensor streams and its moves. */
export interface ServerDeps {
  readonly runtime: Runtime;
  readonly streams: SensorStreams;
  readonly moves: Moves;
  /** The program's version, reported as serverInfo.version. */
  readonly version: string;
}

/** What every registered tool runs against (`R`: a robot runtime, or a fleet gateway). */
export interface ToolEnv<R = ToolRobot> {
  /** The robot the catalog's handlers drive. */
  readonly robot: R;
  /** Where a handler's notes (ctx.notify: setting changes) go: the event log of rvr://events. */
  notify(name: string, detail: string, data: Record<string, unknown>): void;
}

export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

let calls = 0;

/** A short, unique correlation id: "<tool>-<counter>-<random>". */
export function newCorrelationId(tool: string): string {
  calls = (calls + 1) % 0x1_0000_0000;
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  return `${tool}-${calls.toString(36)}-${random}`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The result text for an error the caller can act on (a `DomainError`: its hint; the call's own
 * cancellation: "cancelled: ..."), or undefined when the error is a bug.
 */
export function describeToolError(error: unknown): string | undefined {
  if (error instanceof DomainError) return error.hint;
  if (error instanceof DOMException && error.name === "AbortError") {
    return `cancelled: ${error.message}`;
  }
  return undefined;
}

/** The `isError` result for a domain error, or undefined for a bug. */
export function toolErrorResult(error: unknown, correlationId: string): CallToolResult | undefined {
  const text = describeToolError(error);
  if (text === undefined) return undefined;
  return {
    content: [{ type: "text", text }],
    isError: true,
    _meta: {
      [CORRELATION_META_KEY]: correlationId,
      [ERROR_META_KEY]: error instanceof Error ? error.name : typeof error,
    },
  };
}

/** The handler's context for one request: its id, signal, progress (if asked for) and notes. */
function makeContext<R>(
  tool: string,
  correlationId: string,
  extra: Extra,
  env: ToolEnv<R>,
): ToolContext {
  const token = extra._meta?.progressToken;
  let last = -Infinity;
  const progress = (progress: number, total?: number, message?: string) => {
    // The spec requires increasing progress: a value not above the last one sent is skipped.
    if (token === undefined || extra.signal.aborted || !(progress > last)) return;
    last = progress;
    const params: {
      progressToken: string | number;
      progress: number;
      total?: number;
      message?: string;
    } = { progressToken: token, progress };
    if (total !== undefined) params.total = total;
    if (message !== undefined) params.message = message;
    extra.sendNotification({ method: "notifications/progress", params }).catch((error) => {
      log.warn("{tool}: progress notification not sent: {error}", {
        tool,
        error: describe(error),
      });
    });
  };
  return {
    correlationId,
    signal: extra.signal,
    ...(token === undefined ? {} : { progress }),
    notify: (name, detail, data) => env.notify(name, detail, data),
  };
}

/** Registers the catalog tool `t` on `server`, run against `env`; see the module doc. */
export function registerTool<I extends z.ZodRawShape, O extends z.ZodRawShape, R = ToolRobot>(
  server: McpServer,
  t: Tool<I, O, R>,
  env: ToolEnv<R>,
): RegisteredTool {
  const annotations: ToolAnnotations = {
    title: t.title,
    readOnlyHint: t.hints.readOnlyHint,
    destructiveHint: t.hints.destructiveHint,
    idempotentHint: t.hints.idempotentHint,
    openWorldHint: false,
  };
  return server.registerTool(t.name, {
    title: t.title,
    description: t.description,
    inputSchema: z.strictObject(t.input),
    outputSchema: z.object(outputShape(t)),
    annotations,
  }, (args: unknown, extra: Extra) => call(t, args as z.output<z.ZodObject<I>>, extra, env));
}

async function call<I extends z.ZodRawShape, O extends z.ZodRawShape, R>(
  t: Tool<I, O, R>,
  args: z.output<z.ZodObject<I>>,
  extra: Extra,
  env: ToolEnv<R>,
): Promise<CallToolResult> {
  const correlationId = newCorrelationId(t.name);
  const ctx = makeContext(t.name, correlationId, extra, env);
  return await withContext({ correlationId, tool: t.name }, async () => {
    const started = performance.now();
    try {
      const structured = await runTool(t, env.robot, args, ctx);
      log.debug("{tool} done in {ms} ms", {
        tool: t.name,
        ms: Math.round((performance.now() - started) * 10) / 10,
      });
      return {
        content: [{ type: "text", text: JSON.stringify(structured) }],
        structuredContent: structured,
        _meta: { [CORRELATION_META_KEY]: correlationId },
      };
    } catch (error) {
      const result = toolErrorResult(error, correlationId);
      if (result !== undefined) {
        log.info("{tool} refused: {error}", { tool: t.name, error: describe(error) });
        return result;
      }
      log.error("{tool} failed with an unexpected error (a bug): {error}", {
        tool: t.name,
        error: describe(error),
        stack: error instanceof Error ? error.stack : undefined,
      });
      throw error;
    }
  });
}
