/**
 * The pieces of the MCP adapter: error-to-result mapping, tool registration (domain error vs bug,
 * progress, the simulated mark), the update throttle, the event log, log levels. The catalog's
 * own helpers (LED packets, compass heading, IR decoding) are tested in tests/tools.
 */
import assert from "node:assert/strict";
import { McpServer } from "@modelcontextprotocol/server";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import {
  CircuitOpenError,
  CommandTimeoutError,
  DomainError,
  EventBus,
  IllegalTransitionError,
  QueueClosedError,
  QueueFullError,
} from "../../src/core/mod.ts";
import {
  LinkClosedError,
  PortClosedError,
  ResponseTimeoutError,
  RobotError,
  SerialPortError,
  UndecodableReplyError,
} from "../../src/link/mod.ts";
import {
  BatteryCriticalError,
  CancelledByEmergencyStopError,
  EmergencyStopActiveError,
  MotionStoppedError,
  MoveCancelledError,
  MoveFailedError,
  MoveSupersededError,
  MoveTimeoutError,
  NotConnectedError,
  robotMetrics,
  RobotNotRespondingError,
  type RobotTopics,
  Runtime,
  StreamConfigurationError,
  UnexpectedReplyError,
} from "../../src/robot/mod.ts";
import {
  CORRELATION_META_KEY,
  describeToolError,
  ERROR_META_KEY,
  registerTool,
  type ToolEnv,
} from "../../src/mcp/_tool.ts";
import { RobotEventLog, UpdateThrottle } from "../../src/mcp/resources.ts";
import { notificationLog, safetyLogLevel } from "../../src/mcp/server.ts";
import { commandOptions, SIMULATED_KEY, tool } from "../../src/tools/mod.ts";
import { fakeClock, testSettings } from "../_helpers/mod.ts";

Deno.test("describeToolError: cause first, then what to do; bugs are not described", async (t) => {
  const cases: [Error, RegExp][] = [
    [
      new EmergencyStopActiveError("drive_with_heading", "tool", 0),
      /^emergency stop is active: call clear_emergency_stop first/,
    ],
    [
      new CancelledByEmergencyStopError("x"),
      /^cancelled by emergency stop: .*clear_emergency_stop/,
    ],
    [new BatteryCriticalError("drive_tank_si_units", 3), /^battery is critical: .*Charge or swap/],
    [
      new CircuitOpenError("robot", 7200, Date.now() + 7200, "3 failures"),
      /^the robot stopped answering; next probe in 8 s\. Retry after that/,
    ],
    [new CircuitOpenError("robot", 10, Date.now(), "x"), /next probe in 1 s/],
    [new NotConnectedError("disconnected"), /^not connected: call connect/],
    [new QueueFullError("echo", 10, 10), /^too many commands waiting: .*Wait for queued/],
    [new ResponseTimeoutError("echo", 200, 1, 3), /^the robot did not answer echo in time: /],
    [new CommandTimeoutError("echo", 500, "queued"), /^timed out: .*larger timeoutMs/],
    [new RobotError("set_all_leds", 7, 1), /^the robot refused set_all_leds with bad_data_value/],
    [
      new UndecodableReplyError("echo", new Uint8Array([1]), new Error("short")),
      /could not be decoded/,
    ],
    [new MotionStoppedError("stop"), /robot was stopped \(stop\)/],
    [new LinkClosedError("/dev/serial0"), /^the link closed: .*Call connect/],
    [new QueueClosedError("echo", "bye"), /queue is closed/],
    [
      new RobotNotRespondingError("/dev/serial0", 5000, new Error("x"), false),
      /No answer from an RVR/,
    ],
    [
      new SerialPortError("permission_denied", "/dev/serial0", "Permission denied: add dialout"),
      /^serial port \/dev\/serial0: Permission denied/,
    ],
    [
      new MoveTimeoutError("pivot", 5000, "turned 10 of 90", null),
      /^pivot did not finish within 5\.0 s/,
    ],
    [
      new MoveFailedError("drive_to_position", "the firmware gave up", null),
      /ended without reaching/,
    ],
    [new MoveCancelledError("drive_forward", new Error("gone"), null), /cancelled by the caller/],
    [new MoveSupersededError("pivot", "drive_forward"), /replaced by drive_forward.*one move runs/],
    [
      new StreamConfigurationError(
        "configure_streaming_service",
        2,
        "speed",
        new RobotError("configure_streaming_service", 7, 2),
      ),
      /^Sensor streaming could not be set up: .*start again without/,
    ],
    [
      new UnexpectedReplyError("get_encoder_counts", "3 counts instead of 2"),
      /^get_encoder_counts answered 3 counts instead of 2; the firmware may differ/,
    ],
    [new PortClosedError("/dev/serial0"), /^Port \/dev\/serial0 is closed; reconnect/],
    [new DOMException("The operation was aborted", "AbortError"), /^cancelled: /],
  ];
  for (const [i, [error, pattern]] of cases.entries()) {
    await t.step(`${i} ${error.name}`, () => {
      const text = describeToolError(error);
      assert.ok(text !== undefined, `${error.name} is a domain error`);
      assert.match(text, pattern);
      if (!(error instanceof DOMException)) {
        assert.ok(error instanceof DomainError, `${error.name} extends DomainError`);
        assert.equal(text, error.hint, "the text is the error's hint");
      }
    });
  }
  await t.step("bugs", () => {
    assert.equal(describeToolError(new Error("boom")), undefined);
    assert.equal(describeToolError(new IllegalTransitionError("c", "a", "b", [])), undefined);
    assert.equal(describeToolError("a string"), undefined);
    // Arguments are checked by the catalog's schemas where they enter: a RangeError or TypeError
    // thrown further down is a bug in the code, not "an invalid argument" of the caller.
    assert.equal(describeToolError(new RangeError("percent must be 0-100, got 120")), undefined);
    assert.equal(describeToolError(new TypeError("speed must be a number")), undefined);
  });
});

/** A runtime that is never connected: configured for `port` (not opened). */
function idleRuntime(port: string): Runtime {
  return new Runtime(testSettings({ serialPort: port }), () => {
    throw new Error("this test never opens a port");
  }, robotMetrics());
}

Deno.test("registerTool: domain errors become results with a hint, bugs throw, progress only grows", async () => {
  const robot = idleRuntime("/dev/ttyNOTHERE");
  const notes: string[] = [];
  const env: ToolEnv = { robot, notify: (name, detail) => notes.push(`${name}: ${detail}`) };
  const server = new McpServer({ name: "t", version: "1" });
  registerTool(
    server,
    tool({
      name: "probe",
      title: "Probe",
      description: "Throws what it is told to; reports progress.",
      input: { what: z.enum(["ok", "range", "bug", "estop"]) },
      output: { done: z.boolean() },
      hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
      handler(r, args, ctx) {
        assert.equal(r, robot, "the handler drives the env's robot");
        assert.match(ctx.correlationId, /^probe-/);
        const options = commandOptions(ctx);
        assert.equal(options.correlationId, ctx.correlationId);
        assert.equal(options.requestsResponse, true);
        assert.equal(options.signal, ctx.signal);
        for (const p of [1, 1, 0.5, 2, 3, 2.5]) ctx.progress?.(p, 3, `step ${p}`);
        ctx.notify("probe", `probed ${args.what}`, {});
        if (args.what === "range") throw new RangeError("what is out of range");
        if (args.what === "bug") throw new Error("an unexpected bug");
        if (args.what === "estop") throw new EmergencyStopActiveError("probe", "tool", 0);
        return Promise.resolve({ done: true });
      },
    }),
    env,
  );
  const client = new Client({ name: "c", version: "1" });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  await client.connect(a);
  try {
    const progress: number[] = [];
    const call = (what: string, withProgress = false) =>
      client.callTool(
        { name: "probe", arguments: { what } },
        undefined,
        withProgress ? { onprogress: (p) => progress.push(p.progress) } : {},
      ) as Promise<CallToolResult>;
    const ok = await call("ok", true);
    assert.deepEqual(ok.structuredContent, { done: true }, "no simulated mark: a real port");
    assert.match(String(ok._meta?.[CORRELATION_META_KEY]), /^probe-/);
    assert.deepEqual(progress, [1, 2, 3], "only increasing progress is sent");
    assert.deepEqual(notes, ["probe: probed ok"], "notes reach the env");

    // A RangeError thrown by code is a bug (arguments were checked by the schema): the SDK's
    // own error result, without our hint or _meta (the old "invalid argument" text was wrong).
    const range = await call("range");
    assert.equal(range.isError, true);
    assert.equal(range._meta, undefined);
    assert.equal((range.content[0] as { text: string }).text, "what is out of range");

    const estop = await call("estop");
    assert.equal(estop.isError, true);
    assert.equal(estop._meta?.[ERROR_META_KEY], "EmergencyStopActiveError");
    assert.match(
      (estop.content[0] as { text: string }).text,
      /^emergency stop is active: call clear_emergency_stop first/,
    );

    // A bug is rethrown: the SDK's own error result, without our hint or _meta.
    const bug = await call("bug");
    assert.equal(bug.isError, true);
    assert.equal(bug._meta, undefined);
    assert.equal((bug.content[0] as { text: string }).text, "an unexpected bug");

    const strict = await client.callTool({ name: "probe", arguments: { what: "ok", extra: 1 } });
    assert.equal(strict.isError, true, "unknown arguments are refused");
    const bad = await client.callTool({ name: "probe", arguments: { what: "maybe" } });
    assert.equal(bad.isError, true, "a value outside the schema is refused before the handler");
    assert.equal(notes.length, 4, "neither refused call reached the handler");
  } finally {
    await client.close();
    await server.close();
    await robot.close("sigterm");
  }
});

Deno.test("registerTool: results say simulated_robot while the robot is the simulator", async () => {
  const robot = idleRuntime("sim");
  const server = new McpServer({ name: "t", version: "1" });
  registerTool(
    server,
    tool({
      name: "probe",
      title: "Probe",
      description: "Returns done.",
      input: {},
      output: { done: z.boolean() },
      hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
      handler: () => Promise.resolve({ done: true }),
    }),
    { robot, notify: () => {} },
  );
  const client = new Client({ name: "c", version: "1" });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  await client.connect(a);
  try {
    const { tools } = await client.listTools();
    const properties = tools[0].outputSchema?.properties ?? {};
    assert.ok(SIMULATED_KEY in properties, "the output schema declares the mark");
    const r = await client.callTool({ name: "probe", arguments: {} }) as CallToolResult;
    assert.deepEqual(r.structuredContent, { done: true, [SIMULATED_KEY]: true });
  } finally {
    await client.close();
    await server.close();
    await robot.close("sigterm");
  }
});

Deno.test("UpdateThrottle: leading edge, one folded update per window, never loses the last", async () => {
  const clock = fakeClock();
  try {
    const sent: number[] = [];
    const throttle = new UpdateThrottle(100, () => sent.push(clock.now));
    const t0 = clock.now;
    throttle.changed();
    assert.deepEqual(sent, [t0], "the first change goes out at once");
    for (let i = 0; i < 5; i++) {
      await clock.tickAsync(10);
      throttle.changed();
    }
    assert.equal(sent.length, 1);
    await clock.tickAsync(100);
    assert.deepEqual(sent, [t0, t0 + 100], "the folded change at the end of the window");
    await clock.tickAsync(500);
    assert.equal(sent.length, 2, "nothing without a change");
    throttle.changed();
    assert.equal(sent.length, 3, "after a quiet window: at once again");
    throttle.changed();
    throttle.dispose();
    await clock.tickAsync(200);
    assert.equal(sent.length, 3, "dispose drops the pending one");
    assert.throws(
      () => new UpdateThrottle(-1, () => {}),
      /updateWindowMs must be a number of ms >= 0, got -1/,
    );
  } finally {
    clock.uninstall();
  }
});

Deno.test("RobotEventLog: notifications, safety events and settings, bounded", async () => {
  const bus = new EventBus<RobotTopics>();
  const log = new RobotEventLog(bus, { capacity: 3 });
  try {
    const seen: string[] = [];
    const two = Promise.withResolvers<void>();
    log.onAppend((e) => {
      seen.push(e.name);
      if (seen.length === 2) two.resolve();
    });
    bus.publish("robot.notification", {
      name: "motor_stall_notify",
      node: 2,
      values: { motor_index: 0, is_triggered: true },
      at: 0,
    });
    bus.publish("robot.notification", {
      name: "streaming_service_data_notify",
      node: 2,
      values: { token: 1, sensor_data: [] },
      at: 1,
    });
    bus.publish("safety", {
      type: "stall",
      detail: "The left motor stalled.",
      at: 2,
      data: { motor: "left" },
    });
    await two.promise; // the bus delivers asynchronously
    log.noteSetting("speed_limit_percent", "Speed limit set to 30 %.", { percent: 30 });
    log.noteSetting("command_timeout_s", "Watchdog 2 s.", { seconds: 2 });
    assert.deepEqual(seen, [
      "motor_stall_notify",
      "stall",
      "speed_limit_percent",
      "command_timeout_s",
    ]);
    assert.deepEqual(log.events.map((e) => e.name), [
      "stall",
      "speed_limit_percent",
      "command_timeout_s",
    ]);
    assert.equal(log.dropped, 1);
    assert.deepEqual(log.events[0], {
      seq: 2,
      kind: "safety",
      name: "stall",
      detail: "The left motor stalled.",
      data: { motor: "left" },
      at: new Date(2).toISOString(),
    });
    assert.throws(
      () => new RobotEventLog(bus, { capacity: 0 }),
      /capacity must be an integer >= 1, got 0/,
    );
  } finally {
    log.dispose();
    bus.close();
  }
});

Deno.test("log levels for safety events and robot notifications", () => {
  const at = 0;
  assert.equal(safetyLogLevel({ type: "estop", detail: "", at }), "warning");
  assert.equal(safetyLogLevel({ type: "estop_cleared", detail: "", at }), "notice");
  assert.equal(
    safetyLogLevel({ type: "stall", detail: "", at, data: { reason: "stall" } }),
    "warning",
  );
  assert.equal(
    safetyLogLevel({ type: "stall", detail: "released", at, data: { motor: "left" } }),
    "info",
  );
  assert.equal(
    safetyLogLevel({ type: "motor_fault", detail: "", at, data: { reason: "motor_fault" } }),
    "error",
  );
  assert.equal(
    safetyLogLevel({ type: "thermal", detail: "", at, data: { reason: "thermal" } }),
    "error",
  );
  assert.equal(safetyLogLevel({ type: "thermal", detail: "warn", at, data: {} }), "warning");
  assert.equal(
    safetyLogLevel({ type: "battery", detail: "", at, data: { reason: "battery_critical" } }),
    "critical",
  );
  assert.equal(safetyLogLevel({ type: "limited", detail: "", at }), "debug");
  const n = (name: "battery_voltage_state_change_notify" | "will_sleep_notify", state?: number) =>
    notificationLog({ name, node: 1, values: state === undefined ? {} : { state }, at });
  assert.equal(n("battery_voltage_state_change_notify", 2)?.event, "battery_low");
  assert.equal(n("battery_voltage_state_change_notify", 2)?.level, "warning");
  assert.equal(n("battery_voltage_state_change_notify", 1), undefined);
  assert.equal(n("will_sleep_notify")?.level, "warning");
});
