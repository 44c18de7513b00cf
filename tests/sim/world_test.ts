import assert from "node:assert/strict";
import { RvrBody } from "../../src/sim/body/mod.ts";
import {
  classifyColor,
  COLOR_DARK_LEVEL,
  DEFAULT_AMBIENT_LUX,
  DEFAULT_COLOR_PALETTE,
  DEFAULT_FLOOR_COLOR,
  IR_MESSAGE_HOLD_MS,
  IR_NOTHING,
  MAG_HORIZONTAL_UT,
  MAG_VERTICAL_UT,
  SimWorld,
} from "../../src/sim/mod.ts";

const near = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: expected ${expected} +- ${tol}, got ${actual}`,
  );
const DEG = Math.PI / 180;
/** A body at a world pose (heading in degrees, CCW from +y). */
const at = (x: number, y: number, headingDeg = 0) =>
  new RvrBody({ worldPose: { x, y, headingRad: headingDeg * DEG } });
const ALL = { front: 64, left: 64, right: 64, rear: 64 };
const NONE = { front: 0, left: 0, right: 0, rear: 0 };
/** Byte i of an irReadings() value. */
const byte = (v: number, i: number) => (v >>> (8 * i)) & 0xff;

Deno.test("floor colours", async (t) => {
  const world = new SimWorld({
    floor: [
      { xMin: 0, xMax: 1, yMin: 0.5, yMax: 1.5, color: { r: 250, g: 10, b: 5 } },
      { xMin: 0.5, xMax: 2, yMin: 1, yMax: 2, color: { r: 0, g: 0, b: 240 } },
      { xMin: -1, xMax: 0, yMin: -1, yMax: 0, color: { r: 5, g: 8, b: 3 } },
    ],
  });

  await t.step("default floor where no region is; later regions paint over earlier", () => {
    assert.deepEqual(world.floorColorAt(5, 5), { ...DEFAULT_FLOOR_COLOR });
    assert.deepEqual(world.floorColorAt(0.2, 0.7), { r: 250, g: 10, b: 5 });
    assert.deepEqual(world.floorColorAt(0.7, 1.2), { r: 0, g: 0, b: 240 });
  });

  await t.step("colorUnder follows the robot and classifies against the palette", () => {
    const body = new RvrBody({ worldPose: { x: 0.25, y: 0 } });
    const m = world.join("a", body);
    const grey = m.colorUnder();
    assert.equal(grey.classificationId, 8);
    assert.equal(grey.confidence, 255);
    body.driveToPositionSi(0, 0, 0.8, 0.5, 0);
    for (let i = 0; i < 400; i++) body.step(10);
    const red = m.colorUnder();
    assert.deepEqual([red.r, red.g, red.b], [250, 10, 5]);
    assert.equal(red.classificationId, 1);
    assert.ok(red.confidence > 200 && red.confidence < 255, `confidence ${red.confidence}`);
    m.leave();
  });

  await t.step("too dark or far from every palette colour: 0xFF, confidence 0", () => {
    const m = world.join("dark", at(-0.5, -0.5));
    assert.deepEqual(m.colorUnder(), { r: 5, g: 8, b: 3, confidence: 0, classificationId: 0xff });
    const odd = classifyColor({ r: 120, g: 40, b: 200 }, [{ index: 3, r: 0, g: 255, b: 0 }]);
    assert.equal(odd.classificationId, 0xff);
    assert.equal(odd.confidence, 0);
    const navy = [{ index: 3, r: 0, g: 0, b: 30 }];
    assert.equal(
      classifyColor({ r: 0, g: 0, b: COLOR_DARK_LEVEL - 1 }, navy).classificationId,
      0xff,
    );
    assert.equal(classifyColor({ r: 0, g: 0, b: COLOR_DARK_LEVEL }, navy).classificationId, 3);
    assert.equal(classifyColor({ r: 0, g: 0, b: 200 }, DEFAULT_COLOR_PALETTE).classificationId, 3);
    m.leave();
  });

  await t.step("a custom palette decides the index", () => {
    const m = world.join("p", at(0.2, 0.7));
    const reading = m.colorUnder([{ index: 9, r: 200, g: 0, b: 0 }, {
      index: 4,
      r: 0,
      g: 0,
      b: 0,
    }]);
    assert.equal(reading.classificationId, 9);
    m.leave();
  });

  await t.step("bad regions and colours are rejected", () => {
    assert.throws(
      () =>
        new SimWorld({
          floor: [{ xMin: 1, xMax: 0, yMin: 0, yMax: 1, color: { r: 0, g: 0, b: 0 } }],
        }),
      /floor\[0\] is empty/,
    );
    assert.throws(() => new SimWorld({ floorDefault: { r: 256, g: 0, b: 0 } }), /256/);
  });
});

Deno.test("ambient light and magnetometer", async (t) => {
  await t.step("ambient light: default, settable, validated", () => {
    const world = new SimWorld();
    const m = world.join("a", at(0, 0));
    assert.equal(m.ambientLightLux(), DEFAULT_AMBIENT_LUX);
    world.setAmbientLux(12.5);
    assert.equal(m.ambientLightLux(), 12.5);
    assert.throws(() => world.setAmbientLux(-1), /-1/);
  });

  await t.step("magnetometer in the body frame follows the heading", () => {
    const world = new SimWorld({ magneticNorthDeg: 0 });
    const facingNorth = world.join("n", at(0, 0, 0)).magnetometer();
    near(facingNorth.x, 0, 1e-9, "x facing north");
    near(facingNorth.y, MAG_HORIZONTAL_UT, 1e-9, "y facing north");
    near(facingNorth.z, -MAG_VERTICAL_UT, 1e-9, "z (down)");
    // Facing west (heading +90, left): north is on the robot's right (+x).
    const facingWest = world.join("w", at(0, 0, 90)).magnetometer();
    near(facingWest.x, MAG_HORIZONTAL_UT, 1e-9, "x facing west");
    near(facingWest.y, 0, 1e-9, "y facing west");
  });

  await t.step("northYawDeg in the locator frame, after reset_yaw too", () => {
    const world = new SimWorld({ magneticNorthDeg: 30 });
    const body = at(0, 0, 0);
    const m = world.join("a", body);
    near(m.northYawDeg(), 30, 1e-9, "north yaw at boot");
    for (let i = 0; i < 150; i++) {
      if (i % 50 === 0) body.driveWithHeading(0, 330, 0); // yaw +30 = facing north
      body.step(10);
    }
    near(body.pose.yawDeg, 30, 0.5, "robot yaw");
    near(m.magnetometer().x, 0, 0.2, "field straight ahead: x");
    body.resetYaw();
    near(m.northYawDeg(), 30 - (body.worldPose.headingRad / DEG), 1e-9, "north yaw after reset");
    near(m.northYawDeg(), 0, 0.5, "north is now yaw ~0");
    world.setMagneticNorthDeg(-60);
    near(m.northYawDeg(), -60 - body.worldPose.headingRad / DEG, 1e-9, "after moving north");
  });
});

Deno.test("infrared messages", async (t) => {
  await t.step("range follows the strongest active emitter (64 = 3 m)", () => {
    const world = new SimWorld();
    const sender = world.join("s", at(0, 0));
    const got: Record<string, number[]> = { a: [], b: [], c: [] };
    world.join("a", at(0, 1.4)).onMessage((c) => got.a.push(c));
    world.join("b", at(0, 2)).onMessage((c) => got.b.push(c));
    world.join("c", at(0, 3.2)).onMessage((c) => got.c.push(c));
    sender.sendMessage(5, { ...NONE, front: 32 }); // 1.5 m
    assert.deepEqual(got, { a: [5], b: [], c: [] });
    sender.sendMessage(6, { ...NONE, front: 64, rear: 10 }); // 3 m shared by both
    assert.deepEqual(got, { a: [5, 6], b: [6], c: [] });
    sender.sendMessage(7, NONE);
    assert.deepEqual(got, { a: [5, 6], b: [6], c: [] });
  });

  await t.step("only robots inside an active emitter's cone receive", () => {
    const world = new SimWorld();
    const sender = world.join("s", at(0, 0, 0));
    const got: Record<string, number[]> = { front: [], left: [], right: [], rear: [] };
    world.join("f", at(0, 1)).onMessage((c) => got.front.push(c));
    world.join("l", at(-1, 0)).onMessage((c) => got.left.push(c));
    world.join("r", at(1, 0)).onMessage((c) => got.right.push(c));
    world.join("b", at(0, -1)).onMessage((c) => got.rear.push(c));
    sender.sendMessage(1, { ...NONE, front: 64 });
    sender.sendMessage(2, { ...NONE, left: 64 });
    sender.sendMessage(3, { ...NONE, right: 64 });
    sender.sendMessage(4, { ...NONE, rear: 64 });
    sender.sendMessage(0, ALL);
    assert.deepEqual(got, { front: [1, 0], left: [2, 0], right: [3, 0], rear: [4, 0] });
  });

  await t.step("emitter cones turn with the sender", () => {
    const world = new SimWorld();
    const sender = world.join("s", at(0, 0, -90)); // facing +x
    const got: number[] = [];
    world.join("r", at(1, 0)).onMessage((c) => got.push(c));
    sender.sendMessage(2, { ...NONE, left: 64 });
    sender.sendMessage(1, { ...NONE, front: 64 });
    assert.deepEqual(got, [1]);
  });

  await t.step("bad codes and strengths throw RangeError naming the value", () => {
    const world = new SimWorld();
    const m = world.join("s", at(0, 0));
    assert.throws(() => m.sendMessage(8, ALL), /infrared code 8/);
    assert.throws(() => m.sendMessage(1, { ...ALL, left: 65 }), /left .*65/);
    assert.throws(() => m.startBroadcast(9, 1), /far code 9/);
    assert.throws(() => m.startBroadcast(1, -1), /near code -1/);
    assert.throws(() => m.findBroadcaster(1, 8), /near code 8/);
  });

  await t.step("a robot that left neither sends nor receives", () => {
    const world = new SimWorld();
    const a = world.join("a", at(0, 0));
    const got: number[] = [];
    const b = world.join("b", at(0, 1));
    b.onMessage((c) => got.push(c));
    b.leave();
    a.sendMessage(3, ALL);
    assert.deepEqual(got, []);
    assert.throws(() => b.sendMessage(1, ALL), /has left the world/);
    assert.deepEqual(world.memberNames, ["a"]);
  });
});

Deno.test("infrared broadcasting", async (t) => {
  await t.step("findBroadcaster returns the nearest matching robot within 3 m", () => {
    const world = new SimWorld();
    const me = world.join("me", at(0, 0));
    const far = world.join("far", at(2, 0));
    const close = world.join("close", at(0, -1.5));
    const other = world.join("other", at(0, 0.5));
    assert.equal(me.findBroadcaster(1, 2), null);
    far.startBroadcast(1, 2);
    close.startBroadcast(1, 2);
    other.startBroadcast(3, 4);
    assert.deepEqual(me.findBroadcaster(1, 2), { x: 0, y: -1.5 });
    assert.deepEqual(me.findBroadcaster(3, 4), { x: 0, y: 0.5 });
    assert.equal(me.findBroadcaster(2, 1), null);
    close.stopBroadcast();
    assert.deepEqual(me.findBroadcaster(1, 2), { x: 2, y: 0 });
    far.leave();
    assert.equal(me.findBroadcaster(1, 2), null);
    const beyond = world.join("beyond", at(3.1, 0));
    beyond.startBroadcast(1, 2);
    assert.equal(me.findBroadcaster(1, 2), null);
    me.startBroadcast(1, 2);
    assert.equal(me.findBroadcaster(1, 2), null, "a robot does not find itself");
  });

  await t.step("irReadings: far code ahead on the two front receivers, 0xFF elsewhere", () => {
    const world = new SimWorld();
    const me = world.join("me", at(0, 0));
    assert.equal(me.irReadings(), 0xffffffff);
    const b = world.join("b", at(0, 2));
    b.startBroadcast(3, 5);
    assert.equal(me.irReadings(), 0xffff0303);
  });

  await t.step("irReadings: near code inside 1 m; side receivers by bearing", () => {
    const world = new SimWorld();
    const me = world.join("me", at(0, 0));
    const left = world.join("left", at(-0.5, 0));
    left.startBroadcast(3, 5);
    // Directly left: front-left (byte 0) and back-left (byte 3) see it.
    const v = me.irReadings();
    assert.deepEqual([0, 1, 2, 3].map((i) => byte(v, i)), [5, IR_NOTHING, IR_NOTHING, 5]);
  });

  await t.step("irReadings: the strongest (nearest) signal wins per receiver", () => {
    const world = new SimWorld();
    const me = world.join("me", at(0, 0));
    world.join("front", at(0, 2.5)).startBroadcast(1, 2);
    world.join("frontRight", at(1.2, 1.2)).startBroadcast(6, 7);
    const v = me.irReadings();
    // Front-right sees both; the robot at 1.7 m is stronger than the one at 2.5 m.
    // Front-left sees only the one straight ahead.
    assert.deepEqual([0, 1, 2, 3].map((i) => byte(v, i)), [1, 6, IR_NOTHING, IR_NOTHING]);
  });

  await t.step("irReadings: a received message shows for a while, then expires", () => {
    const world = new SimWorld();
    const body = at(0, 0);
    const me = world.join("me", body);
    const sender = world.join("s", at(0, -1, 0)); // behind me, its front faces me
    sender.sendMessage(4, { ...NONE, front: 64 });
    const v = me.irReadings();
    assert.deepEqual([0, 1, 2, 3].map((i) => byte(v, i)), [IR_NOTHING, IR_NOTHING, 4, 4]);
    body.step(IR_MESSAGE_HOLD_MS + 10);
    assert.equal(me.irReadings(), 0xffffffff);
  });

  await t.step("IR follow controller chases a broadcaster found in the world", () => {
    const world = new SimWorld();
    const leaderBody = at(1, 2);
    const leader = world.join("leader", leaderBody);
    leader.startBroadcast(2, 3);
    const body = at(0, 0);
    const me = world.join("me", body);
    for (let i = 0; i < 800; i++) {
      const target = me.findBroadcaster(2, 3);
      assert.ok(target, "leader in range");
      body.setInfraredTarget("follow", target);
      body.step(10);
    }
    near(Math.hypot(body.worldPose.x - 1, body.worldPose.y - 2), 0.4, 0.05, "follow gap");
  });
});
