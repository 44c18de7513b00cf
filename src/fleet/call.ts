/**
 * A tool call over NATS, the member's side: the JSON of `rvr.<fleet>.<robot>.call` and how one is
 * run. The request is `{tool, arguments}`; the reply has MCP's result shape, `{content,
 * structuredContent, isError}`, so a client treats it like a local `tools/call` result.
 *
 * A call runs through the same catalog, checks and robot as a local MCP call ({@link runCall}):
 * the catalog's `callTool` checks the arguments as they were received (`parseArguments`: an
 * unknown key, a replaced prototype or a value out of bounds is refused in one line, answered as
 * MCP answers it, "Input validation error: ..."), then the handler drives the runtime through its
 * queue, breaker and safety. A `DomainError` (robot refused, e-stop latched, ...) becomes `isError: true` with its
 * hint, exactly as MCP shows it; anything else is a bug: logged with its stack, and answered as
 * `isError: true` with the message so the caller is never left waiting.
 *
 * @module
 */
import { getLogger, withContext } from "@logtape/logtape";
import { DomainError, errorMessage } from "../core/mod.ts";
import {
  callTool,
  CATALOG,
  InvalidArgumentsError,
  type Tool,
  type ToolContext,
  type ToolRobot,
} from "../tools/mod.ts";

const log = getLogger(["rvr", "fleet", "call"]);

/** What a caller sends on `rvr.<fleet>.<robot>.call`. */
export interface CallRequest {
  readonly tool: string;
  readonly arguments?: Record<string, unknown>;
}

/** What the member answers: MCP's CallToolResult shape, plus the error's class name. */
export interface CallResponse {
  content: { type: "text"; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  /** On errors: the error class (e.g. "EmergencyStopActiveError", "InvalidArgumentsError"). */
  error?: string;
}

const TOOLS: ReadonlyMap<string, Tool> = new Map(CATALOG.map((t) => [t.name, t]));

let calls = 0;

function errorResponse(text: string, error: string): CallResponse {
  return { content: [{ type: "text", text }], isError: true, error };
}

/** The request in `payload`, or a refusal saying what is wrong with it. */
export function parseCallRequest(payload: string): CallRequest | CallResponse {
  let body: unknown;
  try {
    body = JSON.parse(payload);
  } catch (e) {
    return errorResponse(
      `The call is not JSON (${
        (e as Error).message
      }): send {"tool": "<name>", "arguments": {...}}.`,
      "InvalidRequest",
    );
  }
  const b = body as { tool?: unknown; arguments?: unknown };
  if (body === null || typeof body !== "object" || typeof b.tool !== "string") {
    return errorResponse(
      `The call ${
        payload.slice(0, 80)
      } has no "tool" name: send {"tool": "<name>", "arguments": {...}}.`,
      "InvalidRequest",
    );
  }
  if (b.arguments !== undefined && (b.arguments === null || typeof b.arguments !== "object")) {
    return errorResponse(
      `"arguments" of ${b.tool} must be an object, got ${JSON.stringify(b.arguments)}.`,
      "InvalidRequest",
    );
  }
  return { tool: b.tool, arguments: (b.arguments ?? {}) as Record<string, unknown> };
}

/** Options of one call. */
export interface RunCallOptions {
  /** Aborted when the call is given up (the member stops). */
  readonly signal: AbortSignal;
  /** Where a tool's setting notes go. */
  readonly notify?: ToolContext["notify"];
}

/** Runs one call on `robot`; never rejects (see the module doc). */
export async function runCall(
  robot: ToolRobot,
  request: CallRequest,
  options: RunCallOptions,
): Promise<CallResponse> {
  const t = TOOLS.get(request.tool);
  if (t === undefined) {
    return errorResponse(
      `Unknown tool ${JSON.stringify(request.tool)}: use one of ${[...TOOLS.keys()].join(", ")}.`,
      "UnknownTool",
    );
  }
  calls = (calls + 1) % 0x1_0000_0000;
  const correlationId = `${t.name}-nats-${calls.toString(36)}`;
  const ctx: ToolContext = {
    correlationId,
    signal: options.signal,
    notify: options.notify ?? (() => {}),
  };
  return await withContext({ correlationId, tool: t.name, via: "fleet" }, async () => {
    try {
      const structured = await callTool(t, robot, request.arguments, ctx);
      return {
        content: [{ type: "text", text: JSON.stringify(structured) }],
        structuredContent: structured,
      };
    } catch (error) {
      if (error instanceof InvalidArgumentsError) {
        log.info("{tool} refused its arguments: {error}", { tool: t.name, error: error.message });
        return errorResponse(`Input validation error: ${error.hint}`, error.name);
      }
      if (error instanceof DomainError) {
        log.info("{tool} refused: {error}", { tool: t.name, error: error.message });
        return errorResponse(error.hint, error.name);
      }
      const message = errorMessage(error);
      log.error("{tool} failed with an unexpected error (a bug): {error}", {
        tool: t.name,
        error: message,
        stack: error instanceof Error ? error.stack : undefined,
      });
      return errorResponse(
        `${t.name} failed: ${message}`,
        error instanceof Error ? error.name : "Error",
      );
    }
  });
}
