/**
 * What a tool of the catalog is: a plain object with a name, a title, a description, zod input and
 * output shapes carrying every bound, annotations, and a handler `(robot, args, ctx)` that drives
 * the robot and returns the structured result. Nothing here knows a transport: the MCP adapter
 * (src/mcp/_tool.ts) registers these objects with its SDK, a NATS service can serve the same ones.
 *
 * {@link runTool} is the one way to run a handler: it adds `simulated_robot: true` to the result
 * while the robot is the built-in simulator. {@link callTool} first checks raw arguments
 * (`parseArguments`, _arguments.ts): a refused argument set never reaches the robot. Errors a caller can act on are `DomainError`s (their
 * `hint` is what the caller is shown); anything else a handler throws is a bug.
 *
 * Private to src/tools (other layers import it through mod.ts).
 *
 * @module
 */
import { z } from "zod";
import { type CommandOptions, Runtime } from "../robot/mod.ts";
import { parseArguments } from "./_arguments.ts";
import type { ApprovalDecision } from "../robot/mod.ts";
import type { ApprovalRequest } from "./_approval.ts";

/** The robot a handler drives: the runtime (rvr, connection, safety, state, streams, moves). */
export type ToolRobot = Runtime;

/** What a handler gets besides the robot and its arguments. Nothing transport-specific. */
export interface ToolContext {
  /** Unique per call; carried in the logs of every robot command the call sends. */
  readonly correlationId: string;
  /** Aborted when the caller cancels the call. */
  readonly signal: AbortSignal;
  /**
   * Reports progress of a call that takes time (`progress` grows, up to `total`); undefined when
   * the caller did not ask for progress.
   */
  readonly progress?: (progress: number, total?: number, message?: string) => void;
  /**
   * Notes something this call changed for whoever keeps the record (a setting: its name, one
   * sentence, its values); the MCP adapter puts it in rvr://events.
   */
  notify(name: string, detail: string, data: Record<string, unknown>): void;
  /**
   * Asks the person at the client to approve `request` (what RVR_APPROVAL gates: the model
   * clearing a person's e-stop, ...): "accept", "decline", or "cancel" (dismissed). Undefined when
   * the caller cannot ask a person: gated actions are then refused with the way out (_approval.ts).
   * Rejects when the call is cancelled or the question could not be put.
   */
  readonly approve?: (request: ApprovalRequest) => Promise<ApprovalDecision>;
  /**
   * The caller's session, when its transport has one (MCP over HTTP): what the caller started
   * (the robots a fleet gateway drove for it) ends with it.
   */
  readonly session?: string;
}

/** The annotations every tool declares (openWorldHint is always false: one robot, nothing else). */
export interface ToolHints {
  readonly readOnlyHint: boolean;
  readonly destructiveHint: boolean;
  readonly idempotentHint: boolean;
}

/**
 * One robot operation, defined once. `R` is what the handler drives: one robot's runtime for the
 * catalog; a fleet gateway's tools (src/fleet) drive the gateway with the same shape.
 */
export interface Tool<
  I extends z.ZodRawShape = z.ZodRawShape,
  O extends z.ZodRawShape = z.ZodRawShape,
  R = ToolRobot,
> {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  /**
   * Argument shape. Adapters declare `inputSchema(tool)`, which refuses unknown keys (a misspelt
   * optional argument must not vanish), and check raw arguments with `parseArguments`.
   */
  readonly input: I;
  /** Result shape, without the simulated_robot mark ({@link outputShape} adds it). */
  readonly output: O;
  readonly hints: ToolHints;
  /** Runs the operation on checked arguments. Throws DomainError for what a caller can act on. */
  handler(
    robot: R,
    args: z.output<z.ZodObject<I>>,
    ctx: ToolContext,
  ): Promise<z.input<z.ZodObject<O>>>;
}

/** Defines a tool, inferring its argument and result types from its shapes. */
export function tool<I extends z.ZodRawShape, O extends z.ZodRawShape, R = ToolRobot>(
  spec: Tool<I, O, R>,
): Tool<I, O, R> {
  return spec;
}

/**
 * Options for `rvr.command` in a call: its correlation id and cancellation, and a reply requested
 * even for commands without reply fields, so the robot's refusal (ERR) reaches the caller.
 */
export function commandOptions(ctx: ToolContext): CommandOptions & {
  correlationId: string;
  signal: AbortSignal;
  requestsResponse: true;
} {
  return { correlationId: ctx.correlationId, signal: ctx.signal, requestsResponse: true };
}

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

/** True while the robot of `robot` is the built-in simulator (or is configured to be). */
export function robotIsSimulated(robot: ToolRobot): boolean {
  return robot.connection.info?.simulated ?? robot.connection.spec.path === "sim";
}

/** The tool's output shape as adapters declare it: with the simulated_robot mark. */
export function outputShape<O extends z.ZodRawShape, R>(
  t: Tool<z.ZodRawShape, O, R>,
): O & { [SIMULATED_KEY]: typeof simulatedSchema } {
  return { ...t.output, [SIMULATED_KEY]: simulatedSchema };
}

/**
 * Runs `t` on `robot`; the result carries `simulated_robot: true` while the robot (a runtime) is
 * simulated. A tool driving something else (a fleet gateway) passes on the marks its robots gave.
 */
export async function runTool<I extends z.ZodRawShape, O extends z.ZodRawShape, R = ToolRobot>(
  t: Tool<I, O, R>,
  robot: R,
  args: z.output<z.ZodObject<I>>,
  ctx: ToolContext,
): Promise<Record<string, unknown>> {
  const result = await t.handler(robot, args, ctx) as Record<string, unknown>;
  return robot instanceof Runtime && robotIsSimulated(robot)
    ? { ...result, [SIMULATED_KEY]: true }
    : result;
}

/**
 * Checks `raw` (the arguments as parsed from the request's JSON) against `t`'s schema, then runs
 * it like {@link runTool}. Refused arguments reject with `InvalidArgumentsError` (a DomainError
 * whose hint names the field, the value and what is allowed) before anything reaches the robot.
 */
export async function callTool<I extends z.ZodRawShape, O extends z.ZodRawShape, R = ToolRobot>(
  t: Tool<I, O, R>,
  robot: R,
  raw: unknown,
  ctx: ToolContext,
): Promise<Record<string, unknown>> {
  return await runTool(t, robot, parseArguments(t, raw), ctx);
}
