import assert from "node:assert/strict";
import { applyFrame, type TelemetryFrame } from "../../../src/telemetry/json_delta.ts";
import { TelemetryModel } from "../../../src/telemetry/model.ts";
import { jsonWire } from "../../../src/telemetry/wire/json.ts";
import { protobufWire } from "../../../src/telemetry/wire/protobuf.ts";

Deno.test("protobufWire", async (t) => {
  const model = new TelemetryModel({ power: "awake" });
  const full = model.nextFrame(1000);
  assert.ok(full);
  model.apply([{
    topic: "robot.sample",
    seq: 1,
    publishedAt: 1001,
    payload: { sensor: "speed", values: { speed_mps: 0.25 }, valid: true, at: 1001 },
  }]);
  const delta = model.nextFrame(1002);
  assert.ok(delta);

  await t.step("carries the same frames as the JSON format, as bytes", () => {
    assert.equal(protobufWire.name, "protobuf");
    for (const frame of [full, delta]) {
      const bytes = protobufWire.encode(frame);
      assert.ok(bytes instanceof Uint8Array);
      assert.deepEqual(protobufWire.decode(bytes), frame);
      assert.deepEqual(protobufWire.decode(bytes), jsonWire.decode(jsonWire.encode(frame)));
    }
    // A client applying the decoded frames reaches the model's state.
    let state = applyFrame(null, protobufWire.decode(protobufWire.encode(full)));
    state = applyFrame(state, protobufWire.decode(protobufWire.encode(delta)));
    assert.equal(state.speed_mps, 0.25);
    assert.deepEqual(state, applyFrame(applyFrame(null, full), delta));
  });

  await t.step("refuses what is not a frame, naming it", () => {
    assert.throws(() => protobufWire.decode("{}" as never), /binary \(a Uint8Array\), got string/);
    assert.throws(
      () => protobufWire.decode(new Uint8Array([0xff, 0xff, 0xff])),
      /^TypeError: Telemetry message of 3 bytes is not a rvr\.v1\.TelemetryFrame \(/,
    );
    const noSeq: TelemetryFrame = { type: "delta", seq: 1, at: 5, changes: {} };
    const bytes = protobufWire.encode(noSeq);
    assert.throws(
      () => protobufWire.decode(bytes.subarray(2)), // the seq field cut off
      /has seq 0; expected an integer >= 1/,
    );
    assert.throws(
      () => protobufWire.decode(new Uint8Array([0x08, 0x07])), // seq 7, no body
      /frame 7 has neither state nor changes/,
    );
  });
});
