/**
 * The catalog itself, without any transport: its shape (names, bounds on every argument), and
 * handlers called directly on a real Runtime over the simulated robot: results, the
 * simulated_robot mark, the per-link battery thresholds, the notification waits of the robot
 * layer, and domain errors as they are thrown.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { DomainError } from "../../src/core/mod.ts";
import { NotConnectedError, robotMetrics, Runtime } from "../../src/robot/mod.ts";
import {
  CATALOG,
  runTool,
  SIMULATED_KEY,
  type Tool,
  TOOL_GROUPS,
  TOOL_NAMES,
  type ToolContext,
} from "../../src/tools/mod.ts";
import { getBatteryStatus, getColorDetection } from "../../src/tools/sensors.ts";
import { setLed } from "../../src/tools/leds.ts";
import { setSpeedLimit } from "../../src/tools/safety.ts";
import {
  fakeClock,
  keepAliveSimOpener,
  settleErrorWith,
  settleWith,
  testSettings,
} from "../_helpers/mod.ts";

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  maxLength?: number;
  maxItems?: number;
};

/** Paths of input values without an upper and lower bound (numbers), a length or item limit. */
function unbounded(schema: JsonSchema, path: string): string[] {
  if (schema.enum !== undefined || schema.const !== undefined) return [];
  if (schema.anyOf) return schema.anyOf.flatMap((s, i) => unbounded(s, `${path}|${i}`));
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  const out: string[] = [];
  if (types.includes("number") || types.includes("integer")) {
    const low = schema.minimum ?? schema.exclusiveMinimum;
    const high = schema.maximum ?? schema.exclusiveMaximum;
    if (low === undefined || high === undefined) out.push(path);
  }
  if (types.includes("string") && schema.maxLength === undefined) out.push(path);
  if (types.includes("array")) {
    if (schema.maxItems === undefined) out.push(path);
    if (schema.items) out.push(...unbounded(schema.items, `${path}[]`));
  }
  for (const [key, value] of Object.entries(schema.properties ?? {})) {
    out.push(...unbounded(value, `${path}.${key}`));
  }
  return out;
}

Deno.test("catalog: 43 tools in seven groups, unique snake_case names, every argument bounded", () => {
  assert.equal(CATALOG.length, 43);
  assert.deepEqual(Object.keys(TOOL_GROUPS), [
    "connection",
    "movement",
    "leds",
    "sensors",
    "system",
    "safety",
    "ir",
  ]);
  assert.equal(new Set(TOOL_NAMES).size, 43, "names are unique");
  for (const t of CATALOG) {
    assert.match(t.name, /^[a-z]+(_[a-z]+)*$/, t.name);
    assert.ok(t.title.length > 0 && t.description.length > 40, `${t.name} is described`);
    const schema = z.toJSONSchema(z.strictObject(t.input)) as JsonSchema;
    assert.deepEqual(unbounded(schema, t.name), [], `${t.name}: every argument has its bounds`);
    assert.ok(!(SIMULATED_KEY in t.output), `${t.name}: the mark is added in one place`);
  }
});

/** A handler context for a direct call (no transport): notes collected, progress recorded. */
function context(signal = new AbortController().signal) {
  const notes: string[] = [];
  const progress: number[] = [];
  const ctx: ToolContext = {
    correlationId: "catalog-test",
    signal,
    progress: (p) => progress.push(p),
    notify: (name, detail) => notes.push(`${name}: ${detail}`),
  };
  return { ctx, notes, progress };
}

Deno.test("catalog handlers on a Runtime over the simulated robot, no transport", async (t) => {
  const clock = fakeClock();
  const robot = keepAliveSimOpener({}, "catalog");
  const runtime = new Runtime(
    testSettings(),
    robot.open,
    robotMetrics(),
  );
  const settle = <T>(p: Promise<T>) => settleWith(clock, p, 60_000);
  const run = (tool: Tool, args: Record<string, unknown>, ctx = context().ctx) =>
    settle(runTool(tool, runtime, z.strictObject(tool.input).parse(args), ctx));
  try {
    await t.step("not connected: a DomainError whose hint says to connect", async () => {
      const error = await settleErrorWith(
        clock,
        runTool(setLed, runtime, {
          led: "headlights",
          red: 1,
          green: 2,
          blue: 3,
        }, context().ctx),
      );
      assert.ok(error instanceof NotConnectedError && error instanceof DomainError);
      assert.match(error.hint, /^not connected: call connect/);
      const waiting = await settleErrorWith(
        clock,
        runTool(getColorDetection, runtime, {}, context().ctx),
      );
      assert.ok(waiting instanceof NotConnectedError, "the notification wait needs a link");
    });

    await settle(runtime.connection.connect());
    await settle(runtime.rvr.ready());

    await t.step("a result, marked as simulated, and the packet on the wire", async () => {
      const r = await run(setLed, { led: "headlights", red: 10, green: 20, blue: 30 });
      assert.equal(r[SIMULATED_KEY], true);
      assert.deepEqual(r.leds, ["left_headlight", "right_headlight"]);
      assert.equal(robot.wire.received("set_all_leds").length, 1);
    });

    await t.step("ctx.notify receives the setting note", async () => {
      const { ctx, notes } = context();
      const r = await run(setSpeedLimit, { percent: 30 }, ctx);
      assert.equal(r.speed_limit_percent, 30);
      assert.deepEqual(notes, ["speed_limit_percent: Speed limit set to 30 % (was 50 %)."]);
    });

    await t.step("battery thresholds: read once per link, again after a reconnect", async () => {
      const reads = () =>
        robot.wires.flatMap((w) => w.received("get_battery_voltage_state_thresholds")).length;
      const first = await run(getBatteryStatus, {});
      await run(getBatteryStatus, {});
      assert.equal(reads(), 1, "the second call used the link's thresholds");
      await settle(runtime.connection.connect());
      await settle(runtime.rvr.ready());
      const again = await run(getBatteryStatus, {});
      assert.equal(reads(), 2, "a new link reads them again");
      assert.deepEqual(again.thresholds, first.thresholds);
    });

    await t.step("colour detection waits for the robot's notification", async () => {
      const r = await run(getColorDetection, {});
      assert.equal(typeof r.red, "number");
      assert.equal(r.detection_left_on, false);
      const enables = robot.wire.received("enable_color_detection");
      assert.equal(enables.length, 2, "switched on for the reading and off after it");
    });

    await t.step("a cancelled call rejects with its signal's reason", async () => {
      const controller = new AbortController();
      const reason = new DOMException("the caller went away", "AbortError");
      controller.abort(reason);
      const error = await settleErrorWith(
        clock,
        runTool(getColorDetection, runtime, {}, context(controller.signal).ctx),
      );
      assert.equal(error, reason);
    });
  } finally {
    runtime.moves.dispose();
    runtime.streams.dispose();
    await settle(runtime.close("sigterm"));
    await settle(robot.sim.stop());
    clock.uninstall();
  }
});
