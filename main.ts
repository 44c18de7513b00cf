/**
 * rvr-mcp - composition root: config -> logging -> port (tty or built-in simulator) -> link -> robot.
 *
 *   rvr-mcp [serve]          stdio server (the robot on RVR_SERIAL_PORT, or the simulator)
 *   rvr-mcp sim --port PATH  the simulated RVR on a tty, for any client (even Sphero's SDK)
 *   rvr-mcp fleet            the fleet gateway: MCP for every robot of a NATS fleet
 *   rvr-mcp fleet-sim --robots N   N simulated robots joined to a fleet
 *
 * stdout is reserved for MCP JSON-RPC: everything this program says goes to stderr.
 *
 * Whatever ends the program, the robot hears drive_stop first: the client going away (stdin at
 * its end, stdout closed, SIGHUP), SIGINT and SIGTERM exit 0 after it; an error nothing caught
 * (the last resort below) is logged and exits 1 after it.
 */
import { getLogger } from "@logtape/logtape";
import { type Config, ConfigError, helpText, loadConfig } from "./src/config.ts";
import { configureLogging } from "./src/logging.ts";
import {
  AUTO_CANDIDATES,
  autoPort,
  type BoardFacts,
  MemoryPort,
  MODEL_FILE,
  TtyPort,
} from "./src/link/mod.ts";
import {
  type OpenedPort,
  type PortOpener,
  robotInstruments,
  type RobotMetrics,
  robotMetrics,
  Runtime,
  type ShutdownReason,
} from "./src/robot/mod.ts";
import {
  Aggregator,
  type TelemetryInstruments,
  telemetryInstruments,
  TelemetryRecorder,
} from "./src/telemetry/mod.ts";
import {
  errorMessage,
  isAbandonedSocketReset,
  MetricsRegistry,
  TimeoutError,
  withInstruments,
  withTimeout,
} from "./src/core/mod.ts";
import { EventLoopLag, registerProcessMetrics } from "./src/core/process_metrics.ts";
import process from "node:process";
import { Socket } from "node:net";
import type { Readable } from "node:stream";
import {
  createServer,
  DEFAULT_MCP_HTTP_PORT,
  type Era,
  type McpHttpServer,
  type McpStdio,
  RobotEventLog,
  serveMcpHttp,
  serveMcpStdio,
  watchResources,
} from "./src/mcp/mod.ts";
import denoJson from "./deno.json" with { type: "json" };
import {
  dashboardHtml,
  fleetSideHandler,
  serveSidePort,
  type SidePort,
  type SidePortInstruments,
  sidePortInstruments,
} from "./src/http/mod.ts";
import {
  type FaultSettings,
  isLineBaud,
  MAX_LINE_BAUD,
  MIN_LINE_BAUD,
  SimulatedRvr,
} from "./src/sim/mod.ts";
import { createToolServer } from "./src/mcp/mod.ts";
import { bindHost, isLoopback } from "./src/http/auth.ts";
import { idFromHostname, parseServers } from "./src/fleet/subjects.ts";

/**
 * The fleet (NATS, protobuf) loads only when used: `serve` without RVR_FLEET_URL starts as fast
 * as before.
 */
const fleetModule = () => import("./src/fleet/mod.ts");

const log = getLogger(["rvr", "main"]);

/** The simulator's own flags (rvr-mcp sim, and the built-in simulator of `serve`). */
const SIM_FLAGS = {
  port: "string",
  name: "string",
  "silent-after": "string",
  "reply-delay-ms": "string",
  "corrupt-every": "string",
  "error-reply": "string",
  "wake-latency-ms": "string",
  "inactivity-timeout-ms": "string",
  "line-baud": "string",
  asleep: "boolean",
  http: "boolean",
  robots: "string",
} as const;

const SIM_HELP: [string, string][] = [
  ["port PATH", "tty the simulated robot listens on (required for `sim`)"],
  ["name NAME", "robot name (BLE name RV-NAME); default SIM1"],
  ["silent-after N", "fault: stop answering after N received packets"],
  ["reply-delay-ms MS", "fault: delay every reply"],
  ["corrupt-every N", "fault: corrupt every Nth packet sent (bad checksum)"],
  [
    "error-reply CMD=CODE[,...]",
    "fault: answer these commands with an error code, e.g. get_battery_percentage=7",
  ],
  ["wake-latency-ms MS", "fault: time from wake until the robot is ready"],
  ["inactivity-timeout-ms MS", "sleep after this long without activity (default 300000)"],
  ["asleep", "start asleep, like a robot idle before the host connects"],
  [
    "line-baud BAUD",
    "bytes cross the simulated line at a UART's pace both ways, e.g. 115200 (default: off, " +
    "memory speed)",
  ],
  [
    "http",
    "(serve, fleet) also serve MCP over Streamable HTTP at /mcp on RVR_MCP_HTTP_PORT or 3000",
  ],
  ["robots N", "(fleet-sim) how many simulated robots join the fleet: sim-01 ... sim-NN"],
];

function nonNegativeInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new ConfigError(
      `Invalid --${flag}=${JSON.stringify(value)}: allowed is an integer >= 0.`,
    );
  }
  return n;
}

/** Fault knobs and options from the simulator flags. */
export function simOptionsFromFlags(extra: Record<string, string | boolean>): {
  name: string;
  faults: Partial<FaultSettings>;
  asleep: boolean;
  inactivityTimeoutMs?: number;
  lineBaud?: number;
} {
  const faults: Partial<FaultSettings> = {};
  const number = (flag: string): number | undefined => {
    const v = extra[flag];
    return typeof v === "string" ? nonNegativeInt(flag, v) : undefined;
  };
  const silentAfter = number("silent-after");
  if (silentAfter !== undefined) faults.silentAfterPackets = silentAfter;
  const replyDelay = number("reply-delay-ms");
  if (replyDelay !== undefined) faults.replyDelayMs = replyDelay;
  const corruptEvery = number("corrupt-every");
  if (corruptEvery !== undefined) faults.corruptEvery = corruptEvery || null;
  const wakeLatency = number("wake-latency-ms");
  if (wakeLatency !== undefined) faults.wakeLatencyMs = wakeLatency;
  const errorReply = extra["error-reply"];
  if (typeof errorReply === "string") {
    const errorReplies: Record<string, number> = {};
    for (const pair of errorReply.split(",")) {
      const [cmd, code] = pair.split("=");
      if (!cmd || code === undefined) {
        throw new ConfigError(
          `Invalid --error-reply=${
            JSON.stringify(pair)
          }: write COMMAND=CODE, e.g. get_battery_percentage=7.`,
        );
      }
      errorReplies[cmd] = nonNegativeInt("error-reply", code);
    }
    faults.errorReplies = errorReplies;
  }
  const inactivityTimeoutMs = number("inactivity-timeout-ms");
  const name = typeof extra.name === "string" ? extra.name : "SIM1";
  const asleep = extra.asleep === true;
  const lineBaud = number("line-baud");
  if (lineBaud !== undefined && !isLineBaud(lineBaud)) {
    throw new ConfigError(
      `Invalid --line-baud=${lineBaud}: allowed is an integer ${MIN_LINE_BAUD}-${MAX_LINE_BAUD}, ` +
        "e.g. 115200 (a real RVR's UART).",
    );
  }
  return {
    name,
    faults,
    asleep,
    ...(inactivityTimeoutMs === undefined ? {} : { inactivityTimeoutMs }),
    ...(lineBaud === undefined ? {} : { lineBaud }),
  };
}

/** Reads the board model and which of {@link AUTO_CANDIDATES} exist, from this machine. */
export async function probeBoard(): Promise<BoardFacts> {
  let model: string | undefined;
  try {
    model = await Deno.readTextFile(MODEL_FILE);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const devices: string[] = [];
  for (const path of AUTO_CANDIDATES) {
    try {
      await Deno.stat(path);
      devices.push(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return { model, devices };
}

/**
 * Serial devices in /dev a robot could be wired to (serial aliases, PL011, USB and ACM ttys):
 * the diagnose_connection prompt completes its port from them.
 */
export async function listSerialPorts(): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir("/dev")) {
    if (/^(?:serial\d+|tty(?:AMA|USB|ACM)\d+)$/.test(entry.name)) found.push(`/dev/${entry.name}`);
  }
  return found.sort();
}

/**
 * The port opener of `serve`: a tty, or the built-in simulator. The simulated robot is created
 * once and kept alive, so a reconnect finds it where it was (like a real robot).
 */
function portOpener(
  extra: Record<string, string | boolean>,
): PortOpener & { stop(): Promise<void> } {
  let sim: SimulatedRvr | undefined;
  const openSim = (): OpenedPort => {
    const [host, device] = MemoryPort.pair("sim");
    if (sim) sim.attach(device);
    else {
      sim = new SimulatedRvr(device, { ...simOptionsFromFlags(extra), keepAlive: true });
      sim.start();
    }
    return { port: host, simulated: true, close: () => device.close() };
  };
  const open: PortOpener = async ({ path, baudRate }) => {
    if (path === "auto") {
      // The GPIO UART of this board (src/link/serial_device.ts); on a Raspberry Pi never the
      // simulator: without its UART every robot tool fails with the steps that enable it.
      const auto = autoPort(await probeBoard());
      if (auto.kind === "simulator") {
        log.warn(auto.reason);
        return openSim();
      }
      path = auto.path;
    }
    if (path === "sim") return openSim();
    const port = await TtyPort.open(path, { baudRate });
    return { port, simulated: false, close: () => port.close() };
  };
  return Object.assign(open, { stop: async () => await sim?.stop() });
}

/**
 * What the stdio transport reads. A pipe or a socket (how MCP clients start a server) is read as
 * a node:net socket: non-blocking, on the event loop, where Deno's process.stdin reads a pipe on a
 * worker thread, one thread hop per message (README "Speed"). A tty or a file has no such socket
 * (a TypeError says so): process.stdin reads those.
 */
function mcpStdin(): Readable {
  try {
    return new Socket({ fd: 0, readable: true, writable: false });
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    log.debug("stdin is read through process.stdin: {reason}", { reason: error.message });
    return process.stdin;
  }
}

/**
 * Resolves when stdout fails: its reader went away (the client crashed, an ssh session
 * half-closed, a pipe reader exited). Deno ignores SIGPIPE, so the next write to such a pipe fails
 * with EPIPE, which the stdio transport's `process.stdout` emits as an "error" event; unheard, it
 * would end the process with a crash trace and no drive_stop. Every later error is heard too.
 */
function stdoutClosed(stdio: McpStdio): Promise<void> {
  return new Promise((resolve) => {
    let heard = false;
    const failed = (e: Error & { code?: string }) => {
      if (!heard) {
        heard = true;
        log.warn("stdout failed ({code}): the MCP client is gone", {
          code: e.code ?? e.name,
          error: e.message,
        });
      }
      resolve();
    };
    process.stdout.on("error", failed);
    // The transport's own write may fail at once (a thrown EPIPE) rather than by the event.
    stdio.outputFailed.then(failed);
  });
}

/** The signals that stop the program, with the shutdown reason each one gives. */
const STOP_SIGNALS = { SIGINT: "sigint", SIGTERM: "sigterm", SIGHUP: "sighup" } as const;
type SignalReason = typeof STOP_SIGNALS[keyof typeof STOP_SIGNALS];

/**
 * Resolves when the process is asked to stop: SIGINT (Ctrl-C), SIGTERM, or SIGHUP (the terminal
 * or ssh session it runs in hung up: its client is gone).
 */
function signalled(): Promise<SignalReason> {
  return new Promise((resolve) => {
    for (const [signal, reason] of Object.entries(STOP_SIGNALS)) {
      Deno.addSignalListener(signal as Deno.Signal, () => resolve(reason));
    }
  });
}

/** Why `serve` ends on its own: the stdio client went away, or a signal. */
export type ExitReason = Extract<ShutdownReason, "stdin_eof" | "stdout_closed" | SignalReason>;

/** An error nothing caught: thrown where no caller catches it, or a promise rejection no one handles. */
export interface Fault {
  kind: "uncaught_error" | "unhandled_rejection";
  error: unknown;
}

/**
 * The last resort, for the whole process once installed: an error nothing caught (thrown from a
 * timer, an event or signal handler; a rejection nobody handles) no longer ends the process on the
 * spot with a trace and a robot left driving. Each one is logged as a JSON line (level fatal, with
 * its stack); the returned promise resolves with the first, so the program stops the robot and
 * exits 1.
 */
function lastResort(): Promise<Fault> {
  return new Promise((resolve) => {
    const report = (fault: Fault) => {
      try {
        const e = fault.error;
        log.fatal("Uncaught error ({kind}): {message}", {
          kind: fault.kind,
          message: e instanceof Error ? e.message : String(e),
          error: e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : e,
        });
      } finally {
        resolve(fault);
      }
    };
    globalThis.addEventListener("error", (event) => {
      event.preventDefault();
      if (isAbandonedSocketReset(event.error)) {
        // A peer (the fleet's broker) reset a connection its owner already let go: not a fault.
        log.warn("A connection was reset after it was let go: {message}", {
          message: (event.error as Error).message,
        });
        return;
      }
      report({ kind: "uncaught_error", error: event.error });
    });
    globalThis.addEventListener("unhandledrejection", (event) => {
      event.preventDefault();
      report({ kind: "unhandled_rejection", error: event.reason });
    });
  });
}

/** The MCP HTTP port: RVR_MCP_HTTP_PORT, or 3000 with --http alone; undefined when off. */
function mcpHttpPort(config: Config, extra: Record<string, string | boolean>): number | undefined {
  return config.mcpHttpPort ?? (extra.http === true ? DEFAULT_MCP_HTTP_PORT : undefined);
}

/** Every instrument of the program, on one registry: what GET /metrics serves. */
export type ProgramMetrics = RobotMetrics & Readonly<TelemetryInstruments & SidePortInstruments>;

/**
 * The program's metrics, composed: each layer's instruments on one registry, then (unless
 * `processMetrics: false`) the process metrics, whose event-loop lag timer never holds the
 * process open.
 */
export function programMetrics(options: { processMetrics?: boolean } = {}): ProgramMetrics {
  const registry = new MetricsRegistry();
  const metrics = withInstruments(registry, {
    ...robotInstruments(registry),
    ...telemetryInstruments(registry),
    ...sidePortInstruments(registry),
  });
  if (options.processMetrics ?? true) {
    registerProcessMetrics(
      registry.registry,
      "rvr_",
      new EventLoopLag(undefined, { unrefTimer: Deno.unrefTimer }),
    );
  }
  return metrics;
}

/** The running server: what `serve` composed, for its shutdown and for benches that drive it. */
export interface Program {
  readonly runtime: Runtime;
  readonly aggregator: Aggregator;
  /** The side port (RVR_HTTP_PORT), when on. */
  readonly sidePort: SidePort | undefined;
  /** MCP over Streamable HTTP (RVR_MCP_HTTP_PORT or --http), when on. */
  readonly mcpHttp: McpHttpServer | undefined;
  /**
   * Why the program should stop: the stdio MCP client went away (stdin at its end, stdout closed)
   * or a signal. Only a signal when stdio is off.
   */
  readonly exit: Promise<ExitReason>;
  /**
   * Stops the robot (drive_stop on the wire), then everything else in order; the last telemetry
   * window is delivered. A step that fails is logged and the rest still run; then it rejects.
   */
  close(reason: ShutdownReason): Promise<void>;
}

/**
 * Starts the server as configured: the runtime (connecting in the background), MCP on stdio and/or
 * HTTP, the aggregator, the optional recorder and side port. Resolves once everything listens.
 */
export async function startProgram(
  config: Config,
  extra: Record<string, string | boolean>,
): Promise<Program> {
  const port = mcpHttpPort(config, extra);
  if (!config.mcpStdio && port === undefined) {
    throw new ConfigError(
      "RVR_MCP_STDIO=false leaves no way to reach the server: set RVR_MCP_HTTP_PORT (or --http) too.",
    );
  }
  const opener = portOpener(extra);
  const runtime = new Runtime(config, opener, programMetrics());
  const { connection } = runtime;
  const eventLog = new RobotEventLog(runtime.bus);
  // Telemetry: every bus event in windows, for the side port and the optional recorder.
  const aggregator = new Aggregator(runtime.bus, {
    windowMs: config.aggregatorWindowMs,
    capacity: config.aggregatorCapacity,
    metrics: runtime.metrics,
  });
  // A telemetry file that cannot be opened is a setting to fix (exit 2), not a failure to retry.
  const recorder = config.telemetryFile
    ? await TelemetryRecorder.open(config.telemetryFile, aggregator, { metrics: runtime.metrics })
      .catch((e: Error) => Promise.reject(new ConfigError(e.message, { cause: e })))
    : undefined;
  const serverOptions = {
    eventLog,
    updateWindowMs: config.aggregatorWindowMs,
    serialPorts: listSerialPorts,
  };
  const deps = {
    runtime,
    streams: runtime.streams,
    moves: runtime.moves,
    version: denoJson.version,
  };
  // stdio: the MCP client that started us, served at once while the robot connects beside it.
  // Its stdin ending or its stdout closing means it went away. Without stdio (a service) only a
  // signal ends us.
  // Both protocol eras on stdio: the client's first message picks one for the connection.
  const stdio: McpStdio | undefined = config.mcpStdio
    ? serveMcpStdio((era) => createServer(deps, { ...serverOptions, era }), {
      input: mcpStdin(),
      maxLineBytes: config.maxBodyBytes,
    })
    : undefined;
  const exit: Promise<ExitReason> = stdio
    ? Promise.race([
      stdio.ended.then(() => "stdin_eof" as const),
      stdoutClosed(stdio).then(() => "stdout_closed" as const),
      signalled(),
    ])
    : signalled();
  let mcpHttp: McpHttpServer | undefined;
  if (port !== undefined) {
    mcpHttp = await serveMcpHttp({
      port,
      host: config.httpHost,
      apiKey: config.apiKey,
      maxBodyBytes: config.maxBodyBytes,
      sessionIdleTimeoutMs: config.mcpSessionIdleTimeout * 1000,
      maxSessions: config.mcpMaxSessions,
      // 2025 era: a server per session; 2026-07-28: a server per request, whose resource
      // changes the endpoint's one watch publishes.
      createServer: (era) =>
        createServer(deps, {
          ...serverOptions,
          era,
          ...(era === "modern" ? { updates: "off" as const } : {}),
        }),
      resourceUpdates: (publish) => {
        const watch = watchResources(deps, eventLog, {
          updateWindowMs: config.aggregatorWindowMs,
          announce: publish,
        });
        return () => watch.dispose();
      },
      // A client that goes away leaves no robot running on its orders.
      onSessionClosed: async (id) => {
        if (!connection.peek()) return;
        try {
          await runtime.rvr.stop();
          log.info("Stopped the robot: MCP HTTP session {id} ended", { id });
        } catch (e) {
          log.warn("Could not stop the robot after session {id} ended: {error}", {
            id,
            error: (e as Error).message,
          });
        }
      },
    });
  }
  let sidePort: SidePort | undefined;
  if (config.httpPort !== undefined) {
    sidePort = await serveSidePort({
      port: config.httpPort,
      host: config.httpHost,
      apiKey: config.apiKey,
      maxBodyBytes: config.maxBodyBytes,
      runtime,
      aggregator,
      dashboardHtml,
    });
  }
  const fleet = config.fleetUrl === undefined
    ? undefined
    : await joinFleet(config, runtime, aggregator);
  const offReady = connection.onConnected(() => {
    offReady();
    const info = connection.info;
    log.info(info?.simulated ? "Ready: {port} (simulated RVR)" : "Ready: {port}", { ...info });
  });
  // Connect in the background: a robot that is not there yet (or a wrong port) is reported in
  // the log and by get_connection_status / connect, and retried, while MCP keeps serving.
  if (config.autoConnect) connection.startAutoConnect();
  else log.info("RVR_AUTO_CONNECT is off: call the connect tool to reach the robot");
  return {
    runtime,
    aggregator,
    sidePort,
    mcpHttp,
    exit,
    close: async (reason) => {
      const steps: [string, () => unknown][] = [
        // The robot first: drive_stop is on the wire before anything else is closed.
        ["the robot runtime", () => runtime.close(reason)],
        ["the fleet membership", () => fleet?.close()],
        ["MCP over HTTP", () => mcpHttp?.close()],
        ["the side port", () => sidePort?.close()],
        ["MCP on stdio", () => stdio?.close()],
        ["the aggregator", () => aggregator.close()], // its last window, to the recorder too
        ["the telemetry recorder", () => recorder?.close()],
        ["the event log", () => eventLog.dispose()],
        ["the simulator", () => opener.stop()],
      ];
      const failed: string[] = [];
      for (const [what, step] of steps) {
        try {
          await step();
        } catch (e) {
          failed.push(what);
          log.error("Shutdown: closing {what} failed: {error}", {
            what,
            error: (e as Error)?.message ?? String(e),
          });
        }
      }
      if (failed.length > 0) throw new Error(`Closing ${failed.join(", ")} failed (logged above).`);
    },
  };
}

/**
 * The longest the shutdown may take before the process exits anyway, so that a dead robot link
 * never keeps it hanging. drive_stop itself has 1 s to reach the port (Rvr's stop budget); closing
 * the rest takes milliseconds.
 */
export const SHUTDOWN_BUDGET_MS = 3000;

/** `program.close(reason)` within {@link SHUTDOWN_BUDGET_MS}; false (logged) when it failed or ran out. */
async function closeWithin(program: Program, reason: ShutdownReason): Promise<boolean> {
  try {
    await withTimeout(program.close(reason), SHUTDOWN_BUDGET_MS);
    return true;
  } catch (e) {
    log.error(
      e instanceof TimeoutError
        ? "Shutdown did not finish within {budgetMs} ms: exiting anyway"
        : "Shutdown failed: {error}",
      { budgetMs: SHUTDOWN_BUDGET_MS, error: (e as Error)?.message ?? String(e) },
    );
    return false;
  }
}

/** The broker connection settings from the config (RVR_FLEET_URL must be set). */
function fleetLinkOptions(config: Config): { servers: string[]; token?: string } {
  const url = config.fleetUrl;
  if (url === undefined) {
    throw new ConfigError(
      "The fleet needs RVR_FLEET_URL (--fleet-url), the NATS broker, e.g. nats://teacher.local:4222.",
    );
  }
  const servers = parseServers(url);
  return config.fleetToken === undefined ? { servers } : { servers, token: config.fleetToken };
}

/** `serve` with RVR_FLEET_URL: this robot joins the fleet beside its local MCP. */
async function joinFleet(
  config: Config,
  runtime: Runtime,
  aggregator: Aggregator,
): Promise<{ close(): Promise<void> }> {
  const { FleetLink, Member } = await fleetModule();
  const robotId = config.robotId ?? idFromHostname(Deno.hostname());
  const link = new FleetLink({ ...fleetLinkOptions(config), name: `rvr-mcp ${robotId}` });
  const member = new Member({
    link,
    robot: runtime,
    aggregator,
    robotId,
    fleet: config.fleetName,
    version: denoJson.version,
    format: config.fleetFormat,
  });
  member.start();
  log.info("Joining fleet {fleet} as {robot} via {servers}", {
    fleet: config.fleetName,
    robot: robotId,
    servers: link.servers.join(","),
  });
  return {
    close: async () => {
      await member.stop();
      await link.close();
    },
  };
}

/** A tool context for the side port's calls (no MCP request behind them). */
function sideContext() {
  return {
    correlationId: `http-${crypto.randomUUID().slice(0, 8)}`,
    signal: AbortSignal.timeout(10_000),
    notify: () => {},
  };
}

/** `fleet`: the gateway, serving MCP for every robot of the fleet until its client leaves. */
async function runGateway(
  config: Config,
  extra: Record<string, string | boolean>,
  fault: Promise<Fault>,
): Promise<number> {
  const port = mcpHttpPort(config, extra);
  const {
    fleetEmergencyStop,
    FleetLink,
    FleetMetrics,
    Gateway,
    GATEWAY_INFO,
    gatewayTools,
    listRobots,
  } = await fleetModule();
  const link = new FleetLink({ ...fleetLinkOptions(config), name: "rvr-mcp gateway" });
  const metrics = new MetricsRegistry();
  registerProcessMetrics(
    metrics.registry,
    "rvr_",
    new EventLoopLag(undefined, { unrefTimer: Deno.unrefTimer }),
  );
  const gateway = new Gateway({
    link,
    fleet: config.fleetName,
    metrics: new FleetMetrics(metrics.registry),
  });
  gateway.start();
  const info = { ...GATEWAY_INFO, version: denoJson.version };
  const tools = gatewayTools();
  // The same serving as `serve`: both protocol eras on stdio (the client's first message picks
  // one) and over HTTP (a server per 2025-era session or per 2026-era request).
  const serverFor = (era: Era) => createToolServer(info, tools, gateway, { era });
  const stdio: McpStdio | undefined = config.mcpStdio
    ? serveMcpStdio(serverFor, { input: mcpStdin(), maxLineBytes: config.maxBodyBytes })
    : undefined;
  const exit: Promise<string> = stdio
    ? Promise.race([
      stdio.ended.then(() => "stdin_eof"),
      stdoutClosed(stdio).then(() => "stdout_closed"),
      signalled(),
    ])
    : signalled();
  const mcpHttp = port === undefined ? undefined : await serveMcpHttp({
    port,
    host: config.httpHost,
    apiKey: config.apiKey,
    maxBodyBytes: config.maxBodyBytes,
    sessionIdleTimeoutMs: config.mcpSessionIdleTimeout * 1000,
    maxSessions: config.mcpMaxSessions,
    createServer: serverFor,
    // An HTTP client gone (DELETE, or idle past RVR_MCP_SESSION_IDLE_TIMEOUT): what it drove stops.
    onSessionClosed: (id) => stopDrivenRobots(gateway, id),
  });
  // The side port: /metrics with a robot label, the classroom page with STOP ALL.
  const sideHost = bindHost(config.httpHost, config.apiKey);
  let sidePort = config.httpPort ?? 0;
  const side = config.httpPort === undefined ? undefined : Deno.serve(
    {
      port: config.httpPort,
      hostname: sideHost,
      onListen: ({ port }) => {
        sidePort = port;
        log.info("Fleet side port on {port}", { port });
      },
    },
    fleetSideHandler({
      ...(config.apiKey === undefined ? {} : { apiKey: config.apiKey }),
      ...(config.apiKey === undefined && isLoopback(sideHost)
        ? { loopbackPort: () => sidePort }
        : {}),
      maxBodyBytes: config.maxBodyBytes,
      metrics: () => metrics.text(),
      metricsContentType: metrics.contentType,
      robots: async () => await listRobots.handler(gateway, {}, sideContext()),
      stopAll: async () => await fleetEmergencyStop.handler(gateway, {}, sideContext()),
    }),
  );
  log.info("Fleet gateway for fleet {fleet} via {servers}", {
    fleet: config.fleetName,
    servers: link.servers.join(","),
  });
  const reason = await Promise.race([exit, fault.then(() => "uncaught_error")]);
  log.info("Fleet gateway stopping ({reason})", { reason });
  await stopDrivenRobots(gateway);
  gateway.close();
  await side?.shutdown();
  await mcpHttp?.close();
  await stdio?.close();
  await link.close();
  return reason === "uncaught_error" ? 1 : 0;
}

/** The longest the gateway waits for the robots it drove to confirm their stop, ms. */
const GATEWAY_STOP_MS = 1000;

/**
 * The gateway's client is gone: every robot it drove gets `stop` (drive_stop) before it exits,
 * each within {@link GATEWAY_STOP_MS} (src/fleet/driven.ts). Never throws.
 */
async function stopDrivenRobots(gateway: {
  readonly driven: {
    readonly ids: readonly string[];
    drivenBy(session: string): readonly string[];
  };
  stopDriven(
    options: { timeoutMs: number; session?: string },
  ): Promise<{ robot: string; stopped: boolean }[]>;
}, session?: string): Promise<void> {
  const driven = session === undefined ? gateway.driven.ids : gateway.driven.drivenBy(session);
  if (driven.length === 0) return;
  log.info("Stopping the {n} robots {who} drove: {robots}", {
    n: driven.length,
    who: session === undefined ? "this gateway" : `MCP session ${session} (it ended)`,
    robots: driven.join(", "),
  });
  try {
    const stops = await withTimeout(
      gateway.stopDriven({
        timeoutMs: GATEWAY_STOP_MS,
        ...(session === undefined ? {} : { session }),
      }),
      GATEWAY_STOP_MS + 500,
    );
    const stopped = stops.filter((s) => s.stopped).map((s) => s.robot);
    const not = stops.filter((s) => !s.stopped).map((s) => s.robot);
    const props = { stopped: stopped.join(", ") || "none", not: not.join(", ") || "none" };
    const message = "Stopped {stopped}; not confirmed: {not} (their watchdogs stop them)";
    if (not.length > 0) log.warn(message, props);
    else log.info(message, props);
  } catch (e) {
    log.error("Stopping the driven robots did not finish: {error}; their watchdogs stop them", {
      error: errorMessage(e),
    });
  }
}

/** `fleet-sim --robots N`: a classroom of simulated robots joined to the fleet. */
async function runClassroom(
  config: Config,
  extra: Record<string, string | boolean>,
  fault: Promise<Fault>,
): Promise<number> {
  const { MAX_CLASSROOM, startClassroom } = await fleetModule();
  const n = typeof extra.robots === "string" ? nonNegativeInt("robots", extra.robots) : 3;
  if (n < 1 || n > MAX_CLASSROOM) {
    throw new ConfigError(
      `Invalid --robots=${n}: allowed is an integer 1-${MAX_CLASSROOM}, e.g. --robots 30.`,
    );
  }
  const classroom = await startClassroom({
    robots: n,
    fleet: config.fleetName,
    version: denoJson.version,
    link: fleetLinkOptions(config),
    format: config.fleetFormat,
    build: (id) => {
      const opener = portOpener({ ...extra, name: id });
      const runtime = new Runtime(
        { ...config, serialPort: "sim" },
        opener,
        robotMetrics(),
      );
      const aggregator = new Aggregator(runtime.bus, {
        windowMs: config.aggregatorWindowMs,
        capacity: config.aggregatorCapacity,
      });
      runtime.connection.startAutoConnect();
      return Promise.resolve({
        robot: runtime,
        aggregator,
        close: async () => {
          await runtime.close("sigterm");
          aggregator.close();
          await opener.stop();
        },
      });
    },
  });
  const reason = await Promise.race([signalled(), fault.then(() => "uncaught_error" as const)]);
  log.info("Classroom stopping ({reason}): stopping every robot", { reason });
  await classroom.close();
  return reason === "uncaught_error" ? 1 : 0;
}

async function serve(
  config: Config,
  extra: Record<string, string | boolean>,
  fault: Promise<Fault>,
): Promise<number> {
  const program = await startProgram(config, extra);
  const reason: ShutdownReason = await Promise.race([
    program.exit,
    fault.then(() => "uncaught_error" as const),
  ]);
  log.info("Shutting down ({reason}): stopping the robot", { reason });
  const closed = await closeWithin(program, reason);
  return reason === "uncaught_error" || !closed ? 1 : 0;
}

async function runSimulator(
  config: Config,
  extra: Record<string, string | boolean>,
  fault: Promise<Fault>,
): Promise<number> {
  const path = extra.port;
  if (typeof path !== "string") {
    throw new ConfigError("`sim` needs --port PATH: the tty the simulated robot listens on.");
  }
  const port = await TtyPort.open(path, { baudRate: config.baudRate });
  const sim = new SimulatedRvr(port, simOptionsFromFlags(extra));
  sim.start();
  log.info("Simulated RVR listening on {port}", { port: path });
  const reason = await Promise.race([
    signalled(),
    sim.stopped,
    fault.then(() => "uncaught_error" as const),
  ]);
  log.info("Simulator stopping ({reason})", { reason });
  await sim.stop();
  await port.close();
  return reason === "uncaught_error" ? 1 : 0;
}

export async function main(args: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = loadConfig(args, Deno.env.toObject(), SIM_FLAGS);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      return e.exitCode;
    }
    throw e;
  }
  if (parsed.help) {
    // Help is asked for by a person, not an MCP client: stdout is fine here.
    console.log(helpText(SIM_HELP));
    return 0;
  }
  const { config, command, extra } = parsed;
  await configureLogging({ level: config.logLevel, format: config.logFormat });
  const fault = lastResort();
  try {
    if (command === "serve") return await serve(config, extra, fault);
    if (command === "sim") return await runSimulator(config, extra, fault);
    if (command === "fleet") return await runGateway(config, extra, fault);
    if (command === "fleet-sim") return await runClassroom(config, extra, fault);
    throw new ConfigError(
      `Unknown command ${JSON.stringify(command)}: use serve (default), sim, fleet or fleet-sim.`,
    );
  } catch (e) {
    if (e instanceof ConfigError) {
      log.error(e.message);
      return e.exitCode;
    }
    log.fatal("{message}", { message: (e as Error).message ?? String(e), error: e });
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
