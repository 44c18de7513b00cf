/**
 * The adapter from the tool catalog (src/tools) to the MCP SDK, and the only file that knows how
 * the SDK registers and calls a tool. {@link registerTool} declares a catalog tool (the catalog's
 * strict `inputSchema(tool)`; the output schema with the simulated_robot mark; the annotations),
 * checks the call's arguments with the catalog's `parseArguments` as the transport read them off
 * the wire (_wire_arguments.ts: the SDK's own copy has lost any `"__proto__"` key), a refusal
 * being an `isError` result "Input validation error: <one line>", and runs its handler with a
 * context made from the request: a correlation id (as logtape context and in every robot command
 * of the call), the request's AbortSignal (notifications/cancelled), progress notifications when
 * the client sent a progressToken, notes that go to the event log (rvr://events), and, when the
 * client can ask a person, `approve` (_approval.ts: the question what RVR_APPROVAL gates puts to
 * the person, by `elicitation/create` on the call's own stream in the 2025 era, by an
 * `input_required` result the client answers by calling again in the 2026 era). A client without
 * elicitation gets no `approve`: the catalog refuses those actions with the way out.
 *
 * Errors: a `DomainError` (or the call's own cancellation) becomes an `isError: true` result whose
 * text is its hint, the cause first and then the way out ({@link describeToolError}). Anything
 * else is a bug: it is logged with its stack at error level and rethrown. The SDK then answers
 * with an `isError` result carrying the bare message (it turns every throw from a tool handler
 * into one), so the client is told and the session goes on, while the log has what a developer
 * needs. The same handler serves both protocol eras: progress goes out request-related (on the
 * call's own stream in the 2026 era), and the signal aborts on notifications/cancelled (2025) or
 * when the client closes the call's stream (2026).
 *
 * Private to src/mcp.
 *
 * @module
 */
import { getLogger, withContext } from "@logtape/logtape";
import type {
  CallToolResult,
  InputRequiredResult,
  McpServer,
  RegisteredTool,
  ServerContext,
  ToolAnnotations,
} from "@modelcontextprotocol/server";
import { z } from "zod";
import { DomainError, errorMessage } from "../core/mod.ts";
import type { Moves, Runtime, SensorStreams } from "../robot/mod.ts";
import {
  inputSchema,
  InvalidArgumentsError,
  outputShape,
  parseArguments,
  runTool,
  type Tool,
  type ToolContext,
  type ToolRobot,
} from "../tools/mod.ts";
import { type Approver, approver } from "./_approval.ts";
import { listedOnce } from "./_listed_schema.ts";
import { takeWireArguments } from "./_wire_arguments.ts";

export { APPROVAL_FIELD, APPROVAL_TIMEOUT_MS, approvalKey } from "./_approval.ts";

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

/** What every registered tool runs against. */
export interface ToolEnv<R = ToolRobot> {
  /** The robot the catalog's handlers drive. */
  readonly robot: R;
  /** Where a handler's notes (ctx.notify: setting changes) go: the event log of rvr://events. */
  notify(name: string, detail: string, data: Record<string, unknown>): void;
}

/** The SDK's context of one request: its id, `_meta`, signal and notification channel. */
export type Extra = ServerContext;

let calls = 0;
/** Drawn once per process: ids of two runs of the program do not collide in one log. */
const RUN = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);

/** A short, unique correlation id: "<tool>-<counter>-<random of this run>". */
export function newCorrelationId(tool: string): string {
  calls = (calls + 1) % 0x1_0000_0000;
  return `${tool}-${calls.toString(36)}-${RUN}`;
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

/**
 * The handler's context for one request: its id, signal, progress (if asked for), notes and
 * approve (if the client can ask a person).
 */
function makeContext<R>(
  tool: string,
  correlationId: string,
  extra: Extra,
  env: ToolEnv<R>,
  asker: Approver,
): ToolContext {
  const token = extra.mcpReq._meta?.progressToken;
  const signal = extra.mcpReq.signal;
  let last = -Infinity;
  const progress = (progress: number, total?: number, message?: string) => {
    // The spec requires increasing progress: a value not above the last one sent is skipped.
    if (token === undefined || signal.aborted || !(progress > last)) return;
    last = progress;
    const params: {
      progressToken: string | number;
      progress: number;
      total?: number;
      message?: string;
    } = { progressToken: token, progress };
    if (total !== undefined) params.total = total;
    if (message !== undefined) params.message = message;
    extra.mcpReq.notify({ method: "notifications/progress", params }).catch((error) => {
      log.warn("{tool}: progress notification not sent: {error}", {
        tool,
        error: errorMessage(error),
      });
    });
  };
  return {
    correlationId,
    signal,
    ...(token === undefined ? {} : { progress }),
    ...(asker.approve === undefined ? {} : { approve: asker.approve }),
    ...(extra.sessionId === undefined ? {} : { session: extra.sessionId }),
    notify: (name, detail, data) => env.notify(name, detail, data),
  };
}

/**
 * Registers the catalog tool `t` on `server`, run against `env`; see the module doc. `meta` goes
 * into the tool's `_meta` in tools/list (an MCP App tool's `ui.resourceUri`, apps.ts).
 */
export function registerTool<I extends z.ZodRawShape, O extends z.ZodRawShape, R = ToolRobot>(
  server: McpServer,
  t: Tool<I, O, R>,
  env: ToolEnv<R>,
  meta?: Record<string, unknown>,
): RegisteredTool {
  const annotations: ToolAnnotations = {
    title: t.title,
    readOnlyHint: t.hints.readOnlyHint,
    destructiveHint: t.hints.destructiveHint,
    idempotentHint: t.hints.idempotentHint,
    openWorldHint: false,
  };
  const schemas = listedSchemas(t);
  return server.registerTool(t.name, {
    title: t.title,
    description: t.description,
    inputSchema: schemas.input,
    outputSchema: schemas.output,
    annotations,
    ...(meta === undefined ? {} : { _meta: meta }),
  }, (args: unknown, extra: Extra) => call(server, t, args, extra, env));
}

/** Each catalog tool's schemas as the SDK lists them, built once for every server instance. */
const listed = new WeakMap<object, { input: z.ZodType; output: z.ZodType }>();

/**
 * `t`'s schemas as registered on every server (_listed_schema.ts: converted to JSON Schema once,
 * not per session). The input schema is the catalog's strict one as tools/list shows it, but it
 * lets every value through the SDK's own check: the handler checks the arguments as they came off
 * the wire with the catalog's `parseArguments`, which the SDK's copy could not show it (a dropped
 * `"__proto__"`), and says what is wrong in one line. The output schema (with the simulated_robot
 * mark) is one zod object per tool, so its compiled validator is shared too.
 */
function listedSchemas<I extends z.ZodRawShape, O extends z.ZodRawShape, R>(
  t: Tool<I, O, R>,
): { input: z.ZodType; output: z.ZodType } {
  let schemas = listed.get(t);
  if (schemas === undefined) {
    schemas = {
      input: listedOnce(inputSchema(t), (value: unknown) => ({ value })),
      output: listedOnce(z.object(outputShape(t))),
    };
    listed.set(t, schemas);
  }
  return schemas;
}

/** The text of a refused argument set: the SDK's phrase, then the catalog's one line. */
function refusedArguments(error: InvalidArgumentsError, correlationId: string): CallToolResult {
  return {
    content: [{ type: "text", text: `Input validation error: ${error.hint}` }],
    isError: true,
    _meta: { [CORRELATION_META_KEY]: correlationId, [ERROR_META_KEY]: error.name },
  };
}

async function call<I extends z.ZodRawShape, O extends z.ZodRawShape, R>(
  server: McpServer,
  t: Tool<I, O, R>,
  sdkArgs: unknown,
  extra: Extra,
  env: ToolEnv<R>,
): Promise<CallToolResult | InputRequiredResult> {
  const correlationId = newCorrelationId(t.name);
  // The arguments as the transport read them (own "__proto__" keys intact); the SDK's copy only
  // on a transport that reads no text (in-memory).
  const wire = takeWireArguments(extra.mcpReq.id, t.name);
  let args: z.output<z.ZodObject<I>>;
  try {
    args = parseArguments(t, wire.found ? wire.arguments : sdkArgs);
  } catch (error) {
    if (!(error instanceof InvalidArgumentsError)) throw error;
    log.info("{tool} refused its arguments: {error}", { tool: t.name, error: error.message });
    return refusedArguments(error, correlationId);
  }
  const asker = approver(server, t.name, extra);
  const ctx = makeContext(t.name, correlationId, extra, env, asker);
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
      // 2026 era: approve has to ask the person first; the client calls again with the answer.
      const asking = asker.asking(error);
      if (asking !== undefined) return asking;
      const result = toolErrorResult(error, correlationId);
      if (result !== undefined) {
        log.info("{tool} refused: {error}", { tool: t.name, error: errorMessage(error) });
        return result;
      }
      log.error("{tool} failed with an unexpected error (a bug): {error}", {
        tool: t.name,
        error: errorMessage(error),
        stack: error instanceof Error ? error.stack : undefined,
      });
      throw error;
    }
  });
}
