/**
 * SensorStreams against the simulated robot (fake timers): slot allocation, the set-up sequence
 * on the wire, decoded values against the simulator's body, restart, stop, reconnect, TTL, drops,
 * metrics, bus, and holds for moves.
 */
import assert from "node:assert/strict";
import { resetSync } from "@logtape/logtape";
import {
  buildNotification,
  decodeSlotData,
  encodePacket,
  MAX_SERVICES_PER_SLOT,
  MAX_TOKENS,
  type NodeId,
  sdkSendingSlot,
  serviceByKey,
  streamSlotOf,
} from "../../src/protocol/mod.ts";
import { NotConnectedError, StreamConfigurationError } from "../../src/robot/mod.ts";
import { Runtime } from "../../src/robot/runtime.ts";
import {
  allocateSlots,
  MAX_SLOT_DATA_BYTES,
  type SensorName,
  type SensorReading,
  SENSORS,
  SensorStreams,
} from "../../src/robot/sensors/mod.ts";
import { ErrorCode } from "../../src/protocol/mod.ts";
import { makeRig, type Rig, type RigOptions } from "./_harness.ts";
import {
  captureLogs,
  type FakeClock,
  fakeClock,
  keepAliveSimOpener,
  metricValue,
  paramsOf,
  settleErrorWith,
  settleWith,
  testSettings,
  WireTap,
} from "../_helpers/mod.ts";

interface Env {
  rig: Rig;
  clock: FakeClock;
  streams: SensorStreams;
}

async function withStreams(
  options: RigOptions & { cacheTtlMs?: number; defaultIntervalMs?: number },
  fn: (env: Env) => Promise<void>,
): Promise<void> {
  const clock = fakeClock();
  const rig = makeRig({ commandTimeoutS: 0, ...options });
  const streams = new SensorStreams({
    links: rig.links,
    rvr: rig.rvr,
    bus: rig.bus,
    metrics: rig.metrics,
    cacheTtlMs: options.cacheTtlMs ?? 1000,
    defaultIntervalMs: options.defaultIntervalMs ?? 100,
  });
  try {
    if (options.connect ?? true) {
      const report = await rig.rvr.ready();
      assert.ok(report.ok, report.failures.join("; "));
    }
    await clock.tickAsync(0);
    rig.wire.clear();
    await fn({ rig, clock, streams });
  } finally {
    try {
      streams.dispose();
      await rig.close();
    } finally {
      clock.uninstall();
    }
  }
}

/** Names of the streaming commands the robot received, with their node. */
function streamingCommands(wire: WireTap): string[] {
  return wire.received().filter((e) => e.name.endsWith("_streaming_service")).map((e) =>
    `${e.name}@${(e.packet.target ?? 0) & 0x0f}`
  );
}

/** Sends a streaming_service_data_notify from the robot's side of the wire. */
async function injectData(
  rig: Rig,
  clock: FakeClock,
  node: NodeId,
  tokenByte: number,
  data: number[],
): Promise<void> {
  await rig.wire.write(encodePacket(
    buildNotification(
      "streaming_service_data_notify",
      { token: tokenByte, sensor_data: data },
      node,
    ),
  ));
  await clock.tickAsync(0);
}

Deno.test("allocateSlots: every sensor in the SDKs' slot at the SDKs' size, for every subset", () => {
  const all = allocateSlots([...SENSORS]);
  const view = all.map((s) => ({
    node: s.node,
    token: s.token,
    services: s.entries.map((e) => `${e.service.key}/${e.bytes * 8}`),
    bytes: s.bytes,
  }));
  // The Python SDK's sensor_streaming_control.py layout, core time as the Node SDK's
  // sensor-control.ts has it (tests/protocol/stream_slots_test.ts pins both tables).
  assert.deepEqual(view, [
    { node: 1, token: 1, services: ["color_detection/8"], bytes: 5 },
    {
      node: 1,
      token: 2,
      services: ["core_time_lower/32", "core_time_upper/32", "ambient_light/32"],
      bytes: 12,
    },
    {
      node: 2,
      token: 1,
      services: ["quaternion/32", "imu/32", "accelerometer/32", "gyroscope/32"],
      bytes: 52,
    },
    {
      node: 2,
      token: 2,
      services: ["locator/32", "velocity/32", "speed/32", "encoders/32"],
      bytes: 28,
    },
  ]);
  // Every one of the 2^11 subsets: each sensor exactly once, every service in its STREAM_SLOTS
  // row, within the limits, a layout an official SDK sends unless it mixes ambient light with
  // core time (the one combination no SDK sends).
  for (let mask = 1; mask < 1 << SENSORS.length; mask++) {
    const subset = SENSORS.filter((_, i) => mask & (1 << i));
    const slots = allocateSlots(subset);
    const placed: SensorName[] = slots.flatMap((s) => [...s.sensors]);
    assert.deepEqual([...placed].sort(), [...subset].sort());
    for (const s of slots) {
      assert.ok(s.token >= 1 && s.token <= MAX_TOKENS);
      assert.ok(s.entries.length <= MAX_SERVICES_PER_SLOT && s.entries.length * 3 <= 15);
      assert.ok(s.bytes <= MAX_SLOT_DATA_BYTES);
      for (const e of s.entries) {
        const row = streamSlotOf(e.service.id);
        assert.deepEqual([row?.node, row?.token, row?.bytes], [s.node, s.token, e.bytes]);
      }
      const mixed = s.sensors.includes("ambient_light") && s.sensors.includes("core_time");
      assert.equal(
        sdkSendingSlot(s.node, s.token, s.entries) === undefined,
        mixed,
        `${s.sensors.join("+")} in node ${s.node} token ${s.token}`,
      );
    }
    for (const node of [1, 2]) {
      const tokens = slots.filter((s) => s.node === node).map((s) => s.token);
      assert.deepEqual(tokens, [...tokens].sort((x, y) => x - y), "ascending tokens");
      assert.equal(new Set(tokens).size, tokens.length);
    }
  }
});

Deno.test("decodeSlotData (the decoder SensorStreams uses): raw integers exact, two's complement encoders, core time words, length checked", () => {
  const enc = [{ service: serviceByKey("encoders"), bytes: 4 as const }];
  const data = [0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x30, 0x39];
  const d = decodeSlotData(enc, data);
  assert.deepEqual(d.encoders, { LeftTicks: 0xfffffffe, RightTicks: 12345 });
  assert.equal(d.encoders.LeftTicks | 0, -2);
  const color = [{ service: serviceByKey("color_detection"), bytes: 1 as const }];
  for (let v = 0; v < 256; v++) {
    const c = decodeSlotData(color, [v, v, v, v, 255]).color_detection;
    assert.deepEqual([c.R, c.G, c.B, c.Index, c.Confidence], [v, v, v, v, 1]);
  }
  const locator = [{ service: serviceByKey("locator"), bytes: 4 as const }];
  // Golden bytes worked out by hand from section 10.4 (min + r / (2^32 - 1) * (max - min), locator
  // X and Y in -16000..16000 m), not with the encoder under test: r = round((v + 16000) / 32000 *
  // (2^32 - 1)) is 0x80028744 for X = 1.234567 and 0x7ffef9db for Y = -0.5.
  const loc = decodeSlotData(locator, [0x80, 0x02, 0x87, 0x44, 0x7f, 0xfe, 0xf9, 0xdb]).locator;
  assert.ok(Math.abs(loc.X - 1.234567) < 1e-5 && Math.abs(loc.Y + 0.5) < 1e-5, JSON.stringify(loc));
  // The ends of the range are exact: all ones is max, all zeros is min.
  assert.deepEqual(decodeSlotData(locator, [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).locator, {
    X: 16000,
    Y: -16000,
  });
  assert.throws(
    () => decodeSlotData(locator, [1, 2, 3]),
    (e) => e instanceof RangeError && /3 bytes.*Locator\/32-bit.*produces 8/.test(e.message),
  );
});

Deno.test("start: all 11 sensors, the set-up sequence on the wire, and the simulator's slots", async () => {
  await withStreams({}, async ({ rig, clock, streams }) => {
    const status = await settleWith(clock, streams.start([...SENSORS], { intervalMs: 100 }));
    assert.equal(status.active, true);
    assert.deepEqual(status.sensors, [...SENSORS]);
    assert.equal(status.intervalMs, 100);
    assert.equal(status.slots.length, 4);
    assert.deepEqual(streamingCommands(rig.wire), [
      "clear_streaming_service@1",
      "clear_streaming_service@2",
      "configure_streaming_service@1",
      "configure_streaming_service@1",
      "configure_streaming_service@2",
      "configure_streaming_service@2",
      "start_streaming_service@1",
      "start_streaming_service@2",
    ]);
    // The configure payloads, byte for byte: token, then (service id, size code) per service.
    assert.deepEqual(
      rig.wire.received("configure_streaming_service").map((e) => {
        const p = paramsOf("configure_streaming_service", e);
        return [(e.packet.target ?? 0) & 0x0f, p.token, ...p.configuration];
      }),
      [
        [1, 1, 0x00, 0x03, 0],
        [1, 2, 0x00, 0x05, 2, 0x00, 0x09, 2, 0x00, 0x0a, 2],
        [2, 1, 0x00, 0x00, 2, 0x00, 0x01, 2, 0x00, 0x02, 2, 0x00, 0x04, 2],
        [2, 2, 0x00, 0x06, 2, 0x00, 0x07, 2, 0x00, 0x08, 2, 0x00, 0x0b, 2],
      ],
    );
    const starts = rig.wire.received("start_streaming_service");
    for (const e of starts) assert.equal(paramsOf("start_streaming_service", e).period, 100);
    // The robot holds exactly the plan, in configuration order.
    for (const slot of status.slots) {
      const entries = rig.sim.streamingSlots(slot.node).get(slot.token);
      assert.deepEqual(entries?.map((e) => e.service.key), slot.services);
    }
    assert.ok(rig.sim.isStreaming(1) && rig.sim.isStreaming(2));
    await clock.tickAsync(350);
    const latest = streams.latest();
    assert.deepEqual(latest.map((s) => s.sensor), [...SENSORS]);
    for (const s of latest) {
      assert.equal(s.valid, true);
      assert.equal(s.stale, false);
      assert.ok(s.ageMs < 100, `${s.sensor} age ${s.ageMs}`);
    }
    const keys = Object.fromEntries(latest.map((s) => [s.sensor, Object.keys(s.values)]));
    assert.deepEqual(keys, {
      quaternion: ["w", "x", "y", "z"],
      imu: ["pitch_deg", "roll_deg", "yaw_deg"],
      accelerometer: ["x_g", "y_g", "z_g"],
      gyroscope: ["x_dps", "y_dps", "z_dps"],
      locator: ["x_m", "y_m"],
      velocity: ["x_mps", "y_mps"],
      speed: ["speed_mps"],
      encoders: ["left_ticks", "right_ticks"],
      color_detection: ["r", "g", "b", "index", "confidence"],
      ambient_light: ["lux"],
      core_time: ["time_ms"],
    });
  });
});

Deno.test("ambient light with core time: the one layout no SDK sends, logged by both sides, streams", async () => {
  const records = captureLogs(["rvr"]);
  try {
    await withStreams({}, async ({ rig, clock, streams }) => {
      const neverSeen = (category: string) =>
        records.filter((r) =>
          r.level === "warning" && r.category.join(".") === category &&
          /never seen on real firmware/.test(r.message.join(""))
        );
      await settleWith(clock, streams.start(["ambient_light", "locator"], { intervalMs: 100 }));
      assert.deepEqual([...neverSeen("rvr.robot.sensors"), ...neverSeen("rvr.sim")], []);
      await settleWith(clock, streams.start(["ambient_light", "core_time"], { intervalMs: 100 }));
      assert.deepEqual(neverSeen("rvr.robot.sensors").map((r) => r.properties), [
        { node: 1, token: 2, services: ["core_time_lower", "core_time_upper", "ambient_light"] },
      ]);
      assert.equal(neverSeen("rvr.sim").length, 1);
      assert.deepEqual(
        rig.sim.streamingSlots(1).get(2)?.map((e) => e.service.key),
        ["core_time_lower", "core_time_upper", "ambient_light"],
        "accepted",
      );
      await clock.tickAsync(250);
      assert.deepEqual(streams.latest().map((s) => s.sensor), ["ambient_light", "core_time"]);
    });
  } finally {
    resetSync();
  }
});

Deno.test("decoded values match the simulator's body after driving (32-bit precision)", async () => {
  await withStreams({ speedLimitPercent: 100 }, async ({ rig, clock, streams }) => {
    await settleWith(clock, streams.start([...SENSORS], { intervalMs: 50 }));
    // Drive an arc, then backwards, then stop and let the robot settle.
    await settleWith(clock, rig.rvr.driveTankSi({ leftMps: 0.3, rightMps: 0.5 }));
    await clock.tickAsync(1500);
    const [moving] = streams.latest(["speed"]);
    assert.ok(Math.abs(moving.values.speed_mps - 0.4) < 1e-6, JSON.stringify(moving));
    await settleWith(clock, rig.rvr.driveTankSi({ leftMps: -0.6, rightMps: -0.6 }));
    await clock.tickAsync(2000);
    await settleWith(clock, rig.rvr.stop());
    await clock.tickAsync(1000);
    const body = rig.sim.body;
    const by = Object.fromEntries(streams.latest().map((s) => [s.sensor, s.values]));
    const near = (a: number, b: number, tol: number, what: string) =>
      assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
    near(by.locator.x_m, body.pose.x, 1e-5, "locator x");
    near(by.locator.y_m, body.pose.y, 1e-5, "locator y");
    assert.ok(Math.hypot(body.pose.x, body.pose.y) > 0.2, "the robot moved");
    near(by.imu.yaw_deg, body.pose.yawDeg, 1e-6, "yaw");
    assert.ok(Math.abs(body.pose.yawDeg) > 20, "the robot turned");
    near(by.imu.pitch_deg, body.imu.pitchDeg, 1e-3, "pitch (still settling)");
    near(by.accelerometer.z_g, body.accelerometer.z, 1e-6, "accel z");
    near(by.gyroscope.z_dps, 0, 1e-5, "gyro z at rest");
    const q = body.quaternion;
    near(by.quaternion.w, q.w, 1e-8, "q.w");
    near(by.quaternion.z, q.z, 1e-8, "q.z");
    // Backwards more than forwards: the encoders are negative, decoded as signed i32.
    assert.ok(body.encoders.left < 0 && body.encoders.right < 0, JSON.stringify(body.encoders));
    assert.deepEqual(by.encoders, {
      left_ticks: body.encoders.left,
      right_ticks: body.encoders.right,
    });
    near(by.speed.speed_mps, 0, 1e-6, "speed");
    near(by.ambient_light.lux, rig.sim.member.ambientLightLux(), 1e-3, "lux");
    near(by.core_time.time_ms, rig.sim.upTimeMs, 50, "core time");
    // Streaming color_detection switched the detector on: the colour under the robot.
    const under = rig.sim.member.colorUnder(rig.sim.activePalette);
    assert.deepEqual(
      [by.color_detection.r, by.color_detection.g, by.color_detection.b, by.color_detection.index],
      [under.r, under.g, under.b, under.classificationId],
    );
  });
});

Deno.test("restarting with other sensors reconfigures cleanly: clear, configure, start", async () => {
  await withStreams({}, async ({ rig, clock, streams }) => {
    await settleWith(clock, streams.start(["imu", "locator", "encoders"], { intervalMs: 100 }));
    await clock.tickAsync(250);
    rig.wire.clear();
    const status = await settleWith(
      clock,
      streams.start(["ambient_light", "gyroscope"], { intervalMs: 200 }),
    );
    assert.deepEqual(streamingCommands(rig.wire), [
      "clear_streaming_service@1",
      "clear_streaming_service@2",
      "configure_streaming_service@1",
      "configure_streaming_service@2",
      "start_streaming_service@1",
      "start_streaming_service@2",
    ]);
    assert.deepEqual(status.sensors, ["gyroscope", "ambient_light"]);
    assert.deepEqual(
      [...rig.sim.streamingSlots(2).values()].map((e) => e.map((x) => x.service.key)),
      [["gyroscope"]],
    );
    assert.deepEqual(
      [...rig.sim.streamingSlots(1).values()].map((e) => e.map((x) => x.service.key)),
      [["ambient_light"]],
    );
    const seen: SensorName[] = [];
    const off = streams.onReading((r) => seen.push(r.sensor));
    await clock.tickAsync(650);
    off();
    assert.deepEqual([...new Set(seen)].sort(), ["ambient_light", "gyroscope"]);
    assert.equal(seen.length, 6, "3 periods of 200 ms, one reading per sensor");
    assert.deepEqual(streams.latest().map((s) => s.sensor), ["gyroscope", "ambient_light"]);
    // Nothing was dropped across the switch: the old layout was never decoded as the new one.
    assert.equal(await metricValue(rig.metrics, "rvr_sensor_drops_total", {}), 0);
  });
});

Deno.test("data the robot sent before acknowledging the clear is decoded with the old layout", async () => {
  await withStreams({}, async ({ rig, clock, streams }) => {
    // Old ST token 2: locator (8 bytes) + encoders (8); new ST token 2: speed (4).
    await settleWith(clock, streams.start(["imu", "locator", "encoders"], { intervalMs: 1000 }));
    const oldLayout = [...new Array(8).fill(0x80), 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xf9];
    assert.deepEqual(streams.status().slots[1], {
      node: 2,
      token: 2,
      services: ["locator", "encoders"],
      bytes: oldLayout.length,
    });
    const seen: SensorReading[] = [];
    streams.onReading((r) => seen.push(r));
    rig.sim.faults.replyDelayMs = 150;
    const restart = streams.start(["speed"], { intervalMs: 1000 });
    rig.wire.clear();
    while (rig.wire.received("clear_streaming_service").length < 2) await clock.tickAsync(10);
    // The ST's clear is still unanswered: this was on its way before the robot got it.
    await injectData(rig, clock, 2, 2, oldLayout);
    assert.deepEqual(seen.map((r) => r.sensor), ["locator", "encoders"]);
    assert.deepEqual(seen[1].values, { left_ticks: 7, right_ticks: -7 });
    await settleWith(clock, restart);
    rig.sim.faults.replyDelayMs = 0;
    // Now the same bytes no longer fit the (new) configuration.
    await injectData(rig, clock, 2, 2, oldLayout);
    assert.equal(seen.length, 2);
    assert.equal(
      await metricValue(rig.metrics, "rvr_sensor_drops_total", { reason: "undecodable" }),
      1,
    );
  });
});

Deno.test("colour detection follows the color_detection stream, and only what the streams switched on is switched off", async () => {
  const colorCommands = (rig: Rig) =>
    rig.wire.received("enable_color_detection").map((e) =>
      paramsOf("enable_color_detection", e).is_enabled
    );
  await withStreams({}, async ({ rig, clock, streams }) => {
    await settleWith(clock, streams.start(["imu", "color_detection"]));
    assert.deepEqual(colorCommands(rig), [true]);
    assert.equal(rig.sim.colorDetectionEnabled, true);
    // After the streaming set-up: the detector comes on once the slots are configured.
    const names = rig.wire.received().map((e) => e.name);
    assert.ok(
      names.lastIndexOf("start_streaming_service") < names.indexOf("enable_color_detection"),
      names.join(", "),
    );
    await clock.tickAsync(300);
    const [colour] = streams.latest(["color_detection"]);
    const under = rig.sim.member.colorUnder(rig.sim.activePalette);
    assert.equal(colour.values.index, under.classificationId, "a real reading, not index 255");

    // Restarted with the same sensors: sent again (start always reconfigures in full).
    await settleWith(clock, streams.start(["color_detection"]));
    assert.deepEqual(colorCommands(rig), [true, true]);
    // Without color_detection: switched off.
    await settleWith(clock, streams.start(["imu"]));
    assert.deepEqual(colorCommands(rig), [true, true, false]);
    assert.equal(rig.sim.colorDetectionEnabled, false);
    // Stopping streams that did not switch it on leaves the detector alone.
    await settleWith(clock, streams.stop());
    assert.deepEqual(colorCommands(rig), [true, true, false]);
    // Stopping streams that did: switched off.
    await settleWith(clock, streams.start(["color_detection"]));
    await settleWith(clock, streams.stop());
    assert.deepEqual(colorCommands(rig), [true, true, false, true, false]);
    assert.equal(rig.sim.colorDetectionEnabled, false);
  });
});

Deno.test("stop clears both nodes; no more samples; start/stop without a link", async () => {
  await withStreams({}, async ({ rig, clock, streams }) => {
    await settleWith(clock, streams.start(["imu", "color_detection"]));
    await clock.tickAsync(300);
    rig.wire.clear();
    const status = await settleWith(clock, streams.stop());
    assert.deepEqual(status, { active: false, sensors: [], intervalMs: null, slots: [] });
    assert.deepEqual(streamingCommands(rig.wire), [
      "clear_streaming_service@1",
      "clear_streaming_service@2",
    ]);
    assert.ok(!rig.sim.isStreaming(1) && !rig.sim.isStreaming(2));
    assert.equal(rig.sim.streamingSlots(2).size, 0);
    let n = 0;
    const off = streams.onReading(() => n++);
    await clock.tickAsync(500);
    off();
    assert.equal(n, 0);
    assert.deepEqual(streams.latest(), [], "nothing wanted: nothing listed");
    assert.equal(streams.latest(["imu"]).length, 1, "the cached reading is still there by name");
  });
  await withStreams({ connect: false }, async ({ rig, clock, streams }) => {
    const e = await settleErrorWith(clock, streams.start(["imu"]));
    assert.ok(e instanceof NotConnectedError, String(e));
    assert.equal(streams.status().active, false);
    assert.deepEqual(streams.status().sensors, [], "a failed start forgets the set");
    const stopped = await settleWith(clock, streams.stop());
    assert.equal(stopped.active, false);
    assert.equal(rig.wire.received().length, 0, "nothing sent without a link");
  });
});

Deno.test("bad arguments are refused at once, naming the value; nothing is sent", async () => {
  await withStreams({}, async ({ rig, clock, streams }) => {
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => streams.start(["imu"], { intervalMs: 32 }), /from 33 to 65535, got 32/],
      [() => streams.start(["imu"], { intervalMs: 65536 }), /got 65536/],
      [() => streams.start(["imu"], { intervalMs: 50.5 }), /whole number.*got 50.5/],
      [() => streams.start(["imu", "sonar" as SensorName]), /Unknown sensor "sonar".*locator/],
      [() => streams.start([]), /empty.*name at least one/],
      [() => streams.start("imu" as unknown as SensorName[]), /must be an array/],
      [() => streams.acquire(["imu"], { intervalMs: 10 }), /got 10/],
    ];
    for (const [call, pattern] of cases) {
      const e = await settleErrorWith(clock, call());
      assert.ok(e instanceof RangeError || e instanceof TypeError, String(e));
      assert.match((e as Error).message, pattern);
    }
    assert.throws(() => streams.latest(["nope" as SensorName]), /Unknown sensor "nope"/);
    assert.equal(streamingCommands(rig.wire).length, 0);
    assert.throws(
      () =>
        new SensorStreams({
          links: rig.links,
          rvr: rig.rvr,
          bus: rig.bus,
          metrics: rig.metrics,
          cacheTtlMs: 1000,
          defaultIntervalMs: 20,
        }),
      /defaultIntervalMs.*got 20/,
    );
    assert.throws(
      () =>
        new SensorStreams({
          links: rig.links,
          rvr: rig.rvr,
          bus: rig.bus,
          metrics: rig.metrics,
          cacheTtlMs: -1,
          defaultIntervalMs: 100,
        }),
      /cacheTtlMs must be a number of ms >= 0 \(RVR_SENSOR_CACHE_TTL\), got -1/,
    );
  });
});

Deno.test("cache: age and TTL make readings stale once the stream stops", async () => {
  await withStreams({ cacheTtlMs: 300 }, async ({ clock, streams }) => {
    await settleWith(clock, streams.start(["locator"], { intervalMs: 100 }));
    await clock.tickAsync(250);
    const [fresh] = streams.latest();
    assert.equal(fresh.stale, false);
    assert.ok(fresh.ageMs < 100);
    await settleWith(clock, streams.stop());
    await clock.tickAsync(200);
    const [aging] = streams.latest(["locator"]);
    assert.equal(aging.stale, false, `age ${aging.ageMs} is within the TTL`);
    await clock.tickAsync(200);
    const [stale] = streams.latest(["locator"]);
    assert.ok(stale.ageMs > 300);
    assert.equal(stale.stale, true);
    assert.deepEqual(stale.values, fresh.values, "the last values are kept");
  });
});

Deno.test("drops: an unconfigured token, a wrong length, invalid data; never throws", async () => {
  await withStreams({}, async ({ rig, clock, streams }) => {
    await settleWith(clock, streams.start(["locator", "ambient_light"], { intervalMs: 1000 }));
    const readings: SensorReading[] = [];
    streams.onReading((r) => readings.push(r));
    // Token 4 on node 2 and token 1 on node 1 were never configured; token 2 on node 2 holds
    // the locator (8 bytes).
    await injectData(rig, clock, 2, 4, [1, 2, 3, 4]);
    await injectData(rig, clock, 1, 1, [0, 0, 0, 0]);
    await injectData(rig, clock, 2, 2, [1, 2, 3]);
    const x = [0x80, 0x00, 0x00, 0x00];
    await injectData(rig, clock, 2, 0x12, [...x, ...x]);
    assert.equal(
      await metricValue(rig.metrics, "rvr_sensor_drops_total", { reason: "unknown_token" }),
      2,
    );
    assert.equal(
      await metricValue(rig.metrics, "rvr_sensor_drops_total", { reason: "undecodable" }),
      1,
    );
    assert.equal(
      await metricValue(rig.metrics, "rvr_sensor_drops_total", { reason: "invalid" }),
      1,
    );
    assert.equal(readings.length, 1);
    assert.equal(readings[0].sensor, "locator");
    assert.equal(readings[0].valid, false);
    assert.equal(streams.latest(["locator"])[0].valid, false, "invalid readings are visible");
    assert.equal(
      await metricValue(rig.metrics, "rvr_sensor_samples_total", { sensor: "locator" }),
      0,
    );
    // The stream goes on normally.
    await clock.tickAsync(1000);
    assert.equal(readings.filter((r) => r.valid).length, 2);
    assert.equal(rig.link.stats.dropped.handler_error, 0);
  });
});

Deno.test("metrics, bus and listeners: samples, rate over the window, data age", async () => {
  await withStreams({}, async ({ rig, clock, streams }) => {
    const onBus: unknown[] = [];
    rig.bus.subscribe("robot.sample", (e) => {
      onBus.push(e.payload);
    }, { bufferSize: 10_000 });
    const imu: SensorReading[] = [];
    streams.onReading((r) => {
      if (r.sensor === "imu") imu.push(r);
    });
    const throwing = streams.onReading(() => {
      throw new Error("listener bug");
    });
    await settleWith(clock, streams.start(["imu", "core_time"], { intervalMs: 50 }));
    await clock.tickAsync(6000);
    throwing();
    // Fake time: one reading per 50 ms period from one period after the start, 6000 / 50 of them.
    assert.equal(imu.length, 120, `${imu.length} imu readings in 6 s at 50 ms`);
    assert.equal(
      await metricValue(rig.metrics, "rvr_sensor_samples_total", { sensor: "imu" }),
      imu.length,
    );
    assert.equal(onBus.length, imu.length * 2, "imu and core_time readings on the bus");
    assert.deepEqual(Object.keys(onBus[0] as object).sort(), ["at", "sensor", "valid", "values"]);
    await rig.metrics.text(); // runs the collectors
    const rate = await metricValue(rig.metrics, "rvr_sensor_rate_hz", { sensor: "imu" });
    assert.ok(Math.abs(rate - 20) < 0.5, `rate ${rate} Hz`);
    const text = await rig.metrics.text();
    assert.match(text, /rvr_sensor_data_age_seconds\{sensor="core_time"\} 0\.0\d/);
    await settleWith(clock, streams.stop());
    await clock.tickAsync(6000);
    await rig.metrics.text();
    assert.equal(await metricValue(rig.metrics, "rvr_sensor_rate_hz", { sensor: "imu" }), 0);
    const age = await metricValue(rig.metrics, "rvr_sensor_data_age_seconds", { sensor: "imu" });
    assert.ok(age >= 6 && age < 6.2, `age ${age} s`);
    // A period longer than the window still has a rate.
    await settleWith(clock, streams.start(["imu"], { intervalMs: 4000 }));
    await clock.tickAsync(20_000);
    await rig.metrics.text();
    const slow = await metricValue(rig.metrics, "rvr_sensor_rate_hz", { sensor: "imu" });
    assert.ok(Math.abs(slow - 0.25) < 0.01, `rate ${slow} Hz`);
  });
});

Deno.test("acquire adds sensors for a move; the user's set comes back when the last holder releases", async () => {
  await withStreams({ defaultIntervalMs: 250 }, async ({ rig, clock, streams }) => {
    await settleWith(clock, streams.start(["ambient_light"]));
    rig.wire.clear();
    const release1 = await settleWith(
      clock,
      streams.acquire(["locator", "imu"], { intervalMs: 100 }),
    );
    let s = streams.status();
    assert.deepEqual(s.sensors, ["imu", "locator", "ambient_light"]);
    assert.equal(s.intervalMs, 100);
    assert.equal(rig.wire.received("start_streaming_service").length, 2);
    // Covered already: nothing sent.
    rig.wire.clear();
    const release2 = await settleWith(clock, streams.acquire(["imu"], { intervalMs: 200 }));
    assert.equal(streamingCommands(rig.wire).length, 0);
    // stop() while moves hold sensors: theirs keep streaming.
    await settleWith(clock, streams.stop());
    s = streams.status();
    assert.deepEqual(s.sensors, ["imu", "locator"]);
    assert.equal(s.active, true);
    assert.equal(rig.sim.isStreaming(2), true);
    await settleWith(clock, streams.start(["ambient_light"]));
    rig.wire.clear();
    await settleWith(clock, release1());
    assert.equal(streamingCommands(rig.wire).length, 0, "another holder remains");
    await settleWith(clock, release2());
    await settleWith(clock, release2());
    s = streams.status();
    assert.deepEqual(s.sensors, ["ambient_light"]);
    assert.equal(s.intervalMs, 250);
    const starts = rig.wire.received("start_streaming_service");
    assert.deepEqual(starts.map((e) => paramsOf("start_streaming_service", e).period), [250]);
    assert.equal(rig.sim.streamingSlots(2).size, 0);
    assert.equal(rig.sim.isStreaming(1), true);
  });
});

Deno.test("a configuration the robot refuses: StreamConfigurationError, streaming off and cleared", async () => {
  await withStreams({}, async ({ rig, clock, streams }) => {
    rig.sim.faults.errorReplies = { configure_streaming_service: ErrorCode.bad_data_value };
    const e = await settleErrorWith(clock, streams.start(["speed", "locator"]));
    assert.ok(e instanceof StreamConfigurationError, String(e));
    // Speed shares ST token 2 with the locator, as in both SDKs: the slot is refused whole.
    assert.match(e.message, /configure_streaming_service to node 2 \(token 2: locator, speed\)/);
    assert.equal(streams.status().active, false);
    assert.deepEqual(streamingCommands(rig.wire), [
      "clear_streaming_service@1",
      "clear_streaming_service@2",
      "configure_streaming_service@2",
      "clear_streaming_service@1",
      "clear_streaming_service@2",
    ]);
  });
});

// ---- reconnect, over the composed runtime -----------------------------------------------------

const SETTINGS = testSettings({ commandTimeout: 0 });

const simOpener = () => keepAliveSimOpener({}, "streams");

Deno.test("after a reconnect with streams active, the new link is configured again", async () => {
  const clock = fakeClock();
  const sims = simOpener();
  const rt = new Runtime(SETTINGS, sims.open);
  const streams = rt.streams;
  try {
    await settleWith(clock, rt.connection.connect());
    await settleWith(clock, streams.start(["locator", "core_time", "color_detection"]));
    await clock.tickAsync(300);
    const reconnected = new Promise<void>((resolve) => {
      const off = rt.connection.onConnected(() => {
        off();
        resolve();
      });
    });
    // The cable goes away; the connection manager finds the robot again.
    await sims.devices[0].close();
    await settleWith(clock, reconnected);
    await clock.tickAsync(500);
    assert.equal(streams.status().active, true);
    assert.deepEqual(streamingCommands(sims.wires[1]), [
      "clear_streaming_service@1",
      "clear_streaming_service@2",
      "configure_streaming_service@1",
      "configure_streaming_service@1",
      "configure_streaming_service@2",
      "start_streaming_service@1",
      "start_streaming_service@2",
    ]);
    // A robot that slept in between would have its colour detection off: sent again.
    assert.deepEqual(
      sims.wires[1].received("enable_color_detection").map((e) =>
        paramsOf("enable_color_detection", e).is_enabled
      ),
      [true],
    );
    const got = new Set<string>();
    const off = streams.onReading((r) => got.add(r.sensor));
    await clock.tickAsync(300);
    off();
    assert.deepEqual([...got].sort(), ["color_detection", "core_time", "locator"]);
    assert.equal(await metricValue(rt.metrics, "rvr_sensor_drops_total", {}), 0);
  } finally {
    streams.dispose();
    await settleWith(clock, rt.close("sigterm"));
    await sims.sim.stop();
    clock.uninstall();
  }
});
