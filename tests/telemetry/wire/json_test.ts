import assert from "node:assert/strict";
import { TelemetryModel } from "../../../src/telemetry/model.ts";
import { jsonWire } from "../../../src/telemetry/wire/json.ts";

Deno.test("jsonWire", async (t) => {
  await t.step("encodes a frame as the JSON text the side port sends, and back", () => {
    const model = new TelemetryModel({ power: "awake" });
    const full = model.nextFrame(1000);
    assert.ok(full);
    const text = jsonWire.encode(full);
    assert.equal(jsonWire.name, "json");
    assert.ok(text.startsWith('{"type":"full","seq":1,"at":1000,"state":{"connection":'));
    assert.deepEqual(jsonWire.decode(text), full);
    model.apply([{
      topic: "robot.sample",
      seq: 1,
      publishedAt: 1001,
      payload: { sensor: "speed", values: { speed_mps: 0.25 }, valid: true, at: 1001 },
    }]);
    const delta = model.nextFrame(1002);
    assert.ok(delta);
    assert.equal(
      jsonWire.encode(delta),
      '{"type":"delta","seq":2,"at":1002,"changes":{"speed_mps":0.25,"updated_at":1001}}',
    );
    assert.deepEqual(jsonWire.decode(jsonWire.encode(delta)), delta);
  });

  await t.step("refuses what is not a frame, naming it", () => {
    assert.throws(() => jsonWire.decode("{nope"), /^TypeError: Telemetry message is not JSON \(/);
    assert.throws(() => jsonWire.decode(new Uint8Array(2) as never), /text message, got object/);
    assert.throws(() => jsonWire.decode("[1]"), /not an object: \[1\]; expected \{"type"/);
    assert.throws(
      () => jsonWire.decode('{"type":"delta","seq":0,"at":1,"changes":{}}'),
      /without an integer seq >= 1: \{"type":"delta","seq":0/,
    );
    assert.throws(
      () => jsonWire.decode('{"type":"full","seq":3,"at":"soon","state":{}}'),
      /without a finite at \(epoch ms\)/,
    );
    assert.throws(
      () => jsonWire.decode('{"type":"delta","seq":3,"at":1,"state":{}}'),
      /delta frame 3 without its changes object/,
    );
    assert.throws(
      () => jsonWire.decode('{"type":"full","seq":3,"at":1,"changes":{}}'),
      /full frame 3 without its state object/,
    );
    assert.throws(
      () => jsonWire.decode('{"type":"hello","seq":3,"at":1}'),
      /frame 3 has type "hello", not "full" or "delta"/,
    );
    const long = JSON.stringify({ type: "x", seq: 1, at: 1, pad: "y".repeat(500) });
    assert.throws(() => jsonWire.decode(long), (e: Error) => e.message.length < 300);
  });
});
