import assert from "node:assert/strict";
import { resetSync } from "@logtape/logtape";
import {
  decodeRequest,
  decodeSlotData,
  encodePacket,
  ErrorCode,
  Flag,
  FrameDecoder,
  type NodeId,
  type Packet,
  parseSlotConfiguration,
  type SlotEntry,
} from "../../src/protocol/mod.ts";
import { captureLogs } from "../_helpers/mod.ts";
import { fromHex, loadVectors, type Rig, rig } from "./_client.ts";

const SETUP = loadVectors()
  .filter((v) => v.name.startsWith("stream_setup_"))
  .sort((a, b) => a.name.localeCompare(b.name));

/** The slot tables the Python SDK's setup bytes configure, decoded from the vectors themselves. */
function configuredSlots(): Record<NodeId, Map<number, SlotEntry[]>> {
  const slots: Record<NodeId, Map<number, SlotEntry[]>> = { 1: new Map(), 2: new Map() };
  for (const v of SETUP) {
    const [p] = new FrameDecoder().push(fromHex(v.bytes_hex));
    if (p.cid !== 0x39) continue;
    const node = p.target as NodeId;
    const req = decodeRequest("configure_streaming_service", p.payload);
    const entries = parseSlotConfiguration(req.configuration, node);
    assert.ok(typeof entries !== "string", String(entries));
    slots[node].set(req.token, entries);
  }
  return slots;
}

function streamed(r: Rig): Packet[] {
  return r.client.notifications("streaming_service_data_notify");
}

async function sendSetup(r: Rig, steps: number[]): Promise<void> {
  for (const i of steps) await r.client.send(fromHex(SETUP[i].bytes_hex));
  await r.settle();
}

Deno.test("streaming per the Python SDK's setup bytes", async (t) => {
  assert.equal(SETUP.length, 6);
  const slots = configuredSlots();
  // Sanity: what the vectors configure (sec. 10 example: IMU+Accel in ST token 1, ...).
  assert.deepEqual([...slots[1].keys()], [1, 2]);
  assert.deepEqual([...slots[2].keys()], [1, 2]);

  await t.step("configured tokens only, only after start, at the period", async () => {
    const r = rig({ inactivityTimeoutMs: Infinity });
    try {
      await sendSetup(r, [0, 1, 2, 3]);
      assert.equal(r.client.received.length, 0, "configure is fire-and-forget (0x18)");
      await r.settle(1000);
      assert.equal(streamed(r).length, 0, "nothing before start_streaming_service");
      assert.equal(r.sim.streamingSlots(1).size, 2);
      assert.equal(r.sim.streamingSlots(2).size, 2);

      await sendSetup(r, [4, 5]); // start 100 ms on Nordic, then ST
      await r.settle(99);
      assert.equal(streamed(r).length, 0, "the first sample comes one period after start");
      await r.settle(1);
      const first = streamed(r);
      assert.equal(first.length, 4, "one packet per configured token per node");
      assert.deepEqual(
        first.map((p) => [p.source, p.payload[0]]),
        [[1, 1], [1, 2], [2, 1], [2, 2]],
        "Nordic then ST, tokens ascending",
      );
      for (const p of first) {
        assert.deepEqual([p.flags, p.target, p.did, p.cid, p.seq], [0x38, 0x21, 0x18, 0x3d, 0xff]);
        const token = p.payload[0];
        assert.equal(token >> 4, 0, "high nibble 0 = valid");
        const entries = slots[p.source as NodeId].get(token);
        assert.ok(entries);
        // Lengths per configuration: Nordic 1 = colour 5x8-bit, Nordic 2 = light 32-bit,
        // ST 1 = IMU+accel 6x32-bit, ST 2 = locator+velocity 4x32-bit.
        decodeSlotData(entries, p.payload.subarray(1));
      }
      assert.deepEqual(first.map((p) => p.payload.length - 1), [5, 4, 24, 16]);

      await r.settle(900);
      assert.equal(streamed(r).length, 40, "ten periods");
    } finally {
      await r.close();
    }
  });

  await t.step("decoded values follow the body", async () => {
    const r = rig({ inactivityTimeoutMs: Infinity });
    try {
      await sendSetup(r, [0, 1, 2, 3, 4, 5]);
      await r.ask("drive_with_heading", { speed: 100, heading: 0, flags: 0 });
      await r.settle(1000);
      const ys = streamed(r)
        .filter((p) => p.source === 2 && p.payload[0] === 2)
        .map((p) =>
          decodeSlotData(slots[2].get(2) as SlotEntry[], p.payload.subarray(1)).locator.Y
        );
      assert.equal(ys.length, 10);
      for (let i = 1; i < ys.length; i++) assert.ok(ys[i] > ys[i - 1], `y grows: ${ys}`);

      // At rest the sample equals the body's state.
      await r.ask("drive_stop", {});
      await r.settle(3000);
      r.client.take();
      await r.settle(100);
      const samples = streamed(r);
      const st1 = samples.find((p) => p.source === 2 && p.payload[0] === 1) as Packet;
      const st2 = samples.find((p) => p.source === 2 && p.payload[0] === 2) as Packet;
      const v1 = decodeSlotData(slots[2].get(1) as SlotEntry[], st1.payload.subarray(1));
      const v2 = decodeSlotData(slots[2].get(2) as SlotEntry[], st2.payload.subarray(1));
      const body = r.sim.body;
      const near = (a: number, b: number, what: string) =>
        assert.ok(Math.abs(a - b) < 1e-3, `${what}: streamed ${a}, body ${b}`);
      near(v1.imu.Yaw, body.imu.yawDeg, "yaw");
      near(v1.imu.Pitch, body.imu.pitchDeg, "pitch");
      near(v1.accelerometer.Z, body.accelerometer.z, "accel z");
      near(v2.locator.X, body.pose.x, "x");
      near(v2.locator.Y, body.pose.y, "y");
      near(v2.velocity.Y, body.velocity.y, "vy");
      assert.ok(v2.locator.Y > 0.1);
      const n1 = samples.find((p) => p.source === 1 && p.payload[0] === 2) as Packet;
      const light = decodeSlotData(slots[1].get(2) as SlotEntry[], n1.payload.subarray(1));
      near(light.ambient_light.Light, r.sim.member.ambientLightLux(), "ambient light");
    } finally {
      await r.close();
    }
  });

  await t.step("stop keeps the configuration, clear forgets it", async () => {
    const r = rig({ inactivityTimeoutMs: Infinity });
    try {
      await sendSetup(r, [0, 1, 2, 3, 4, 5]);
      await r.settle(200);
      assert.equal(streamed(r).length, 8);
      await r.ask("stop_streaming_service", {}, { target: 2 });
      r.client.take();
      await r.settle(500);
      assert.ok(streamed(r).every((p) => p.source === 1), "ST stopped, Nordic goes on");
      assert.equal(r.sim.isStreaming(2), false);
      assert.equal(r.sim.streamingSlots(2).size, 2, "configuration kept");
      await r.ask("start_streaming_service", { period: 250 }, { target: 2 });
      r.client.take();
      await r.settle(500);
      assert.equal(streamed(r).filter((p) => p.source === 2).length, 4, "2 periods x 2 tokens");

      // The Python SDK's stop(): clear_streaming_service to both nodes.
      await r.ask("clear_streaming_service", {}, { target: 1 });
      await r.ask("clear_streaming_service", {}, { target: 2 });
      r.client.take();
      await r.settle(1000);
      assert.equal(streamed(r).length, 0, "nothing after clear");
      assert.equal(r.sim.streamingSlots(1).size, 0);
      // Starting with nothing configured does nothing.
      const seq = await r.ask("start_streaming_service", { period: 100 }, {
        target: 2,
        requestsResponse: true,
      });
      assert.equal(r.client.responseTo(seq).err, 0);
      await r.settle(1000);
      assert.equal(streamed(r).length, 0);
      assert.equal(r.sim.isStreaming(2), false);
    } finally {
      await r.close();
    }
  });
});

Deno.test("streaming details", async (t) => {
  await t.step("configuration order is packing order; sizes per service", async () => {
    const r = rig({ inactivityTimeoutMs: Infinity });
    try {
      // ST token 3: speed (8-bit), gyroscope (16-bit), quaternion (32-bit) - deliberately not id order.
      const config = [0x00, 0x08, 0, 0x00, 0x04, 1, 0x00, 0x00, 2];
      const seq = await r.ask("configure_streaming_service", { token: 3, configuration: config }, {
        target: 2,
        requestsResponse: true,
      });
      assert.equal(r.client.responseTo(seq).err, 0);
      await r.ask("start_streaming_service", { period: 50 }, { target: 2 });
      await r.settle(50);
      const [p] = streamed(r);
      assert.equal(p.payload[0], 3);
      assert.equal(p.payload.length, 1 + 1 + 6 + 16);
      const entries = parseSlotConfiguration(config, 2) as SlotEntry[];
      const v = decodeSlotData(entries, p.payload.subarray(1));
      assert.deepEqual(Object.keys(v), ["speed", "gyroscope", "quaternion"]);
      const q = v.quaternion;
      assert.ok(Math.abs(Math.hypot(q.W, q.X, q.Y, q.Z) - 1) < 1e-3, "unit quaternion");
      assert.ok(Math.abs(v.gyroscope.Z) < 1, "still robot: no rotation");
    } finally {
      await r.close();
    }
  });

  await t.step("encoders stream as raw u32, negative counts in two's complement", async () => {
    const r = rig({ inactivityTimeoutMs: Infinity });
    try {
      await r.ask("configure_streaming_service", { token: 4, configuration: [0x00, 0x0b, 2] }, {
        target: 2,
      });
      await r.ask("drive_tank_si_units", { left_velocity: -0.3, right_velocity: -0.3 });
      await r.settle(500);
      await r.ask("drive_stop", {});
      await r.settle(2000);
      await r.ask("start_streaming_service", { period: 100 }, { target: 2 });
      await r.settle(100);
      const [p] = streamed(r);
      const view = new DataView(p.payload.buffer, p.payload.byteOffset + 1, 8);
      const { left, right } = r.sim.body.encoders;
      assert.ok(left < 0 && right < 0, `reversed: ${left}, ${right}`);
      assert.equal(view.getUint32(0), left >>> 0);
      assert.equal(view.getUint32(4), right >>> 0);
      assert.equal(view.getInt32(0), left);
    } finally {
      await r.close();
    }
  });

  await t.step("core time lower/upper words on the Nordic", async () => {
    const r = rig({ inactivityTimeoutMs: Infinity });
    try {
      await r.settle(5000);
      await r.ask("configure_streaming_service", {
        token: 2,
        configuration: [0x00, 0x05, 2, 0x00, 0x09, 2],
      }, { target: 1 });
      await r.ask("start_streaming_service", { period: 100 }, { target: 1 });
      await r.settle(300);
      const times = streamed(r).map((p) => {
        const view = new DataView(p.payload.buffer, p.payload.byteOffset + 1, 8);
        return [view.getUint32(0), view.getUint32(4)];
      });
      assert.equal(times.length, 3);
      assert.deepEqual(times.map((t) => t[1]), [0, 0, 0], "upper word");
      assert.ok(Math.abs(times[0][0] - 5100) <= 1, `lower word ${times[0][0]}`);
      assert.equal(times[1][0] - times[0][0], 100);
    } finally {
      await r.close();
    }
  });

  await t.step("colour detection stream: zeros/0xFF when off, the floor when on", async () => {
    const r = rig({ inactivityTimeoutMs: Infinity });
    try {
      await r.ask("configure_streaming_service", { token: 1, configuration: [0x00, 0x03, 0] }, {
        target: 1,
      });
      await r.ask("start_streaming_service", { period: 100 }, { target: 1 });
      await r.settle(100);
      assert.deepEqual([...streamed(r)[0].payload], [1, 0, 0, 0, 0xff, 0]);
      await r.ask("enable_color_detection", { is_enabled: true });
      r.client.take();
      await r.settle(100);
      const c = r.sim.member.colorUnder(r.sim.activePalette);
      const [p] = streamed(r);
      assert.deepEqual([...p.payload.subarray(0, 5)], [1, c.r, c.g, c.b, c.classificationId]);
      assert.equal(p.payload[5], c.confidence);
    } finally {
      await r.close();
    }
  });

  await t.step("bad configurations -> bad_data_value", async () => {
    const r = rig();
    try {
      const cases: [NodeId, number, number[]][] = [
        [1, 1, [0x00, 0x01, 2]], // IMU lives on the ST
        [2, 1, [0x00, 0x03, 0]], // colour lives on the Nordic
        [2, 0, [0x00, 0x01, 2]], // token 0
        [2, 1, [0x00, 0x01, 3]], // size code 3
        [2, 1, [0x00, 0x0c, 2]], // unknown service
        [2, 1, []], // nothing
      ];
      for (const [target, token, configuration] of cases) {
        const seq = await r.ask("configure_streaming_service", { token, configuration }, {
          target,
          requestsResponse: true,
        });
        assert.equal(
          r.client.responseTo(seq).err,
          ErrorCode.bad_data_value,
          JSON.stringify(configuration),
        );
      }
      assert.equal(r.sim.streamingSlots(1).size + r.sim.streamingSlots(2).size, 0);
    } finally {
      await r.close();
    }
  });

  await t.step(
    "what the firmware refuses -> failed 0x06, nothing configured or streamed",
    async () => {
      const r = rig();
      try {
        // The layout Nordic firmware 8.3.432 refused with 0x06 (Node SDK issue #6): the exact bytes
        // of that report, `token 3, configuration [0, 10, 1]`.
        let seq = await r.ask("configure_streaming_service", {
          token: 3,
          configuration: [0, 10, 1],
        }, {
          target: 1,
          requestsResponse: true,
        });
        assert.equal(r.client.responseTo(seq).err, ErrorCode.failed);
        assert.equal(ErrorCode.failed, 0x06);
        assert.equal(r.sim.streamingSlots(1).size, 0);
        // Six services in one token: one more than a slot takes. The codec refuses to encode more
        // than 15 configuration bytes, so the packet is written by hand.
        const six = [0x00, 0x01, 2, 0x00, 0x02, 2, 0x00, 0x04, 2, 0x00, 0x06, 2, 0x00, 0x07, 2];
        const tooMany = [1, ...six, 0x00, 0x08, 2];
        seq = 0x42;
        await r.client.send(encodePacket({
          flags: Flag.requestsResponse | Flag.hasTargetId | Flag.hasSourceId,
          target: 2,
          source: 1,
          did: 0x18,
          cid: 0x39,
          seq,
          payload: new Uint8Array(tooMany),
        }));
        await r.settle();
        assert.equal(r.client.responseTo(seq).err, ErrorCode.failed);
        assert.equal(r.sim.streamingSlots(2).size, 0);
        // Five are taken (the limit itself).
        seq = await r.ask("configure_streaming_service", { token: 1, configuration: six }, {
          target: 2,
          requestsResponse: true,
        });
        assert.equal(r.client.responseTo(seq).err, ErrorCode.success);
        // A period under 33 ms.
        seq = await r.ask("start_streaming_service", { period: 32 }, {
          target: 2,
          requestsResponse: true,
        });
        assert.equal(r.client.responseTo(seq).err, ErrorCode.failed);
        await r.settle(500);
        assert.equal(streamed(r).length, 0);
        assert.equal(r.sim.isStreaming(2), false);
        seq = await r.ask("start_streaming_service", { period: 33 }, {
          target: 2,
          requestsResponse: true,
        });
        assert.equal(r.client.responseTo(seq).err, ErrorCode.success);
        await r.settle(33);
        assert.equal(streamed(r).length, 1);
      } finally {
        await r.close();
      }
    },
  );

  await t.step(
    "a layout no SDK sends is accepted, streams, and is logged as never seen",
    async () => {
      const records = captureLogs(["rvr", "sim"]);
      const r = rig({ inactivityTimeoutMs: Infinity });
      try {
        const neverSeen = () =>
          records.filter((x) =>
            x.level === "warning" && /never seen on real firmware/.test(
              x.message.join(""),
            )
          );
        // The SDKs' layouts: no warning (Python: IMU + accelerometer in ST token 1; Node: core
        // time words in Nordic token 2, as a real capture had it).
        await r.ask("configure_streaming_service", {
          token: 1,
          configuration: [0x00, 0x02, 2, 0x00, 0x01, 2],
        }, { target: 2 });
        await r.ask("configure_streaming_service", {
          token: 2,
          configuration: [0x00, 0x05, 2, 0x00, 0x09, 2],
        }, { target: 1 });
        assert.deepEqual(neverSeen(), []);
        // Locator in token 4 at 16-bit: no SDK does that.
        const seq = await r.ask("configure_streaming_service", {
          token: 4,
          configuration: [0x00, 0x06, 1],
        }, { target: 2, requestsResponse: true });
        assert.equal(r.client.responseTo(seq).err, ErrorCode.success);
        const [warning] = neverSeen();
        assert.ok(warning, "logged");
        assert.equal(neverSeen().length, 1);
        assert.deepEqual(warning.properties, { node: 2, token: 4, services: ["Locator/16-bit"] });
        await r.ask("start_streaming_service", { period: 100 }, { target: 2 });
        await r.settle(100);
        assert.deepEqual(streamed(r).map((p) => [p.payload[0], p.payload.length]), [[1, 25], [
          4,
          5,
        ]]);
      } finally {
        await r.close();
        resetSync();
      }
    },
  );

  await t.step("a slot configured while streaming joins at the next period", async () => {
    const r = rig({ inactivityTimeoutMs: Infinity });
    try {
      await r.ask("configure_streaming_service", { token: 1, configuration: [0x00, 0x06, 2] }, {
        target: 2,
      });
      await r.ask("start_streaming_service", { period: 100 }, { target: 2 });
      await r.settle(100);
      assert.equal(streamed(r).length, 1);
      await r.ask("configure_streaming_service", { token: 2, configuration: [0x00, 0x07, 1] }, {
        target: 2,
      });
      r.client.take();
      await r.settle(100);
      assert.deepEqual(streamed(r).map((p) => [p.payload[0], p.payload.length]), [[1, 9], [2, 5]]);
    } finally {
      await r.close();
    }
  });

  await t.step("sleep stops streaming, keeps the slots", async () => {
    const r = rig({ inactivityTimeoutMs: Infinity });
    try {
      await r.ask("configure_streaming_service", { token: 1, configuration: [0x00, 0x06, 2] }, {
        target: 2,
      });
      await r.ask("start_streaming_service", { period: 100 }, { target: 2 });
      await r.settle(100);
      await r.ask("sleep", {});
      r.client.take();
      await r.settle(1000);
      assert.equal(streamed(r).length, 0);
      assert.equal(r.sim.streamingSlots(2).size, 1);
    } finally {
      await r.close();
    }
  });
});
