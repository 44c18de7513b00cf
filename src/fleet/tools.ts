/**
 * The gateway's tools, defined like the catalog's (src/tools: name, schemas with bounds, hints, a
 * handler) but driving a {@link Gateway}, so src/mcp's one adapter serves them:
 *
 * - `list_robots`: every robot seen, online or offline, with battery, e-stop and circuit;
 * - every catalog tool under its own name and schema plus a required `robot` (and an optional
 *   `timeout_ms`), forwarded to that robot over NATS;
 * - `emergency_stop` with `robot` optional: without it, every robot (the fleet's broadcast);
 * - `call_robots`: one tool on many robots in parallel, results in the order asked.
 *
 * A FleetError (a DomainError) becomes the adapter's `isError` result with its hint.
 *
 * @module
 */
import { z } from "zod";
import { CATALOG, type Tool, tool } from "../tools/mod.ts";
import { FLEET_ERROR_CODES } from "./errors.ts";
import type { Gateway } from "./gateway.ts";
import { ID_SHAPE } from "./subjects.ts";

/** Who the gateway's MCP server is, and how to use its tools well. */
export const GATEWAY_INFO = {
  name: "rvr-mcp-fleet",
  title: "Sphero RVR classroom",
  instructions: `Drives every Sphero RVR of a classroom fleet.

Start with list_robots: each robot's id, whether it is online, its battery and whether its e-stop is latched. Every robot tool takes a required robot argument (the id) and works as it does for one robot: the same units, safety limits and errors. To run one tool on many robots at once use call_robots (robots: ids or ["all"]); each robot's result or error comes back in the order asked.

To stop everything: emergency_stop without a robot stops every robot at once and lists which confirmed; each robot then refuses movement until clear_emergency_stop on it.

Errors name a code: robot_unknown (see list_robots), robot_offline (switched off or its program stopped; it comes back by itself), timeout, circuit_open (paused after repeated timeouts), robot_error (the robot refused: its reason follows), broker_unreachable (the gateway has lost the NATS server). Results with simulated_robot: true came from a simulated robot; tell the person.`,
} as const;

/** A gateway tool: catalog-shaped, driving the gateway. */
export type GatewayTool = Tool<z.ZodRawShape, z.ZodRawShape, Gateway>;

const robotArg = z.string().min(1).max(32).describe(
  `The robot's id (${ID_SHAPE}), as list_robots shows it.`,
);
const timeoutArg = z.number().int().min(50).max(600_000).optional().describe(
  "How long to wait for the robot's answer, ms (default 10000; long moves need more).",
);
const DEFAULT_TIMEOUT_MS = 10_000;

const robotView = z.object({
  id: z.string(),
  status: z.enum(["online", "offline"]),
  simulated: z.boolean(),
  version: z.string(),
  battery_percent: z.number().nullable(),
  estop_latched: z.boolean(),
  last_seen: z.string().describe("ISO-8601."),
  circuit: z.enum(["closed", "open", "half_open"]),
});

export const listRobots = tool({
  name: "list_robots",
  title: "List the robots",
  description:
    "Every robot of the fleet the gateway has seen: online (answering) or offline (silent for " +
    "a few seconds; it comes back by itself), simulated or real, program version, battery, " +
    "whether its e-stop is latched, when it was last seen, and the gateway's circuit to it.",
  input: {},
  output: { fleet: z.string(), robots: z.array(robotView) },
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
  async handler(gateway: Gateway) {
    await gateway.discovered();
    return { fleet: gateway.fleet, robots: gateway.robots() };
  },
});

const stopLine = z.object({
  robot: z.string(),
  confirmed: z.boolean().describe("True when the robot replied that its e-stop latched."),
  latched_at: z.string().nullable().describe("ISO-8601 time its e-stop latched."),
  drive_stop_sent: z.boolean().nullable().describe("True when drive_stop reached its port."),
});

export const fleetEmergencyStop = tool({
  name: "emergency_stop",
  title: "Emergency stop (one robot or all)",
  description:
    "Stops at once and latches the e-stop: with `robot`, that robot; without it, EVERY robot " +
    "of the fleet (one broadcast), then lists each robot and whether it confirmed. Movement " +
    "stays refused until clear_emergency_stop on each robot.",
  input: { robot: robotArg.optional(), timeout_ms: timeoutArg },
  output: {
    robots: z.array(stopLine),
    unconfirmed: z.array(z.string()).describe("Robots online that did not confirm in time."),
  },
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler(gateway: Gateway, args) {
    await gateway.discovered();
    if (args.robot === undefined) {
      const r = await gateway.stopAll({ timeoutMs: args.timeout_ms ?? 1000 });
      return { robots: r.robots, unconfirmed: r.unconfirmed };
    }
    const r = await gateway.estop(args.robot, { timeoutMs: args.timeout_ms ?? DEFAULT_TIMEOUT_MS });
    return {
      robots: [{
        robot: args.robot,
        confirmed: true,
        latched_at: typeof r.latched_at === "string" ? r.latched_at : null,
        drive_stop_sent: typeof r.sent === "boolean" ? r.sent : null,
      }],
      unconfirmed: [],
    };
  },
});

export const callRobots = tool({
  name: "call_robots",
  title: "Run a tool on many robots",
  description:
    'Runs one tool with the same arguments on several robots in parallel (robots: ids, or ["all"] ' +
    "for every robot listed). Returns one result per robot in the order asked: ok and the " +
    "tool's result, or an error with its code (robot_offline, robot_unknown, timeout, " +
    "circuit_open, robot_error, broker_unreachable) and what to do. A robot that does not answer " +
    "in timeout_ms is reported as timed out; the others still return.",
  input: {
    tool: z.string().min(1).describe("A robot tool's name, e.g. get_battery_status."),
    arguments: z.record(z.string(), z.unknown()).default({}).describe("Its arguments."),
    robots: z.array(z.string().min(1).max(32)).min(1).max(1000).describe(
      'Robot ids, or ["all"].',
    ),
    max_parallel: z.number().int().min(1).max(64).default(8).describe(
      "Most calls in flight at once.",
    ),
    timeout_ms: timeoutArg,
  },
  output: {
    results: z.array(z.object({
      robot: z.string(),
      ok: z.boolean(),
      result: z.record(z.string(), z.unknown()).optional(),
      error: z.object({ code: z.enum(FLEET_ERROR_CODES), message: z.string() }).optional(),
      ms: z.number().describe("How long this robot's call took."),
    })),
  },
  hints: { readOnlyHint: false, destructiveHint: true, idempotentHint: false },
  async handler(gateway: Gateway, args, ctx) {
    const known = CATALOG.find((t) => t.name === args.tool);
    if (!known || args.tool === "emergency_stop") {
      throw new RangeError(
        `call_robots: unknown tool ${JSON.stringify(args.tool)}; use one of ` +
          `${CATALOG.map((t) => t.name).filter((n) => n !== "emergency_stop").join(", ")} ` +
          "(emergency_stop has its own tool: without robot it stops every robot).",
      );
    }
    await gateway.discovered();
    const results = await gateway.callRobots(args.tool, args.arguments, args.robots, {
      maxParallel: args.max_parallel,
      timeoutMs: args.timeout_ms ?? DEFAULT_TIMEOUT_MS,
      signal: ctx.signal,
      ...(ctx.session === undefined ? {} : { session: ctx.session }),
    });
    return { results };
  },
});

/** The catalog tool `t`, forwarded to the robot named in its `robot` argument. */
export function forwarded(t: Tool): GatewayTool {
  return tool({
    name: t.name,
    title: t.title,
    description: `${t.description} (On the robot named by \`robot\`.)`,
    input: { ...t.input, robot: robotArg, timeout_ms: timeoutArg },
    output: t.output,
    hints: t.hints,
    async handler(gateway: Gateway, args, ctx) {
      const { robot, timeout_ms, ...rest } = args as Record<string, unknown> & {
        robot: string;
        timeout_ms?: number;
      };
      await gateway.discovered();
      return await gateway.call(robot, t.name, rest, {
        timeoutMs: timeout_ms ?? DEFAULT_TIMEOUT_MS,
        signal: ctx.signal,
        ...(ctx.session === undefined ? {} : { session: ctx.session }),
      });
    },
  }) as GatewayTool;
}

/** Every tool the gateway serves, in the order it lists them. */
export function gatewayTools(): GatewayTool[] {
  return [
    listRobots as unknown as GatewayTool,
    fleetEmergencyStop as unknown as GatewayTool,
    callRobots as unknown as GatewayTool,
    ...CATALOG.filter((t) => t.name !== "emergency_stop").map(forwarded),
  ];
}
