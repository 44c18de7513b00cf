/**
 * Configuration: one zod schema over environment variables and command-line flags (flags win).
 * A bad value is reported as one line naming the variable, the value and what is allowed.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { ConfigError } from "./core/errors.ts";
import { BAUD_RATES } from "./link/mod.ts";
import { DEFAULT_FLEET, ID_PATTERN, ID_SHAPE } from "./fleet/subjects.ts";
import { APPROVAL_ALLOWED, DEFAULT_APPROVAL, parseApprovalPolicy } from "./robot/mod.ts";

export { BAUD_RATES };
export const LOG_LEVELS = ["trace", "debug", "info", "warning", "error", "fatal"] as const;
export const LOG_FORMATS = ["json", "pretty"] as const;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const num = (min: number, max: number) => z.coerce.number().min(min).max(max);
const TRUE_WORDS = ["true", "1", "yes", "on"] as const;
const FALSE_WORDS = ["false", "0", "no", "off"] as const;
const bool = z.enum([...TRUE_WORDS, ...FALSE_WORDS]).transform((v) =>
  (TRUE_WORDS as readonly string[]).includes(v)
);
const BOOL_ALLOWED = "true/false (also 1/0, yes/no, on/off)";
/** One broker address: nats://host:port (or tls://, ws://, wss://), or host:port. */
const BROKER_URL = /^((nats|tls|ws|wss):\/\/)?[^\s,/]+(:\d{1,5})?\/?$/;
export const FLEET_FORMATS = ["protobuf", "json"] as const;
/** One setting: its env var, its flag, its schema (with default) and a line of help. */
interface Option {
  readonly env: string;
  readonly flag: string;
  readonly schema: z.ZodType;
  readonly help: string;
  readonly allowed: string;
  /** Never echo the value (API keys). */
  readonly secret?: boolean;
}

function option<S extends z.ZodType>(
  env: string,
  schema: S,
  help: string,
  allowed: string,
  secret = false,
): Option & { readonly schema: S } {
  return {
    secret,
    env,
    flag: env.replace(/^RVR_/, "").toLowerCase().replaceAll("_", "-"),
    schema,
    help,
    allowed,
  };
}

/** Every setting, in --help order. Keys are the camelCase names in `Config`. */
export const OPTIONS = {
  serialPort: option(
    "RVR_SERIAL_PORT",
    z.string().min(1).default("auto"),
    'tty of the RVR UART, "sim" for the built-in simulated robot, or "auto" (the GPIO UART of a Raspberry Pi: /dev/ttyAMA0 on a Pi 5, else /dev/serial0; off a Pi without /dev/serial0, the simulator)',
    'a path such as /dev/serial0, "sim" or "auto"',
  ),
  baudRate: option(
    "RVR_BAUD_RATE",
    z.coerce.number().int().refine((v) => (BAUD_RATES as readonly number[]).includes(v))
      .default(115200),
    "UART speed; the RVR uses 115200",
    BAUD_RATES.join(", "),
  ),
  logLevel: option(
    "RVR_LOG_LEVEL",
    z.enum(LOG_LEVELS).default("info"),
    "lowest level written to stderr",
    LOG_LEVELS.join(", "),
  ),
  logFormat: option(
    "RVR_LOG_FORMAT",
    z.enum(LOG_FORMATS).default("json"),
    "json: one JSON object per line; pretty: readable text",
    LOG_FORMATS.join(", "),
  ),
  requestTimeoutMs: option(
    "RVR_REQUEST_TIMEOUT_MS",
    int(10, 60_000).default(1000),
    "how long one robot request may wait for its reply",
    "an integer 10-60000 (ms)",
  ),
  wakeTimeout: option(
    "RVR_WAKE_TIMEOUT",
    num(0.1, 120).default(5),
    "seconds one connect keeps trying to wake the robot and hear both processors answer",
    "a number 0.1-120 (seconds)",
  ),
  autoConnect: option(
    "RVR_AUTO_CONNECT",
    bool.default(true),
    "connect at start-up and keep retrying in the background until the robot answers",
    BOOL_ALLOWED,
  ),
  heartbeatMs: option(
    "RVR_HEARTBEAT_MS",
    int(0, 60_000).default(1000),
    "echo the robot this often to notice when it goes silent (0 disables)",
    "an integer 0-60000 (ms)",
  ),
  maxSpeedPercent: option(
    "RVR_MAX_SPEED_PERCENT",
    num(0, 100).default(50),
    "speed limit applied to every movement command, in percent of the robot's top speed",
    "a number 0-100",
  ),
  commandTimeout: option(
    "RVR_COMMAND_TIMEOUT",
    num(0, 3600).default(5),
    "auto-stop: seconds after the last movement command the robot gets drive_stop (0 disables)",
    "a number 0-3600 (seconds)",
  ),
  approval: option(
    "RVR_APPROVAL",
    z.string().default(DEFAULT_APPROVAL).transform((text, ctx) => {
      try {
        return parseApprovalPolicy(text);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        ctx.addIssue({ code: "custom", message: error.message, params: { explains: true } });
        return z.NEVER;
      }
    }),
    "what the model may do only with a person's accept, asked through the MCP client " +
      "(clear_person_estop: clearing an e-stop a person pressed, always on unless none)",
    APPROVAL_ALLOWED,
  ),
  commandQueueSize: option(
    "RVR_COMMAND_QUEUE_SIZE",
    int(1, 100_000).default(100),
    "robot commands that may wait; a full queue refuses at once",
    "an integer 1-100000",
  ),
  circuitBreakerFailureThreshold: option(
    "RVR_CIRCUIT_BREAKER_FAILURE_THRESHOLD",
    int(1, 1000).default(5),
    "consecutive timeouts or link errors that open the circuit (commands then fail at once)",
    "an integer 1-1000",
  ),
  circuitBreakerTimeout: option(
    "RVR_CIRCUIT_BREAKER_TIMEOUT",
    num(0.1, 3600).default(30),
    "seconds the circuit stays open before one echo probe decides (doubles on repeated opens)",
    "a number 0.1-3600 (seconds)",
  ),
  mcpStdio: option(
    "RVR_MCP_STDIO",
    bool.default(true),
    "serve MCP on stdin/stdout; stdin or stdout closing then means the client left (stop the robot, exit). Turn off for an HTTP-only service",
    BOOL_ALLOWED,
  ),
  mcpHttpPort: option(
    "RVR_MCP_HTTP_PORT",
    int(0, 65535).optional(),
    "also serve MCP over Streamable HTTP on this port at /mcp (loopback only unless RVR_API_KEY is set); --http alone uses 3000",
    "an integer 0-65535",
  ),
  mcpSessionIdleTimeout: option(
    "RVR_MCP_SESSION_IDLE_TIMEOUT",
    num(1, 86_400).default(600),
    "seconds a 2025-era MCP HTTP session may go without a request in flight before it ends (a client gone without DELETE)",
    "a number 1-86400 (seconds)",
  ),
  mcpMaxSessions: option(
    "RVR_MCP_MAX_SESSIONS",
    int(1, 10_000).default(32),
    "most 2025-era MCP HTTP sessions open at once; one more initialize gets 503",
    "an integer 1-10000",
  ),
  httpPort: option(
    "RVR_HTTP_PORT",
    int(0, 65535).optional(),
    "side port for /metrics, /healthz, /readyz, telemetry and the dashboard (off when unset)",
    "an integer 0-65535",
  ),
  httpHost: option(
    "RVR_HTTP_HOST",
    z.string().min(1).default("127.0.0.1"),
    "address the side port binds to; any other than loopback needs RVR_API_KEY",
    "a host name or IP address",
  ),
  apiKey: option(
    "RVR_API_KEY",
    z.string().min(16).optional(),
    "bearer token every HTTP request must carry (Authorization: Bearer <key>)",
    "a string of at least 16 characters",
    true,
  ),
  maxBodyBytes: option(
    "RVR_MAX_BODY_BYTES",
    int(1024, 1024 ** 3).default(1024 * 1024),
    "largest HTTP request body (side port and MCP) and MCP stdio line; one past it is refused (413, or a JSON-RPC error on stdio) before it is read whole",
    "an integer 1024-1073741824 (bytes)",
  ),
  aggregatorWindowMs: option(
    "RVR_AGGREGATOR_WINDOW_MS",
    int(10, 10_000).default(100),
    "telemetry aggregator window: robot events are delivered in batches this long",
    "an integer 10-10000 (ms)",
  ),
  aggregatorCapacity: option(
    "RVR_AGGREGATOR_CAPACITY",
    int(1, 10_000_000).default(10_000),
    "most events one aggregator window holds; more are dropped and counted",
    "an integer 1-10000000",
  ),
  telemetryFile: option(
    "RVR_TELEMETRY_FILE",
    z.string().min(1).optional(),
    "append every telemetry batch as a JSON line to this file, for replay and plots (off when unset)",
    "a file path",
  ),
  sensorInterval: option(
    "RVR_SENSOR_INTERVAL",
    int(33, 60_000).default(250),
    "default sensor streaming period",
    "an integer 33-60000 (ms; the robot cannot stream faster than every 33 ms)",
  ),
  sensorCacheTtl: option(
    "RVR_SENSOR_CACHE_TTL",
    int(0, 3_600_000).default(1000),
    "how long a sensor reading is served from the cache before it counts as stale",
    "an integer 0-3600000 (ms)",
  ),
  fleetUrl: option(
    "RVR_FLEET_URL",
    z.string().refine((v) => v.split(",").every((u) => BROKER_URL.test(u.trim()))).optional(),
    "join a fleet: the NATS broker(s), comma-separated (fleet: the broker the gateway uses)",
    "nats://host:port (or host:port), comma-separated, e.g. nats://teacher.local:4222",
  ),
  fleetToken: option(
    "RVR_FLEET_TOKEN",
    z.string().min(1).optional(),
    "token of a broker with token auth (never logged)",
    "a string",
    true,
  ),
  robotId: option(
    "RVR_ROBOT_ID",
    z.string().regex(ID_PATTERN).optional(),
    "this robot's id in the fleet (default: the host name made to fit)",
    `${ID_SHAPE}, e.g. rvr-07`,
  ),
  fleetName: option(
    "RVR_FLEET_NAME",
    z.string().regex(ID_PATTERN).default(DEFAULT_FLEET),
    "the fleet (classroom) this robot joins, or the gateway drives",
    `${ID_SHAPE}, e.g. room-12`,
  ),
  fleetFormat: option(
    "RVR_FLEET_FORMAT",
    z.enum(FLEET_FORMATS).default("protobuf"),
    "telemetry on rvr.<fleet>.<robot>.telemetry: rvr.v1.TelemetryBatch as protobuf, or as JSON",
    FLEET_FORMATS.join(", "),
  ),
} as const satisfies Record<string, Option>;

export type OptionKey = keyof typeof OPTIONS;
export type Config = { [K in OptionKey]: z.output<(typeof OPTIONS)[K]["schema"]> };

/** A bad setting; `exitCode` 2 by convention for usage errors. */
export { ConfigError };

export interface ParsedCommandLine {
  /** First positional argument: "serve" (default) or "sim". */
  command: string;
  /** Flags not part of the shared settings (e.g. the simulator's own), as given. */
  extra: Record<string, string | boolean>;
  help: boolean;
  config: Config;
}

/**
 * Parses settings from `env` and `args` (flags win). `extraFlags` declares command-specific
 * flags (name -> "string" | "boolean") that are returned untouched in `extra`. The first `--` is
 * read past (Deno tasks pass it on: `deno task start -- --help`, `deno task sim -- --port X`).
 */
export function loadConfig(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  extraFlags: Readonly<Record<string, "string" | "boolean">> = {},
): ParsedCommandLine {
  const flagOptions: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const o of Object.values(OPTIONS)) flagOptions[o.flag] = { type: "string" };
  for (const [name, type] of Object.entries(extraFlags)) flagOptions[name] = { type };
  const parse = (words: string[]) =>
    parseArgs({
      args: words,
      options: flagOptions,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  let parsed;
  try {
    parsed = parse([...args]);
    // `deno task start -- --help` passes the `--` on: it ends the task's own arguments, not ours,
    // so the words after it are read as flags like any others.
    const end = parsed.tokens.find((t) => t.kind === "option-terminator");
    if (end) parsed = parse(args.toSpliced(end.index, 1));
  } catch (e) {
    // node:util explains at length, over several lines; its first sentence names the bad flag.
    const message = (e as Error).message;
    const first = message.split("\n")[0].split(". ")[0].replace(/\.$/, "");
    const hint = message.includes("ambiguous")
      ? " (a value starting with '-' goes after '=', e.g. --flag=-1)"
      : "";
    throw new ConfigError(`${first}${hint}; run with --help to list every option.`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const config: Record<string, unknown> = {};
  for (const [key, o] of Object.entries(OPTIONS)) {
    const fromFlag = values[o.flag];
    const raw = fromFlag ?? env[o.env];
    const source = fromFlag !== undefined ? `--${o.flag}` : o.env;
    const result = o.schema.safeParse(raw === "" ? undefined : raw);
    if (!result.success) {
      const shown = o.secret
        ? `<${String(raw).length} characters, not shown>`
        : JSON.stringify(raw);
      // A schema's own explanation (which item of a list is wrong, and what is allowed) wins.
      const custom = result.error.issues.find((i) =>
        i.code === "custom" && i.params?.explains === true
      )?.message;
      if (custom !== undefined) throw new ConfigError(`Invalid ${source}=${shown}: ${custom}`);
      throw new ConfigError(`Invalid ${source}=${shown}: allowed is ${o.allowed}.`);
    }
    config[key] = result.data;
  }
  const extra: Record<string, string | boolean> = {};
  for (const name of Object.keys(extraFlags)) {
    const v = values[name];
    if (v !== undefined) extra[name] = v;
  }
  const [command = "serve", ...rest] = parsed.positionals;
  if (rest.length > 0) {
    throw new ConfigError(
      `Unexpected argument ${JSON.stringify(rest[0])}; run with --help for the usage.`,
    );
  }
  return { command, extra, help: values.help === true, config: config as Config };
}

/** The --help text: commands, then every setting with its env var, flag, default and range. */
export function helpText(extraHelp: readonly [string, string][] = []): string {
  const lines = [
    "rvr-mcp - an MCP server that drives a Sphero RVR (or its built-in simulator).",
    "",
    "Usage:",
    "  rvr-mcp [serve] [options]   serve MCP over stdio (logs go to stderr)",
    "  rvr-mcp sim --port PATH     run the simulated RVR on a tty (e.g. one end of a socat pty pair)",
    "  rvr-mcp fleet               the fleet gateway: MCP for every robot of RVR_FLEET_URL's fleet",
    "  rvr-mcp fleet-sim --robots N  N simulated robots (sim-01 ...) joined to RVR_FLEET_URL's fleet",
    "",
    "Settings (flag or environment variable; a flag wins):",
  ];
  for (const o of Object.values(OPTIONS)) {
    const def = o.schema.safeParse(undefined);
    const d = def.success && def.data !== undefined ? ` (default ${String(def.data)})` : "";
    lines.push(`  --${o.flag}, ${o.env}${d}`, `      ${o.help}; ${o.allowed}`);
  }
  if (extraHelp.length > 0) {
    lines.push("", "Command options (sim: the simulated robot; serve: --http):");
    for (const [flag, text] of extraHelp) lines.push(`  --${flag}`, `      ${text}`);
  }
  return lines.join("\n") + "\n";
}
