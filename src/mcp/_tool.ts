/**
 * How one MCP tool is defined: a strict zod input shape carrying every bound, an output shape
 * the result is checked against, annotations, and a handler that returns the structured result.
 * {@link defineTool} runs the handler with a correlation id (as logtape context and in the
 * options handed to `rvr.command`), sends progress notifications when the client asked for them,
 * and turns the errors a user can act on into `isError: true` results whose text names the cause
 * and the way out ({@link describeToolError}). Anything else is a bug: it is logged and rethrown
 * (the SDK then answers with its message as an error result).
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
import {
  CancelledByEmergencyStopError,
  CircuitOpenError,
  EmergencyStopActiveError,
  QueueClosedError,
  QueueDrainedError,
  QueueFullError,
  TimeoutError,
} from "../core/mod.ts";
import {
  LinkClosedError,
  ResponseTimeoutError,
  RobotError,
  SerialPortError,
  UndecodableReplyError,
} from "../link/mod.ts";
import {
  BatteryCriticalError,
  MotionStoppedError,
  NotConnectedError,
  RobotNotRespondingError,
} from "../robot/mod.ts";
import {
  MoveCancelledError,
  MoveFailedError,
  type Moves,
  MoveSupersededError,
  MoveTimeoutError,
} from "../robot/moves/mod.ts";
import type { Runtime } from "../robot/runtime.ts";
import { type SensorStreams, StreamConfigurationError } from "../robot/sensors.ts";

const log = getLogger(["rvr", "mcp"]);

/** `_meta` key of every tool result: the correlation id its robot commands carried in the logs. */
export const CORRELATION_META_KEY = "rvr-mcp/correlation_id";
/** `_meta` key of error results: the error class name. */
export const ERROR_META_KEY = "rvr-mcp/error";

/**
 * Key every tool result's structured output carries, `true`, while the built-in simulated RVR is
 * the robot (RVR_SERIAL_PORT=sim, or `auto` on a machine without a UART): a model must be able to
 * tell the person that nothing real moved. Absent with a real robot.
 */
export const SIMULATED_KEY = "simulated_robot";
const simulatedSchema = z.literal(true).optional().describe(
  "Present (true) when the built-in simulated RVR answered, not a real robot: tell the person " +
    "that no real robot moved.",
);

/** Per server: whether the robot it drives is the built-in simulator now. */
const simulatedRobot = new WeakMap<McpServer, () => boolean>();

/** Tells every tool of `server` how to know that its robot is simulated (see SIMULATED_KEY). */
export function reportSimulation(server: McpServer, isSimulated: () => boolean): void {
  simulatedRobot.set(server, isSimulated);
}

/** True while the robot of `runtime` is the built-in simulator (or is configured to be). */
export function robotIsSimulated(runtime: Runtime): boolean {
  return runtime.connection.info?.simulated ?? runtime.connection.spec.path === "sim";
}

/** What the MCP server drives: one robot runtime, its sensor streams and its moves. */
export interface ServerDeps {
  readonly runtime: Runtime;
  readonly streams: SensorStreams;
  readonly moves: Moves;
  /** The program's version, reported as serverInfo.version. */
  readonly version: string;
}

/** What the tool groups get: the deps, and where to record a setting change for rvr://events. */
export interface ToolEnv extends ServerDeps {
  /** Records a setting change (name, one sentence, values) in the event log (rvr://events). */
  noteSetting(name: string, detail: string, data: Record<string, unknown>): void;
}

export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What a tool handler gets besides its arguments. */
export interface ToolCall {
  /** Unique per call; in the logs of every robot command the call sends. */
  readonly correlationId: string;
  /** Aborted when the client cancels the call (notifications/cancelled). */
  readonly signal: AbortSignal;
  /**
   * Options for `rvr.command`: the correlation id, the cancellation signal, and a reply requested
   * even for commands without reply fields, so the robot's refusal (ERR) reaches the caller.
   */
  readonly command: {
    readonly correlationId: string;
    readonly signal: AbortSignal;
    readonly requestsResponse: true;
  };
  /** True when the client sent a progressToken. */
  readonly wantsProgress: boolean;
  /**
   * Sends notifications/progress when the client asked for it. `progress` must grow; a value not
   * above the last one sent is skipped (the spec requires increasing progress).
   */
  progress(progress: number, total?: number, message?: string): void;
}

/** The annotations every tool declares (openWorldHint is always false: one robot, nothing else). */
export interface ToolHints {
  readonly readOnlyHint: boolean;
  readonly destructiveHint: boolean;
  readonly idempotentHint: boolean;
}

export interface ToolSpec<I extends z.ZodRawShape, O extends z.ZodRawShape> {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  /** Argument shape; unknown keys are refused (a misspelt optional argument must not vanish). */
  readonly input: I;
  readonly output: O;
  readonly hints: ToolHints;
  run(args: z.output<z.ZodObject<I>>, call: ToolCall): Promise<z.input<z.ZodObject<O>>>;
}

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

function seconds(ms: number): string {
  return `${Math.max(1, Math.ceil(ms / 1000))} s`;
}

/**
 * The result text for an error a user can act on (cause first, then the way out), or undefined
 * when the error is a bug.
 */
export function describeToolError(error: unknown): string | undefined {
  if (error instanceof EmergencyStopActiveError) return error.message;
  if (error instanceof CancelledByEmergencyStopError) {
    return "cancelled by emergency stop: an emergency stop was triggered before this command " +
      "ran. Call clear_emergency_stop when it is safe, then send the command again.";
  }
  if (error instanceof BatteryCriticalError) return error.message;
  if (error instanceof CircuitOpenError) {
    return `the robot stopped answering; next probe in ${seconds(error.retryInMs)}. ` +
      `Retry after that (commands are refused until a probe succeeds); check the robot's power ` +
      `and cable meanwhile. (${error.message})`;
  }
  if (error instanceof NotConnectedError) {
    return `not connected: call connect. (${error.message})`;
  }
  if (error instanceof QueueFullError) {
    return `too many commands waiting: ${error.message}`;
  }
  if (error instanceof ResponseTimeoutError) {
    return `the robot did not answer ${error.command} in time: ${error.message}`;
  }
  if (error instanceof MoveTimeoutError) return error.message;
  if (error instanceof MoveFailedError) return error.message;
  if (error instanceof MoveCancelledError) return error.message;
  if (error instanceof MoveSupersededError) {
    return `${error.message} Only one move runs at a time; wait for a move to finish before ` +
      "sending the next.";
  }
  if (error instanceof StreamConfigurationError) return error.message;
  if (error instanceof TimeoutError) return `timed out: ${error.message}`;
  if (error instanceof RobotError) {
    return `the robot refused ${error.command} with ${error.codeName}: ${error.message}`;
  }
  if (error instanceof UndecodableReplyError) return error.message;
  if (error instanceof MotionStoppedError) return error.message;
  if (error instanceof LinkClosedError) {
    return `the link closed: ${error.message} Call connect to reconnect.`;
  }
  if (error instanceof QueueClosedError || error instanceof QueueDrainedError) {
    return error.message;
  }
  if (error instanceof RobotNotRespondingError) return error.message;
  if (error instanceof SerialPortError) return `serial port ${error.path}: ${error.message}`;
  if (error instanceof DOMException && error.name === "AbortError") {
    return `cancelled: ${error.message}`;
  }
  if (error instanceof RangeError || error instanceof TypeError) {
    return `invalid argument: ${error.message}`;
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

function makeCall(tool: string, correlationId: string, extra: Extra): ToolCall {
  const token = extra._meta?.progressToken;
  let last = -Infinity;
  return {
    correlationId,
    signal: extra.signal,
    command: { correlationId, signal: extra.signal, requestsResponse: true },
    wantsProgress: token !== undefined,
    progress(progress, total, message) {
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
    },
  };
}

/** Registers `spec` on `server`; see the module doc. */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(
  server: McpServer,
  spec: ToolSpec<I, O>,
): RegisteredTool {
  const annotations: ToolAnnotations = {
    title: spec.title,
    readOnlyHint: spec.hints.readOnlyHint,
    destructiveHint: spec.hints.destructiveHint,
    idempotentHint: spec.hints.idempotentHint,
    openWorldHint: false,
  };
  return server.registerTool(spec.name, {
    title: spec.title,
    description: spec.description,
    inputSchema: z.strictObject(spec.input),
    outputSchema: z.object({ ...spec.output, [SIMULATED_KEY]: simulatedSchema }),
    annotations,
  }, (args: unknown, extra: Extra) =>
    runTool(
      spec,
      args as z.output<z.ZodObject<I>>,
      extra,
      () => simulatedRobot.get(server)?.() ?? false,
    ));
}

async function runTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(
  spec: ToolSpec<I, O>,
  args: z.output<z.ZodObject<I>>,
  extra: Extra,
  simulated: () => boolean,
): Promise<CallToolResult> {
  const correlationId = newCorrelationId(spec.name);
  const call = makeCall(spec.name, correlationId, extra);
  return await withContext({ correlationId, tool: spec.name }, async () => {
    const started = performance.now();
    try {
      let structured = await spec.run(args, call) as Record<string, unknown>;
      if (simulated()) structured = { ...structured, [SIMULATED_KEY]: true };
      log.debug("{tool} done in {ms} ms", {
        tool: spec.name,
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
        log.info("{tool} refused: {error}", { tool: spec.name, error: describe(error) });
        return result;
      }
      log.error("{tool} failed with an unexpected error (a bug): {error}", {
        tool: spec.name,
        error: describe(error),
        stack: error instanceof Error ? error.stack : undefined,
      });
      throw error;
    }
  });
}
