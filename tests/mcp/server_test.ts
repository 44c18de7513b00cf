/**
 * The MCP surface around the tools: the tool list (titles, annotations, bounds), error results
 * with their hints, resources and throttled subscriptions, log messages for safety events,
 * progress and cancellation of moves, and the server's clean-up on close.
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/types"
import {
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { INSTRUCTIONS, TOOL_GROUPS, TOOL_NAMES } from "../../src/mcp/server.ts";
import { RESOURCE_URIS } from "../../src/mcp/resources.ts";
import { APPS } from "../../src/mcp/apps.ts";
import { makeMcpRig, receivedNames } from "./_rig.ts";

type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  enum?: unknown[];
  items?: JsonSchema;
  additionalProperties?: boolean;
};

const READ_ONLY = new Set<string>([
  "get_connection_status",
  "get_sensor_data",
  "get_telemetry",
  "show_dashboard",
  "get_ambient_light",
  "get_color_detection",
  "get_battery_status",
  "get_motor_temperatures",
  "get_encoder_counts",
  "get_magnetometer",
  "get_ir_readings",
  "get_system_info",
  "get_safety_status",
  "get_motor_fault_state",
]);
const DESTRUCTIVE = new Set<string>([
  "drive_with_heading",
  "drive_tank",
  "drive_rc",
  "drive_raw_motors",
  "drive_to_position",
  "drive_forward",
  "drive_backward",
  "pivot",
  "reset_yaw",
  "reset_locator",
  "calibrate_magnetometer",
  "start_ir_following",
  "start_ir_evading",
]);

Deno.test("server: every tool listed with title, description, annotations, bounds and output schema", async () => {
  const rig = await makeMcpRig();
  try {
    assert.equal(rig.client.getInstructions(), INSTRUCTIONS);
    assert.match(INSTRUCTIONS, /0 forward, 90 right|0 = forward/);
    assert.match(INSTRUCTIONS, /simulated_robot: true .*tell the person/);
    const caps = rig.client.getServerCapabilities();
    assert.deepEqual(caps?.logging, {});
    assert.equal(caps?.resources?.subscribe, true);
    assert.equal(rig.client.getServerVersion()?.version, "0.0.0-test");

    const { tools } = await rig.settle(rig.client.listTools());
    assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
    // The catalog's 43 and show_dashboard (apps.ts).
    assert.equal(TOOL_NAMES.length, 44);
    assert.equal(Object.values(TOOL_GROUPS).flat().length, 43);
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const tool of tools) {
      assert.ok(tool.title && tool.title.length > 3, `${tool.name} has a title`);
      assert.ok((tool.description ?? "").length >= 60, `${tool.name} has a usable description`);
      const a = tool.annotations;
      assert.ok(a, `${tool.name} has annotations`);
      assert.equal(a.title, tool.title);
      assert.equal(a.openWorldHint, false, tool.name);
      assert.equal(a.readOnlyHint, READ_ONLY.has(tool.name), `${tool.name} readOnlyHint`);
      assert.equal(a.destructiveHint, DESTRUCTIVE.has(tool.name), `${tool.name} destructiveHint`);
      assert.equal(typeof a.idempotentHint, "boolean", `${tool.name} idempotentHint`);
      if (a.readOnlyHint) assert.equal(a.idempotentHint, true, `${tool.name} reads are idempotent`);
      assert.equal(tool.inputSchema.type, "object");
      assert.equal(
        (tool.inputSchema as JsonSchema).additionalProperties,
        false,
        `${tool.name} refuses unknown arguments`,
      );
      assert.equal(tool.outputSchema?.type, "object", `${tool.name} has an output schema`);
      for (const [arg, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
        assert.match(arg, /^[a-z]+(_[a-z]+)*$/, `${tool.name}.${arg} is snake_case`);
        const s = schema as JsonSchema & { description?: string };
        assert.ok((s.description ?? "").length > 5, `${tool.name}.${arg} is described`);
        if ((s.type === "number" || s.type === "integer") && s.enum === undefined) {
          assert.ok(
            (s.minimum ?? s.exclusiveMinimum) !== undefined &&
              (s.maximum ?? s.exclusiveMaximum) !== undefined,
            `${tool.name}.${arg} is bounded: ${JSON.stringify(s)}`,
          );
        }
      }
    }
    const prop = (tool: string, arg: string) =>
      (byName.get(tool)?.inputSchema.properties ?? {})[arg] as JsonSchema;
    assert.deepEqual(
      [prop("drive_with_heading", "speed").minimum, prop("drive_with_heading", "speed").maximum],
      [0, 255],
    );
    assert.equal(prop("drive_with_heading", "speed").type, "integer");
    assert.deepEqual(
      [
        prop("drive_with_heading", "heading").minimum,
        prop("drive_with_heading", "heading").maximum,
      ],
      [0, 359],
    );
    assert.deepEqual(byName.get("drive_with_heading")?.inputSchema.required?.sort(), [
      "heading",
      "speed",
    ]);
    assert.deepEqual([
      prop("send_ir_message", "code").minimum,
      prop("send_ir_message", "code").maximum,
    ], [0, 7]);
    assert.deepEqual(
      [prop("send_ir_message", "strength").minimum, prop("send_ir_message", "strength").maximum],
      [0, 64],
    );
    assert.deepEqual([
      prop("start_ir_following", "far_code").maximum,
      prop("start_ir_evading", "near_code").maximum,
    ], [7, 7]);
    assert.equal(prop("start_sensor_streaming", "interval_ms").minimum, 33);
    assert.equal(prop("start_sensor_streaming", "sensors").minItems, 1);
    assert.ok(prop("start_sensor_streaming", "sensors").items?.enum?.includes("locator"));
    assert.deepEqual([
      prop("set_speed_limit", "percent").minimum,
      prop("set_speed_limit", "percent").maximum,
    ], [0, 100]);
    assert.equal(prop("set_command_timeout", "seconds").minimum, 0);
    assert.equal(prop("drive_tank", "left_velocity").maximum, 1.555);
    assert.equal(prop("drive_rc", "yaw_rate").minimum, -624);
    assert.equal(prop("drive_forward", "distance").exclusiveMinimum, 0);
    assert.deepEqual(prop("drive_raw_motors", "left_mode").enum, ["off", "forward", "reverse"]);
    const leds = prop("set_led", "led").enum as string[];
    for (
      const group of [
        "headlights",
        "status_indication_lights",
        "battery_door_lights",
        "power_button_lights",
        "brake_lights",
        "undercarriage_white",
        "left_headlight",
        "right_brake_light",
      ]
    ) {
      assert.ok(leds.includes(group), `set_led covers ${group}`);
    }
    assert.deepEqual(prop("connect", "baud").enum?.includes(115200), true);
  } finally {
    await rig.close();
  }
});

Deno.test("server: error results name the cause and the way out", async (t) => {
  const rig = await makeMcpRig();
  try {
    await t.step("bad arguments are refused by the schema, nothing is sent", async () => {
      const before = rig.wire.events.length;
      for (
        const args of [
          { speed: 256, heading: 0 },
          { speed: 10, heading: 360 },
          { speed: 1.5, heading: 0 },
          { speed: 10 },
          { speed: 10, heading: 0, headng: 5 },
        ]
      ) {
        const text = await rig.fails("drive_with_heading", args);
        assert.match(text, /Input validation error/, JSON.stringify(args));
      }
      assert.match(await rig.fails("send_ir_message", { code: 8, strength: 10 }), /code/);
      assert.match(
        await rig.fails("start_sensor_streaming", { sensors: ["imu"], interval_ms: 20 }),
        /interval_ms/,
      );
      assert.match(
        await rig.fails("set_led", { led: "fog_light", red: 1, green: 1, blue: 1 }),
        /led/,
      );
      assert.deepEqual(receivedNames(rig.wire, before), [], "nothing reached the robot");
    });

    await t.step("movement while the e-stop is latched", async () => {
      await rig.ok("emergency_stop");
      const before = rig.wire.events.length;
      for (
        const [tool, args] of [
          ["drive_with_heading", { speed: 50, heading: 0 }],
          ["drive_tank", { left_velocity: 0.2, right_velocity: 0.2 }],
          ["drive_forward", { distance: 0.5 }],
          ["pivot", { degrees: 90 }],
          ["start_ir_following", { far_code: 1, near_code: 2 }],
          ["calibrate_magnetometer", {}],
        ] as const
      ) {
        const text = await rig.fails(tool, args);
        assert.match(
          text,
          /^emergency stop is active: call clear_emergency_stop first/,
          `${tool}: ${text}`,
        );
      }
      assert.deepEqual(
        receivedNames(rig.wire, before).filter((n) =>
          !n.startsWith("configure_") && !n.includes("streaming")
        ),
        [],
        "no movement reached the robot",
      );
      // Reads and stops still work.
      await rig.ok("get_battery_status");
      await rig.ok("stop");
      await rig.ok("clear_emergency_stop");
      await rig.ok("drive_with_heading", { speed: 50, heading: 0 });
      await rig.ok("stop");
    });

    await t.step("a refused command carries the correlation id and error name", async () => {
      const r = await rig.call("drive_with_heading", { speed: 1, heading: 1 });
      assert.ok(!r.isError);
      assert.match(String(r._meta?.["rvr-mcp/correlation_id"]), /^drive_with_heading-/);
      await rig.ok("emergency_stop");
      const refused = await rig.call("drive_rc", { linear_velocity: 0.1, yaw_rate: 0 });
      assert.equal(refused._meta?.["rvr-mcp/error"], "EmergencyStopActiveError");
      await rig.ok("clear_emergency_stop");
    });

    await t.step(
      "the robot stops answering: circuit open, with the time to the next probe",
      async () => {
        rig.sim.faults.silentAfterPackets = rig.sim.stats.packetsIn;
        for (let i = 0; i < 3; i++) {
          assert.match(
            await rig.fails("get_ambient_light"),
            /^the robot did not answer get_ambient_light_sensor_value in time/,
          );
        }
        const text = await rig.fails("get_ambient_light");
        assert.match(text, /^the robot stopped answering; next probe in \d+ s/);
        rig.sim.faults.silentAfterPackets = null;
      },
    );

    await t.step("not connected: call connect", async () => {
      await rig.ok("disconnect");
      for (const tool of ["get_ambient_light", "drive_with_heading", "get_color_detection"]) {
        const args = tool === "drive_with_heading" ? { speed: 10, heading: 0 } : {};
        assert.match(await rig.fails(tool, args), /^not connected: call connect/, tool);
      }
      // The e-stop works without a link: the latch holds.
      const estop = await rig.ok("emergency_stop");
      assert.equal(estop.sent, false);
      assert.equal(rig.runtime.safety.estopLatched, true);
      await rig.ok("clear_emergency_stop");
    });
  } finally {
    await rig.close();
  }
});

Deno.test("server: resources read, subscribe, throttled updates, unsubscribe", async () => {
  const rig = await makeMcpRig({ server: { updateWindowMs: 100 } });
  try {
    const { resources } = await rig.settle(rig.client.listResources());
    assert.deepEqual(
      resources.map((r) => r.uri).sort(),
      [...Object.values(RESOURCE_URIS), ...APPS.map((a) => a.uri)].sort(),
    );

    const read = async (uri: string) => {
      const r = await rig.settle(rig.client.readResource({ uri }));
      const c = r.contents[0] as { uri: string; mimeType: string; text: string };
      assert.equal(c.uri, uri);
      assert.equal(c.mimeType, "application/json");
      return JSON.parse(c.text);
    };
    const status = await read("rvr://status");
    assert.equal(status.connection.status, "connected");
    assert.equal(status.power.status, "awake");
    assert.equal(status.battery.percent, rig.sim.battery.percentage);
    assert.equal(status.safety.speed_limit_percent, 50);

    const updates: { uri: string; at: number }[] = [];
    rig.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push({ uri: n.params.uri, at: rig.clock.now });
    });
    await rig.settle(rig.client.subscribeResource({ uri: "rvr://status" }));
    await rig.settle(rig.client.subscribeResource({ uri: "rvr://events" }));
    await assert.rejects(
      rig.settle(rig.client.subscribeResource({ uri: "rvr://nothing" })),
      /Unknown resource rvr:\/\/nothing/,
    );

    // Four changes in quick succession: one update at once, one folded at the window's end.
    const t0 = rig.clock.now;
    for (const percent of [40, 41, 42, 43]) {
      await rig.ok("set_speed_limit", { percent });
    }
    assert.ok(rig.clock.now - t0 < 100, "all within one window");
    await rig.clock.tickAsync(300);
    const statusUpdates = updates.filter((u) => u.uri === "rvr://status");
    assert.equal(statusUpdates.length, 2, JSON.stringify(updates));
    assert.ok(statusUpdates[1].at - statusUpdates[0].at >= 100, "at least one window apart");
    assert.equal(updates.filter((u) => u.uri === "rvr://events").length, 2);
    assert.equal(updates.filter((u) => u.uri === "rvr://sensors").length, 0, "not subscribed");
    assert.equal((await read("rvr://status")).safety.speed_limit_percent, 43);

    const events = await read("rvr://events");
    const settings = events.events.filter((e: { kind: string }) => e.kind === "setting");
    assert.equal(settings.length, 4);
    assert.equal(settings.at(-1).detail, "Speed limit set to 43 % (was 42 %).");

    // An e-stop shows up in rvr://events and updates rvr://status.
    updates.length = 0;
    await rig.ok("emergency_stop");
    await rig.clock.tickAsync(300);
    assert.ok(updates.some((u) => u.uri === "rvr://status"));
    const after = await read("rvr://events");
    assert.ok(
      after.events.some((e: { kind: string; name: string }) =>
        e.kind === "safety" && e.name === "estop"
      ),
    );
    assert.equal((await read("rvr://status")).safety.estop.latched, true);
    await rig.ok("clear_emergency_stop");

    // Sensors: every decoded sample is a change of rvr://sensors (throttled to the window).
    await rig.settle(rig.client.subscribeResource({ uri: "rvr://sensors" }));
    updates.length = 0;
    await rig.ok("start_sensor_streaming", { sensors: ["locator"], interval_ms: 33 });
    await rig.clock.tickAsync(1000);
    const sensorUpdates = updates.filter((u) => u.uri === "rvr://sensors");
    assert.ok(
      sensorUpdates.length >= 5 && sensorUpdates.length <= 11,
      `${sensorUpdates.length} in 1 s`,
    );
    for (let i = 1; i < sensorUpdates.length; i++) {
      assert.ok(sensorUpdates[i].at - sensorUpdates[i - 1].at >= 100, "one per 100 ms at most");
    }
    const sensors = await read("rvr://sensors");
    assert.equal(sensors.streaming, true);
    assert.equal(sensors.readings[0].sensor, "locator");
    assert.ok(sensors.readings[0].age_ms <= 40);

    await rig.settle(rig.client.unsubscribeResource({ uri: "rvr://sensors" }));
    await rig.clock.tickAsync(150);
    updates.length = 0;
    await rig.clock.tickAsync(500);
    assert.equal(updates.filter((u) => u.uri === "rvr://sensors").length, 0, "unsubscribed");
    await rig.ok("stop_sensor_streaming");
  } finally {
    await rig.close();
  }
});

Deno.test("server: e-stop, stall and motor fault reach the client as log messages", async () => {
  const rig = await makeMcpRig();
  try {
    const messages: { level: string; logger?: string; data: Record<string, unknown> }[] = [];
    rig.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      messages.push(n.params as (typeof messages)[number]);
    });

    await rig.ok("emergency_stop");
    await rig.clock.tickAsync(10);
    const estop = messages.find((m) => m.data.event === "estop");
    assert.ok(estop, JSON.stringify(messages));
    assert.equal(estop.level, "warning");
    assert.equal(estop.logger, "rvr.safety");
    assert.match(String(estop.data.message), /clear_emergency_stop/);
    await rig.ok("clear_emergency_stop");
    assert.ok(messages.some((m) => m.data.event === "estop_cleared" && m.level === "notice"));

    rig.sim.body.setTreadBlocked("left", true);
    await rig.ok("drive_with_heading", { speed: 80, heading: 0 });
    await rig.clock.tickAsync(600);
    const stall = messages.find((m) => m.data.event === "stall");
    assert.ok(stall, JSON.stringify(messages.map((m) => m.data.event)));
    assert.equal(stall.level, "warning");
    assert.match(String(stall.data.message), /left motor stalled/);
    assert.ok(rig.wire.received("drive_stop").length > 0, "the stall stopped the robot");
    rig.sim.body.setTreadBlocked("left", false);

    rig.sim.setMotorFault(true);
    await rig.clock.tickAsync(50);
    const fault = messages.find((m) => m.data.event === "motor_fault");
    assert.equal(fault?.level, "error");

    // Battery low (a robot notification) and a thermal warning (a safety event) from the bus.
    rig.runtime.bus.publish("robot.notification", {
      name: "battery_voltage_state_change_notify",
      node: 1,
      values: { state: 2 },
      at: Date.now(),
    });
    rig.runtime.safety.report("thermal", "Motor thermal protection status: left warn 72.0 C.", {
      left: { temperatureC: 72, status: 1 },
      right: { temperatureC: 40, status: 0 },
    });
    await rig.clock.tickAsync(10);
    const low = messages.find((m) => m.data.event === "battery_low");
    assert.equal(low?.level, "warning");
    assert.equal(low?.logger, "rvr.robot");
    const thermal = messages.find((m) => m.data.event === "thermal");
    assert.equal(thermal?.level, "warning");
    assert.match(String(thermal?.data.message), /left warn/);

    // The client's level filter applies.
    await rig.settle(rig.client.setLoggingLevel("error"));
    const count = messages.length;
    await rig.ok("emergency_stop");
    await rig.clock.tickAsync(10);
    assert.equal(messages.length, count, "a warning is below the client's level");
    await rig.ok("clear_emergency_stop");
  } finally {
    await rig.close();
  }
});

Deno.test("server: a move reports progress and cancelling it stops the robot", async () => {
  const rig = await makeMcpRig({ settings: { maxSpeedPercent: 100 } });
  try {
    const progress: { progress: number; total?: number; message?: string }[] = [];
    const done = rig.settle(rig.client.callTool(
      { name: "drive_forward", arguments: { distance: 0.6, speed: 0.3 } },
      undefined,
      { onprogress: (p) => progress.push(p) },
    ));
    const result = await done;
    assert.ok(!result.isError, JSON.stringify(result.content));
    assert.ok(progress.length >= 3, `${progress.length} progress notifications`);
    for (let i = 1; i < progress.length; i++) {
      assert.ok(progress[i].progress > progress[i - 1].progress, "progress increases");
    }
    assert.ok(progress.every((p) => Math.abs((p.total ?? 0) - 0.6) < 0.01), "total = 0.6 m");
    assert.ok((progress.at(-1)?.progress ?? 0) > 0.4);

    // Without a progressToken no progress is sent (and the move still works).
    const quiet = await rig.call("pivot", { degrees: 45 });
    assert.ok(!quiet.isError);

    const stopsBefore = rig.wire.received("drive_stop").length;
    const xyBefore = rig.wire.received("drive_to_position_si").length;
    const controller = new AbortController();
    const cancelled = rig.client.callTool(
      { name: "drive_to_position", arguments: { x: 0, y: 3, speed: 0.3 } },
      undefined,
      { signal: controller.signal },
    );
    cancelled.catch(() => {}); // settled below
    await rig.clock.tickAsync(1500);
    assert.equal(rig.wire.received("drive_to_position_si").length, xyBefore + 1, "it started");
    assert.ok(rig.sim.body.speedMps > 0.1, "moving");
    controller.abort("user changed their mind");
    await assert.rejects(rig.settle(cancelled), /user changed their mind|abort/i);
    await rig.clock.tickAsync(100);
    const names = receivedNames(rig.wire);
    assert.ok(
      names.lastIndexOf("drive_stop") > names.lastIndexOf("drive_to_position_si"),
      "drive_stop after the position drive",
    );
    assert.equal(rig.wire.received("drive_stop").length, stopsBefore + 1);
    await rig.clock.tickAsync(1500);
    assert.equal(rig.sim.body.speedMps, 0, "the robot stopped");
    // Cancelling a magnetometer calibration stops the robot too.
    const calibration = new AbortController();
    const calibrating = rig.client.callTool(
      { name: "calibrate_magnetometer", arguments: {} },
      undefined,
      { signal: calibration.signal },
    );
    calibrating.catch(() => {}); // settled below
    await rig.clock.tickAsync(1000);
    assert.equal(rig.sim.body.activeControllerId, 9, "calibrating (controller 9)");
    const stops = rig.wire.received("drive_stop").length;
    calibration.abort("enough");
    await assert.rejects(rig.settle(calibrating), /enough|abort/i);
    await rig.clock.tickAsync(100);
    assert.equal(rig.wire.received("drive_stop").length, stops + 1);
    await rig.clock.tickAsync(1500);
    assert.equal(rig.sim.body.activeControllerId, 0, "stop controller");
    // The server is still fine.
    await rig.ok("get_safety_status");
  } finally {
    await rig.close();
  }
});

Deno.test("server: close releases its bus subscriptions", async () => {
  const rig = await makeMcpRig();
  try {
    const before = rig.runtime.bus.stats.subscribers;
    await rig.settle(rig.server.close());
    const after = rig.runtime.bus.stats.subscribers;
    assert.ok(before - after >= 3, `subscribers ${before} -> ${after}`);
  } finally {
    await rig.close();
  }
});
