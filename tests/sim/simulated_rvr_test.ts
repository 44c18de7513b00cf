import assert from "node:assert/strict";
import {
  commandById,
  decodeResponse,
  encodePacket,
  ErrorCode,
  FrameDecoder,
  type Packet,
  type RequestName,
} from "../../src/protocol/mod.ts";
import { SIM_FIRMWARE, SimulatedRvr, SimWorld } from "../../src/sim/mod.ts";
import { MemoryPort } from "../../src/link/memory_port.ts";
import { decodeOk, fromHex, hex, loadVectors, rig, TestClient } from "./_client.ts";

const VECTORS = loadVectors();

function parse(bytes: Uint8Array): Packet {
  const [p] = new FrameDecoder().push(bytes);
  assert.ok(p, "vector bytes decode to a packet");
  return p;
}

/** sec. 2.3: FLAGS 0x39, TID 0x21, SID = request TID & 0x0F, same DID/CID/SEQ. */
function assertReplyHeader(reply: Packet, request: Packet): void {
  assert.equal(reply.flags, 0x39);
  assert.equal(reply.target, 0x21);
  assert.equal(reply.source, (request.target ?? 1) & 0x0f);
  assert.equal(reply.did, request.did);
  assert.equal(reply.cid, request.cid);
  assert.equal(reply.seq, request.seq);
}

/** ERR a fresh, awake robot answers each vector request with. */
const EXPECTED_ERR: Record<string, number> = {
  generate_api_error: 7,
  // Colour detection is off on a fresh robot.
  get_current_detected_color_reading: ErrorCode.restricted,
};

Deno.test("simulated RVR answers the golden requests", async (t) => {
  const requests = VECTORS.filter((v) => v.kind === "request");
  assert.ok(requests.length >= 70);

  await t.step("as sent: a reply iff FLAGS 0x02 (not on success with 0x04)", async () => {
    for (const v of requests) {
      const r = rig();
      try {
        const req = parse(fromHex(v.bytes_hex));
        await r.client.send(fromHex(v.bytes_hex));
        await r.settle();
        const replies = r.client.responses();
        const err = EXPECTED_ERR[v.params.sdk_method as string] ?? 0;
        const wants = (req.flags & 0x02) !== 0 && !((req.flags & 0x04) !== 0 && err === 0);
        assert.equal(replies.length, wants ? 1 : 0, `${v.name}: replies`);
        if (wants) {
          assertReplyHeader(replies[0], req);
          assert.equal(replies[0].err, err, `${v.name}: ERR`);
        }
      } finally {
        await r.close();
      }
    }
  });

  await t.step(
    "with 0x02 forced: every command acknowledges with a well-shaped payload",
    async () => {
      for (const v of requests) {
        const r = rig();
        try {
          const req = parse(fromHex(v.bytes_hex));
          const asked: Packet = { ...req, flags: (req.flags | 0x02) & ~0x04 };
          await r.client.send(encodePacket(asked));
          await r.settle();
          const def = commandById(req.did, req.cid);
          assert.ok(def, v.name);
          const reply = r.client.responseTo(req.seq);
          assertReplyHeader(reply, asked);
          const err = EXPECTED_ERR[def.name] ?? 0;
          assert.equal(reply.err, err, `${v.name}: ERR`);
          if (err === 0) {
            // Throws PayloadLengthError when the shape is wrong.
            decodeResponse(def.name as RequestName, reply.payload);
            if (def.response.length === 0) assert.equal(reply.payload.length, 0, v.name);
          }
        } finally {
          await r.close();
        }
      }
    },
  );

  await t.step("byte-exact golden responses where the robot's state matches", async () => {
    const exact: [string, Parameters<typeof rig>[0]][] = [
      ["resp_echo_st", {}],
      ["resp_echo_escaped", {}],
      ["resp_get_main_application_version_nordic", {}],
      ["resp_get_motor_fault_state", {}],
      ["resp_get_battery_percentage", { battery: { percentage: 85 } }],
      ["resp_error_bad_data_value", { faults: { errorReplies: { get_battery_percentage: 7 } } }],
    ];
    for (const [name, options] of exact) {
      const v = VECTORS.find((x) => x.name === name);
      assert.ok(v, name);
      const r = rig(options);
      try {
        assert.ok(v.request_hex, name);
        await r.client.send(fromHex(v.request_hex));
        await r.settle();
        assert.equal(hex(new Uint8Array(r.client.wire)), v.bytes_hex, name);
      } finally {
        await r.close();
      }
    }
  });

  await t.step("Node-style packets (0x3A, TID 0x11/0x12, SID 0x01) are answered", async () => {
    const r = rig();
    try {
      for (const v of VECTORS.filter((x) => x.name.startsWith("alt_nodejs_"))) {
        const req = parse(fromHex(v.bytes_hex));
        await r.client.send(fromHex(v.bytes_hex));
        await r.settle();
        const replies = r.client.take().filter((p) => p.flags & 1);
        if (req.flags & 0x02) {
          assert.equal(replies.length, 1, v.name);
          assertReplyHeader(replies[0], req);
          assert.equal(replies[0].source, req.target === 0x12 ? 2 : 1);
          assert.equal(replies[0].err, 0);
        } else {
          assert.equal(replies.length, 0, `${v.name}: 0x38 gets no reply`);
        }
      }
    } finally {
      await r.close();
    }
  });
});

Deno.test("simulated RVR identity and state replies", async (t) => {
  const r = rig({ name: "RV-1A2B" });
  try {
    await t.step("versions and processor names per node, with the trailing NUL", async () => {
      for (const node of [1, 2] as const) {
        const seq = await r.ask("get_main_application_version", {}, { target: node });
        assert.deepEqual(
          decodeOk("get_main_application_version", r.client.responseTo(seq)),
          SIM_FIRMWARE[node].application,
        );
        const bl = await r.ask("get_bootloader_version", {}, { target: node });
        assert.deepEqual(
          decodeOk("get_bootloader_version", r.client.responseTo(bl)),
          SIM_FIRMWARE[node].bootloader,
        );
        const pn = await r.ask("get_processor_name", {}, { target: node });
        const raw = r.client.responseTo(pn).payload;
        assert.equal(raw[raw.length - 1], 0, "trailing NUL");
        assert.equal(
          decodeOk("get_processor_name", r.client.responseTo(pn)).name,
          node === 1 ? "nRF52840" : "STM32F4",
        );
      }
      assert.deepEqual(SIM_FIRMWARE[1].application, { major: 8, minor: 3, revision: 432 });
      assert.deepEqual(SIM_FIRMWARE[2].application, { major: 8, minor: 6, revision: 448 });
    });

    await t.step("BLE name, MAC, SKU, board revision, stats id", async () => {
      const name = await r.ask("get_bluetooth_advertising_name", {});
      const reply = r.client.responseTo(name);
      assert.equal(reply.payload[reply.payload.length - 1], 0, "NUL-terminated");
      assert.equal(decodeOk("get_bluetooth_advertising_name", reply).name, "RV-1A2B");
      const mac = await r.ask("get_mac_address", {});
      assert.match(
        decodeOk("get_mac_address", r.client.responseTo(mac)).mac_address,
        /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/,
      );
      const sku = await r.ask("get_sku", {});
      assert.ok(decodeOk("get_sku", r.client.responseTo(sku)).sku.length > 0);
      const rev = await r.ask("get_board_revision", {});
      assert.equal(decodeOk("get_board_revision", r.client.responseTo(rev)).revision, 5);
      const sid = await r.ask("get_stats_id", {});
      assert.equal(decodeOk("get_stats_id", r.client.responseTo(sid)).stats_id, r.sim.statsId);
    });

    await t.step("core up time counts ms since start (u64)", async () => {
      await r.settle(1234);
      const seq = await r.ask("get_core_up_time_in_milliseconds", {});
      const up = decodeOk("get_core_up_time_in_milliseconds", r.client.responseTo(seq)).up_time;
      assert.ok(up >= 1234n && up < 1300n, `up time ${up}`);
    });

    await t.step("battery replies come from the battery model", async () => {
      const p = await r.ask("get_battery_percentage", {});
      assert.equal(
        decodeOk("get_battery_percentage", r.client.responseTo(p)).percentage,
        r.sim.battery.percentage,
      );
      const s = await r.ask("get_battery_voltage_state", {});
      assert.equal(
        decodeOk("get_battery_voltage_state", r.client.responseTo(s)).state,
        r.sim.battery.state,
      );
      for (const readingType of [0, 1, 2] as const) {
        const v = await r.ask("get_battery_voltage_in_volts", { reading_type: readingType });
        const volts = decodeOk("get_battery_voltage_in_volts", r.client.responseTo(v)).voltage;
        assert.ok(Math.abs(volts - r.sim.battery.voltage(readingType)) < 1e-3);
      }
      const th = await r.ask("get_battery_voltage_state_thresholds", {});
      const thresholds = decodeOk("get_battery_voltage_state_thresholds", r.client.responseTo(th));
      assert.ok(Math.abs(thresholds.low_threshold - r.sim.battery.thresholds.low) < 1e-3);
    });

    await t.step("echo returns the data on both nodes", async () => {
      for (const target of [1, 2]) {
        const seq = await r.ask("echo", { data: [1, 0x8d, 0xd8, 0xab, 255] }, { target });
        assert.deepEqual(decodeOk("echo", r.client.responseTo(seq)).data, [
          1,
          0x8d,
          0xd8,
          0xab,
          255,
        ]);
      }
    });
  } finally {
    await r.close();
  }
});

Deno.test("simulated RVR error paths", async (t) => {
  const r = rig();
  const raw = async (p: Omit<Packet, "flags"> & { flags?: number }) => {
    await r.client.send(encodePacket({ flags: 0x1a, ...p }));
    await r.settle();
    return r.client.responseTo(p.seq);
  };
  try {
    await t.step("unknown DID -> bad_did, unknown CID -> bad_cid", async () => {
      assert.equal(
        (await raw({ target: 1, did: 0x55, cid: 0, seq: 201, payload: new Uint8Array() })).err,
        0x01,
      );
      assert.equal(
        (await raw({ target: 1, did: 0x13, cid: 0x7f, seq: 202, payload: new Uint8Array() })).err,
        0x02,
      );
      // The 2019 get_motor_temperature (0x18/0x42) is not part of this firmware's API.
      assert.equal(
        (await raw({ target: 2, did: 0x18, cid: 0x42, seq: 203, payload: new Uint8Array([0]) }))
          .err,
        0x02,
      );
    });

    await t.step("a command on the wrong processor", async () => {
      // Drive lives only on the ST: the Nordic has no such device.
      const s1 = await r.ask("drive_with_heading", { speed: 0, heading: 0, flags: 0 }, {
        target: 1,
        requestsResponse: true,
      });
      assert.equal(r.client.responseTo(s1).err, ErrorCode.bad_did);
      assert.equal(r.client.responseTo(s1).source, 1);
      // system_info exists on both, get_sku only on the Nordic.
      const s2 = await r.ask("get_sku", {}, { target: 2 });
      assert.equal(r.client.responseTo(s2).err, ErrorCode.bad_cid);
      const s3 = await r.ask("get_battery_percentage", {}, { target: 2 });
      assert.equal(r.client.responseTo(s3).err, ErrorCode.bad_did);
    });

    await t.step("TID naming no node -> bad_tid; no TID -> Nordic", async () => {
      const bad = await raw({
        target: 0x03,
        did: 0x10,
        cid: 0,
        seq: 204,
        payload: new Uint8Array(),
      });
      assert.equal(bad.err, ErrorCode.bad_tid);
      await r.client.send(
        encodePacket({ flags: 0x0a, did: 0x11, cid: 0x1f, seq: 205, payload: new Uint8Array() }),
      );
      await r.settle();
      const reply = r.client.responseTo(205);
      assert.equal(reply.source, 1);
      assert.equal(decodeOk("get_processor_name", reply).name, "nRF52840");
    });

    await t.step("payload length wrong -> bad_data_length", async () => {
      assert.equal(
        (await raw({
          target: 2,
          did: 0x16,
          cid: 0x07,
          seq: 206,
          payload: new Uint8Array([1, 2, 3]),
        }))
          .err,
        0x05,
      );
      assert.equal(
        (await raw({ target: 1, did: 0x10, cid: 0x00, seq: 207, payload: new Uint8Array(17) })).err,
        0x05,
      );
      assert.equal(
        (await raw({ target: 1, did: 0x13, cid: 0x10, seq: 208, payload: new Uint8Array([0]) }))
          .err,
        0x05,
      );
    });

    await t.step("values out of range -> bad_data_value", async () => {
      const cases: [RequestName, Record<string, unknown>, number?][] = [
        ["raw_motors", { left_mode: 3, left_duty_cycle: 0, right_mode: 0, right_duty_cycle: 0 }],
        ["send_infrared_message", {
          infrared_code: 8,
          front_strength: 1,
          left_strength: 0,
          right_strength: 0,
          rear_strength: 0,
        }],
        ["send_infrared_message", {
          infrared_code: 1,
          front_strength: 65,
          left_strength: 0,
          right_strength: 0,
          rear_strength: 0,
        }],
        ["start_robot_to_robot_infrared_broadcasting", { far_code: 9, near_code: 1 }],
        ["start_robot_to_robot_infrared_following", { far_code: 1, near_code: 8 }],
        ["configure_streaming_service", { token: 5, configuration: [0, 1, 2] }, 2],
        ["configure_streaming_service", { token: 1, configuration: [0, 3, 0] }, 2],
        ["configure_streaming_service", { token: 1, configuration: [0, 1] }, 2],
        ["set_all_leds", { led_group: 0x7, led_brightness_values: [1, 2] }],
        ["set_all_leds", { led_group: 0x80000000, led_brightness_values: [1] }],
        ["get_battery_voltage_in_volts", { reading_type: 3 }],
        ["get_current_sense_amplifier_current", { amplifier_id: 2 }],
        ["get_temperature", { id0: 4, id1: 9 }],
        ["drive_to_position_si", { yaw_angle: 0, x: 0, y: 1, linear_speed: 0.5, flags: 3 }],
        ["enable_color_detection_notify", {
          is_enabled: true,
          interval: 0,
          minimum_confidence_threshold: 0,
        }],
        ["set_active_color_palette", { rgb_index_bytes: [1, 2, 3] }],
        ["load_color_palette", { palette_index: 200 }],
      ];
      const nan = new Uint8Array(8);
      new DataView(nan.buffer).setFloat32(0, NaN);
      const tank = await raw({ target: 2, did: 0x16, cid: 0x32, seq: 212, payload: nan });
      assert.equal(tank.err, ErrorCode.bad_data_value, "NaN velocity");
      for (const [name, params, target] of cases) {
        const seq = await r.ask(name, params as never, { target, requestsResponse: true });
        assert.equal(r.client.responseTo(seq).err, ErrorCode.bad_data_value, name);
      }
    });

    await t.step("generate_api_error answers with the code asked for", async () => {
      for (const code of [1, 6, 8, 0x0a, 0x42]) {
        const seq = await r.ask("generate_api_error", { error: code }, {
          target: 2,
          requestsResponse: true,
        });
        assert.equal(r.client.responseTo(seq).err, code);
        assert.equal(r.client.responseTo(seq).source, 2);
      }
      const ok = await r.ask("generate_api_error", { error: 0 }, {
        target: 1,
        requestsResponse: true,
      });
      assert.equal(r.client.responseTo(ok).err, 0);
    });

    await t.step("no reply without 0x02, even on error; error-only mode", async () => {
      r.client.take();
      await r.ask("generate_api_error", { error: 6 }, { target: 1 }); // 0x18
      await r.ask("get_sku", {}, { target: 2, requestsResponse: false });
      assert.equal(r.client.responses().length, 0);
      await r.ask("echo", { data: [1] }, { target: 1, errorOnly: true });
      assert.equal(r.client.responses().length, 0, "success in error-only mode: silence");
      const seq = await r.ask("generate_api_error", { error: 6 }, {
        target: 1,
        requestsResponse: true,
        errorOnly: true,
      });
      assert.equal(r.client.responseTo(seq).err, 6);
    });

    await t.step("responses and notifications sent to the robot are ignored", async () => {
      r.client.take();
      const before = r.sim.stats.packetsIgnored;
      // A response packet (0x39) and a notification's DID/CID (will_sleep_notify) with 0x02.
      await r.client.send(encodePacket({
        flags: 0x39,
        target: 0x21,
        source: 0x01,
        did: 0x10,
        cid: 0x00,
        seq: 209,
        err: 0,
        payload: new Uint8Array(),
      }));
      await r.client.send(
        encodePacket({
          flags: 0x1a,
          target: 1,
          did: 0x13,
          cid: 0x19,
          seq: 210,
          payload: new Uint8Array(),
        }),
      );
      await r.settle();
      assert.equal(r.client.received.length, 0);
      assert.equal(r.sim.stats.packetsIgnored, before + 2);
    });

    await t.step("bad frames are dropped silently and the decoder resyncs", async () => {
      r.client.take();
      const good = encodePacket({
        flags: 0x1a,
        target: 1,
        did: 0x10,
        cid: 0,
        seq: 211,
        payload: new Uint8Array([7]),
      });
      const bad = good.slice();
      bad[bad.length - 2] ^= 0xff; // checksum
      const dropped = r.sim.stats.framesDropped;
      await r.client.send(new Uint8Array([0x00, 0x12, ...bad, 0x8d, 0x1a, ...good]));
      await r.settle();
      assert.equal(r.sim.stats.framesDropped, dropped + 2, "bad checksum + early start");
      assert.deepEqual(decodeOk("echo", r.client.responseTo(211)).data, [7]);
    });
  } finally {
    await r.close();
  }
});

Deno.test("simulated RVR power: sleep, wake, inactivity", async (t) => {
  await t.step(
    "sleep: echo and power answer, drive/sensors/LEDs do not; wake restores",
    async () => {
      const r = rig();
      try {
        await r.ask("drive_with_heading", { speed: 100, heading: 0, flags: 0 });
        await r.settle(200);
        const sleep = await r.ask("sleep", {}, { requestsResponse: true });
        assert.equal(r.client.responseTo(sleep).err, 0);
        assert.equal(r.sim.powerState, "soft_sleep");
        assert.equal(r.client.notifications("did_sleep_notify").length, 1);
        // The did_sleep notification follows the reply.
        const order = r.client.received.map((p) =>
          p.flags & 1 ? "reply" : commandById(p.did, p.cid)?.name
        );
        assert.ok(order.indexOf("reply") < order.indexOf("did_sleep_notify"));
        assert.ok(!r.sim.body.isMoving || r.sim.body.speedMps < 0.01, "body halted");

        for (const target of [1, 2]) {
          const e = await r.ask("echo", { data: [9] }, { target });
          assert.deepEqual(decodeOk("echo", r.client.responseTo(e)).data, [9]);
        }
        const batt = await r.ask("get_battery_percentage", {});
        assert.equal(r.client.responseTo(batt).err, 0);
        const drive = await r.ask("drive_with_heading", { speed: 50, heading: 0, flags: 0 }, {
          requestsResponse: true,
        });
        assert.equal(r.client.responseTo(drive).err, ErrorCode.target_unavailable);
        const leds = await r.ask("set_all_leds", { led_group: 1, led_brightness_values: [9] }, {
          requestsResponse: true,
        });
        assert.equal(r.client.responseTo(leds).err, ErrorCode.target_unavailable);
        const enc = await r.ask("get_encoder_counts", {});
        assert.equal(r.client.responseTo(enc).err, ErrorCode.target_unavailable);
        const stop = await r.ask("drive_stop", {}, { requestsResponse: true });
        assert.equal(r.client.responseTo(stop).err, 0, "switching off still works");

        const wake = await r.ask("wake", {}, { requestsResponse: true });
        assert.equal(r.client.responseTo(wake).err, 0);
        assert.equal(r.sim.powerState, "awake");
        const again = await r.ask("drive_with_heading", { speed: 50, heading: 0, flags: 0 }, {
          requestsResponse: true,
        });
        assert.equal(r.client.responseTo(again).err, 0);
      } finally {
        await r.close();
      }
    },
  );

  await t.step("will_sleep 10 s before the timeout, did_sleep at it; activity resets", async () => {
    const r = rig({ inactivityTimeoutMs: 30_000 });
    try {
      await r.settle(19_000);
      assert.equal(r.client.notifications("will_sleep_notify").length, 0);
      // An activity-flagged packet (every SDK packet has 0x08) restarts the countdown.
      await r.ask("echo", { data: [] }, { target: 1 });
      await r.settle(19_500);
      assert.equal(r.client.notifications("will_sleep_notify").length, 0);
      await r.settle(1_000);
      const will = r.client.notifications("will_sleep_notify");
      assert.equal(will.length, 1);
      assert.deepEqual(
        [will[0].flags, will[0].target, will[0].source, will[0].seq, will[0].payload.length],
        [0x38, 0x21, 1, 0xff, 0],
      );
      assert.equal(r.sim.powerState, "awake");
      await r.settle(9_000);
      assert.equal(r.client.notifications("did_sleep_notify").length, 0);
      await r.settle(1_000);
      assert.equal(r.client.notifications("did_sleep_notify").length, 1);
      assert.equal(r.sim.powerState, "soft_sleep");
      // A packet without the activity flag does not count, and nothing else is sent while asleep.
      await r.client.send(
        encodePacket({
          flags: 0x12,
          target: 1,
          did: 0x10,
          cid: 0,
          seq: 50,
          payload: new Uint8Array(),
        }),
      );
      await r.settle(60_000);
      assert.equal(r.client.notifications("did_sleep_notify").length, 1);
      assert.equal(r.client.notifications("will_sleep_notify").length, 1);
    } finally {
      await r.close();
    }
  });

  await t.step("inactivityTimeoutMs 0 means never", async () => {
    const r = rig({ inactivityTimeoutMs: 0, physicsStepMs: 1000 });
    try {
      await r.settle(3_600_000);
      assert.equal(r.client.received.length, 0);
      assert.equal(r.sim.powerState, "awake");
    } finally {
      await r.close();
    }
  });

  await t.step("the default inactivity timeout is 300 s", async () => {
    const r = rig({ physicsStepMs: 100 });
    try {
      await r.settle(289_999);
      assert.equal(r.client.notifications("will_sleep_notify").length, 0);
      await r.settle(1);
      assert.equal(r.client.notifications("will_sleep_notify").length, 1);
      await r.settle(10_000);
      assert.equal(r.sim.powerState, "soft_sleep");
    } finally {
      await r.close();
    }
  });

  await t.step(
    "wake latency: the wake reply waits until ready; drive refused until then",
    async () => {
      const r = rig({ faults: { wakeLatencyMs: 1500 } });
      try {
        await r.ask("sleep", {});
        assert.equal(r.sim.powerState, "soft_sleep");
        const wake = await r.ask("wake", {}, { requestsResponse: true });
        assert.equal(r.sim.powerState, "awake");
        assert.equal(r.sim.isReady, false);
        assert.equal(r.client.responses().length, 0, "no wake reply yet");
        const early = await r.ask("drive_with_heading", { speed: 50, heading: 0, flags: 0 }, {
          requestsResponse: true,
        });
        assert.equal(r.client.responseTo(early).err, ErrorCode.target_unavailable);
        const echo = await r.ask("echo", { data: [1] }, { target: 2 });
        assert.equal(r.client.responseTo(echo).err, 0, "echo answers while waking");
        await r.settle(1400);
        assert.equal(r.client.responses().filter((p) => p.seq === wake).length, 0);
        await r.settle(100);
        assert.equal(r.client.responseTo(wake).err, 0);
        assert.equal(r.sim.isReady, true);
        const late = await r.ask("drive_with_heading", { speed: 50, heading: 0, flags: 0 }, {
          requestsResponse: true,
        });
        assert.equal(r.client.responseTo(late).err, 0);
        // Waking an awake, ready robot answers at once.
        const again = await r.ask("wake", {}, { requestsResponse: true });
        assert.equal(r.client.responseTo(again).err, 0);
      } finally {
        await r.close();
      }
    },
  );
});

Deno.test("simulated RVR drives its body", async (t) => {
  await t.step("drive_with_heading moves encoders and locator forward", async () => {
    const r = rig();
    try {
      await r.ask("drive_with_heading", { speed: 128, heading: 0, flags: 0 });
      await r.settle(1000);
      const enc = decodeOk(
        "get_encoder_counts",
        r.client.responseTo(await r.ask("get_encoder_counts", {})),
      );
      assert.equal(enc.encoder_counts.length, 2);
      assert.ok(
        enc.encoder_counts[0] > 100 && enc.encoder_counts[1] > 100,
        `encoders ${enc.encoder_counts}`,
      );
      assert.deepEqual(enc.encoder_counts, [r.sim.body.encoders.left, r.sim.body.encoders.right]);
      const pose = r.sim.body.pose;
      assert.ok(pose.y > 0.1, `moved forward: y ${pose.y}`);
      assert.ok(Math.abs(pose.x) < 0.05, `kept straight: x ${pose.x}`);
      const active = decodeOk(
        "get_active_control_system_id",
        r.client.responseTo(await r.ask("get_active_control_system_id", {})),
      );
      assert.equal(active.controller_id, r.sim.body.activeControllerId);
      assert.notEqual(active.controller_id, 0);
    } finally {
      await r.close();
    }
  });

  await t.step("drive_to_position_si ends with xy_position_drive_result_notify", async () => {
    const r = rig();
    try {
      await r.ask("drive_to_position_si", {
        yaw_angle: 0,
        x: 0,
        y: 0.5,
        linear_speed: 0.5,
        flags: 0,
      });
      await r.settle(10_000);
      const done = r.client.notifications("xy_position_drive_result_notify");
      assert.equal(done.length, 1);
      assert.deepEqual([done[0].flags, done[0].target, done[0].source, done[0].seq], [
        0x38,
        0x21,
        2,
        0xff,
      ]);
      assert.equal(
        decodeResponse("xy_position_drive_result_notify", done[0].payload).success,
        true,
      );
      assert.ok(Math.abs(r.sim.body.pose.y - 0.5) < 0.05, `y ${r.sim.body.pose.y}`);
    } finally {
      await r.close();
    }
  });

  await t.step("drive_stop -> robot_has_stopped_notify; stop controller state", async () => {
    const r = rig();
    try {
      await r.ask("drive_tank_si_units", { left_velocity: 0.5, right_velocity: 0.5 });
      await r.settle(500);
      const moving = decodeOk(
        "get_stop_controller_state",
        r.client.responseTo(await r.ask("get_stop_controller_state", {})),
      );
      assert.equal(moving.stopped, false);
      r.client.take();
      await r.ask("drive_stop", {});
      await r.settle(2000);
      const stopped = r.client.notifications("robot_has_stopped_notify");
      assert.equal(stopped.length, 1);
      assert.equal(stopped[0].source, 2);
      assert.equal(stopped[0].payload.length, 0);
      const state = decodeOk(
        "get_stop_controller_state",
        r.client.responseTo(await r.ask("get_stop_controller_state", {})),
      );
      assert.equal(state.stopped, true);
    } finally {
      await r.close();
    }
  });

  await t.step("slew parameters and control systems round-trip through the body", async () => {
    const r = rig();
    try {
      const params = {
        a: -100,
        b: 400,
        c: 150,
        linear_acceleration: 3,
        linear_velocity_slew_method: 1,
      };
      const set = await r.ask("set_drive_target_slew_parameters", params, {
        requestsResponse: true,
      });
      assert.equal(r.client.responseTo(set).err, 0);
      const got = decodeOk(
        "get_drive_target_slew_parameters",
        r.client.responseTo(await r.ask("get_drive_target_slew_parameters", {})),
      );
      assert.deepEqual(got, params);
      const def = decodeOk(
        "get_default_control_system_for_type",
        r.client.responseTo(
          await r.ask("get_default_control_system_for_type", { control_system_type: 3 }),
        ),
      );
      assert.equal(def.controller_id, r.sim.body.getDefaultControlSystem(3));
      const bad = await r.ask("get_default_control_system_for_type", { control_system_type: 99 });
      assert.equal(r.client.responseTo(bad).err, ErrorCode.bad_data_value);
    } finally {
      await r.close();
    }
  });

  await t.step("motor stall notify only when enabled", async () => {
    const r = rig();
    try {
      r.sim.body.setTreadBlocked("left", true);
      await r.ask("drive_tank_si_units", { left_velocity: 0.5, right_velocity: 0.5 });
      await r.settle(1000);
      assert.equal(r.client.notifications("motor_stall_notify").length, 0, "not enabled");
      r.sim.body.setTreadBlocked("left", false);
      await r.ask("drive_stop", {});
      await r.settle(2000);
      await r.ask("enable_motor_stall_notify", { is_enabled: true });
      r.sim.body.setTreadBlocked("right", true);
      await r.ask("drive_tank_si_units", { left_velocity: 0.5, right_velocity: 0.5 });
      await r.settle(1000);
      const stalls = r.client.notifications("motor_stall_notify")
        .map((p) => decodeResponse("motor_stall_notify", p.payload));
      assert.ok(stalls.some((s) => s.motor_index === 1 && s.is_triggered), JSON.stringify(stalls));
    } finally {
      await r.close();
    }
  });

  await t.step("gyro max notify only when enabled", async () => {
    const r = rig();
    try {
      r.sim.body.setExternalRotation({ x: 0, y: 0, z: 2500 });
      await r.settle(200);
      assert.equal(r.client.notifications("gyro_max_notify").length, 0, "not enabled");
      r.sim.body.setExternalRotation(null);
      await r.settle(200);
      await r.ask("enable_gyro_max_notify", { is_enabled: true });
      r.sim.body.setExternalRotation({ x: 0, y: 0, z: 2500 });
      await r.settle(200);
      const ntf = r.client.notifications("gyro_max_notify");
      assert.ok(ntf.length >= 1);
      assert.equal(ntf[0].source, 2);
      assert.equal(decodeResponse("gyro_max_notify", ntf[0].payload).flags & 0x10, 0x10, "+Z");
    } finally {
      r.sim.body.setExternalRotation(null);
      await r.close();
    }
  });

  await t.step("motor fault knob: get_motor_fault_state and motor_fault_notify", async () => {
    const r = rig();
    try {
      await r.ask("enable_motor_fault_notify", { is_enabled: true });
      r.sim.setMotorFault(true);
      await r.settle();
      const ntf = r.client.notifications("motor_fault_notify");
      assert.equal(ntf.length, 1);
      assert.equal(decodeResponse("motor_fault_notify", ntf[0].payload).is_fault, true);
      const state = await r.ask("get_motor_fault_state", {});
      assert.equal(decodeOk("get_motor_fault_state", r.client.responseTo(state)).is_fault, true);
    } finally {
      await r.close();
    }
  });

  await t.step("magnetometer calibration turns once, then reports north", async () => {
    const r = rig();
    try {
      await r.ask("magnetometer_calibrate_to_north", {});
      await r.settle(100);
      assert.equal(r.sim.body.isCalibratingMagnetometer, true);
      assert.equal(r.client.notifications("magnetometer_calibration_complete_notify").length, 0);
      await r.settle(10_000);
      const done = r.client.notifications("magnetometer_calibration_complete_notify");
      assert.equal(done.length, 1);
      const v = decodeResponse("magnetometer_calibration_complete_notify", done[0].payload);
      assert.equal(v.is_successful, true);
      assert.equal(v.yaw_north_direction, Math.round(r.sim.member.northYawDeg()));
      const mag = decodeOk(
        "get_magnetometer_reading",
        r.client.responseTo(await r.ask("get_magnetometer_reading", {})),
      );
      assert.ok(Math.hypot(mag.x_axis, mag.y_axis, mag.z_axis) > 10, "earth field");
    } finally {
      await r.close();
    }
  });

  await t.step("a drive command interrupts the calibration: is_successful false", async () => {
    const r = rig();
    try {
      await r.ask("magnetometer_calibrate_to_north", {});
      await r.settle(500);
      await r.ask("drive_stop", {});
      await r.settle(1000);
      const done = r.client.notifications("magnetometer_calibration_complete_notify");
      assert.equal(done.length, 1);
      assert.equal(
        decodeResponse("magnetometer_calibration_complete_notify", done[0].payload).is_successful,
        false,
      );
    } finally {
      await r.close();
    }
  });

  await t.step("temperatures and thermal status from the thermal model", async () => {
    const r = rig();
    try {
      const seq = await r.ask("get_temperature", { id0: 4, id1: 8 });
      const v = decodeOk("get_temperature", r.client.responseTo(seq));
      assert.equal(v.id0, 4);
      assert.equal(v.id1, 8);
      assert.ok(Math.abs(v.temp0 - r.sim.thermal.temperature(4)) < 0.01);
      assert.ok(Math.abs(v.temp1 - r.sim.thermal.nordicDieC) < 0.01);
      await r.ask("enable_motor_thermal_protection_status_notify", { is_enabled: true });
      r.sim.thermal.setMotorTemperature("left", 120);
      await r.settle(100);
      const ntf = r.client.notifications("motor_thermal_protection_status_notify");
      assert.ok(ntf.length >= 1, "status change notified");
      const last = decodeResponse(
        "motor_thermal_protection_status_notify",
        ntf[ntf.length - 1].payload,
      );
      assert.equal(last.left_motor_status, r.sim.thermal.left.status);
      assert.notEqual(last.left_motor_status, 0);
      const status = decodeOk(
        "get_motor_thermal_protection_status",
        r.client.responseTo(await r.ask("get_motor_thermal_protection_status", {})),
      );
      assert.equal(status.left_motor_status, r.sim.thermal.left.status);
    } finally {
      await r.close();
    }
  });

  await t.step("battery state change notify only when enabled", async () => {
    const r = rig();
    try {
      r.sim.battery.setPercentage(3);
      await r.settle(3000);
      assert.equal(r.client.notifications("battery_voltage_state_change_notify").length, 0);
      await r.ask("enable_battery_voltage_state_change_notify", { is_enabled: true });
      r.sim.battery.setPercentage(100);
      await r.settle(3000);
      const ntf = r.client.notifications("battery_voltage_state_change_notify");
      assert.ok(ntf.length >= 1);
      assert.equal(
        decodeResponse("battery_voltage_state_change_notify", ntf[ntf.length - 1].payload).state,
        r.sim.battery.state,
      );
    } finally {
      await r.close();
    }
  });
});

Deno.test("simulated RVR LEDs, colour sensor, palettes", async (t) => {
  await t.step("set_all_leds stores one byte per set bit in ascending order", async () => {
    const r = rig();
    try {
      // Both headlights white, then the left brake light (bits 24-26) 1, 2, 3.
      await r.ask("set_all_leds", {
        led_group: 0x3f,
        led_brightness_values: [255, 255, 255, 255, 255, 255],
      });
      await r.ask("set_all_leds", { led_group: 0x07000000, led_brightness_values: [1, 2, 3] });
      const leds = r.sim.leds;
      assert.equal(leds.length, 31);
      assert.deepEqual(leds.slice(0, 6), [255, 255, 255, 255, 255, 255]);
      assert.deepEqual(leds.slice(24, 27), [1, 2, 3]);
      assert.equal(leds[6], 0);
      assert.equal(r.sim.ledsReleased, false);
      // The golden vector (all ten RGB LEDs red).
      const v = VECTORS.find((x) => x.name === "set_all_leds_all_red");
      assert.ok(v);
      await r.client.send(fromHex(v.bytes_hex));
      await r.settle();
      assert.deepEqual(
        r.sim.leds.slice(0, 30),
        Array.from({ length: 30 }, (_, i) => i % 3 === 0 ? 255 : 0),
      );
      await r.ask("release_led_requests", {});
      assert.equal(r.sim.ledsReleased, true);
      assert.ok(r.sim.leds.every((x) => x === 0));
    } finally {
      await r.close();
    }
  });

  await t.step("colour detection: on demand and periodic, filtered by confidence", async () => {
    const world = new SimWorld({ floorDefault: { r: 250, g: 5, b: 5 } });
    const r = rig({ world });
    try {
      await r.ask("enable_color_detection", { is_enabled: true });
      assert.equal(r.sim.colorDetectionEnabled, true);
      assert.equal(r.sim.leds[30], 255, "belly LED on");
      const seq = await r.ask("get_current_detected_color_reading", {}, { requestsResponse: true });
      assert.equal(r.client.responseTo(seq).err, 0);
      const one = r.client.notifications("color_detection_notify");
      assert.equal(one.length, 1);
      assert.equal(one[0].source, 1);
      const c = decodeResponse("color_detection_notify", one[0].payload);
      assert.deepEqual([c.red, c.green, c.blue], [250, 5, 5]);
      assert.equal(c.color_classification_id, 1, "red in the default palette");
      assert.ok(c.confidence > 200);

      const rgbc = decodeOk(
        "get_rgbc_sensor_values",
        r.client.responseTo(await r.ask("get_rgbc_sensor_values", {})),
      );
      assert.ok(rgbc.red_channel_value > 10 * rgbc.green_channel_value, "red dominates");
      assert.ok(rgbc.clear_channel_value >= rgbc.red_channel_value);

      r.client.take();
      await r.ask("enable_color_detection_notify", {
        is_enabled: true,
        interval: 100,
        minimum_confidence_threshold: 0,
      });
      await r.settle(1000);
      assert.equal(r.client.notifications("color_detection_notify").length, 10);
      await r.ask("enable_color_detection_notify", {
        is_enabled: true,
        interval: 100,
        minimum_confidence_threshold: 255,
      });
      r.client.take();
      await r.settle(1000);
      assert.equal(r.client.notifications("color_detection_notify").length, 0, "below threshold");
      await r.ask("enable_color_detection_notify", {
        is_enabled: false,
        interval: 0,
        minimum_confidence_threshold: 0,
      });
      await r.ask("enable_color_detection", { is_enabled: false });
      const off = await r.ask("get_current_detected_color_reading", {}, { requestsResponse: true });
      assert.equal(r.client.responseTo(off).err, ErrorCode.restricted);
      await r.settle(500);
      assert.equal(r.client.notifications("color_detection_notify").length, 0);
    } finally {
      await r.close();
    }
  });

  await t.step("palettes: set, get, save, load, identification report", async () => {
    const r = rig();
    try {
      const palette = [0, 10, 20, 30, 1, 200, 0, 0];
      await r.ask("set_active_color_palette", { rgb_index_bytes: palette });
      const got = decodeOk(
        "get_active_color_palette",
        r.client.responseTo(await r.ask("get_active_color_palette", {})),
      );
      assert.deepEqual(got.rgb_index_bytes, palette);
      await r.ask("save_color_palette", { palette_index: 2 });
      await r.ask("load_color_palette", { palette_index: 0 });
      const def = decodeOk(
        "get_active_color_palette",
        r.client.responseTo(await r.ask("get_active_color_palette", {})),
      );
      assert.notDeepEqual(def.rgb_index_bytes, palette);
      await r.ask("load_color_palette", { palette_index: 2 });
      assert.deepEqual(r.sim.activePalette.map((e) => e.index), [0, 1]);
      const report = decodeOk(
        "get_color_identification_report",
        r.client.responseTo(
          await r.ask("get_color_identification_report", {
            red: 210,
            green: 0,
            blue: 0,
            confidence_threshold: 100,
          }),
        ),
      ).index_confidence_byte;
      assert.equal(report.length, 2, "one (index, confidence) pair");
      assert.equal(report[0], 1);
      assert.ok(report[1] > 200);
    } finally {
      await r.close();
    }
  });

  await t.step("ambient light from the world", async () => {
    const r = rig({ world: new SimWorld({ ambientLux: 777 }) });
    try {
      const v = decodeOk(
        "get_ambient_light_sensor_value",
        r.client.responseTo(await r.ask("get_ambient_light_sensor_value", {})),
      );
      assert.ok(Math.abs(v.ambient_light_value - 777) < 0.01);
    } finally {
      await r.close();
    }
  });
});

Deno.test("two simulated RVRs in one world exchange IR messages", async () => {
  const world = new SimWorld();
  const a = rig({ world, name: "RV-000A", body: { worldPose: { x: 0, y: 0 } } });
  const [hostB, deviceB] = MemoryPort.pair("b");
  // B stands 0.8 m in front of A (inside the 1 m near range), facing it.
  const b = new SimulatedRvr(deviceB, {
    world,
    name: "RV-000B",
    body: { worldPose: { x: 0, y: 0.8, headingRad: Math.PI } },
  });
  b.start();
  const clientB = new TestClient(hostB);
  try {
    await clientB.request("enable_robot_infrared_message_notify", { is_enabled: true });
    await a.ask("send_infrared_message", {
      infrared_code: 5,
      front_strength: 64,
      left_strength: 0,
      right_strength: 0,
      rear_strength: 0,
    });
    await a.settle(10);
    const got = clientB.notifications("robot_to_robot_infrared_message_received_notify");
    assert.equal(got.length, 1);
    assert.equal(got[0].source, 2);
    assert.equal(
      decodeResponse("robot_to_robot_infrared_message_received_notify", got[0].payload)
        .infrared_code,
      5,
    );
    assert.equal(
      a.client.notifications("robot_to_robot_infrared_message_received_notify").length,
      0,
    );

    // Broadcasting shows up in the other robot's IR readings.
    await a.ask("start_robot_to_robot_infrared_broadcasting", { far_code: 2, near_code: 3 });
    await a.settle(300); // past the message hold time
    await clientB.request("get_bot_to_bot_infrared_readings", {});
    await a.settle();
    const readings = clientB.responses().filter((p) => p.did === 0x18 && p.cid === 0x22);
    assert.equal(readings.length, 1);
    const bytes =
      decodeResponse("get_bot_to_bot_infrared_readings", readings[0].payload).sensor_data;
    const perReceiver = [0, 8, 16, 24].map((s) => (bytes >>> s) & 0xff);
    assert.ok(perReceiver.includes(3), `near code seen: ${perReceiver}`);

    // Following: B drives toward A.
    const before = b.body.worldPose.y;
    await clientB.request("start_robot_to_robot_infrared_following", { far_code: 2, near_code: 3 });
    await a.settle(2000);
    assert.ok(b.body.worldPose.y < before - 0.1, `B approached A: ${b.body.worldPose.y}`);
    // A drive command takes over from the follow controller.
    await clientB.request("drive_stop", {});
    await a.settle(2000);
    const stoppedAt = b.body.worldPose.y;
    await a.settle(1000);
    assert.equal(b.body.worldPose.y, stoppedAt, "B stays stopped");
    assert.equal(b.body.isStopped, true);
  } finally {
    await b.stop();
    await hostB.close();
    await a.close();
  }
});

Deno.test("disable_notifications_and_active_commands switches everything off", async () => {
  const r = rig();
  try {
    await r.ask("enable_motor_stall_notify", { is_enabled: true });
    await r.ask("enable_color_detection", { is_enabled: true });
    await r.ask("enable_color_detection_notify", {
      is_enabled: true,
      interval: 50,
      minimum_confidence_threshold: 0,
    });
    await r.ask("configure_streaming_service", { token: 1, configuration: [0, 2, 2] }, {
      target: 2,
    });
    await r.ask("start_streaming_service", { period: 50 }, { target: 2 });
    await r.ask("drive_tank_si_units", { left_velocity: 0.5, right_velocity: 0.5 });
    await r.settle(200);
    assert.ok(r.client.notifications("streaming_service_data_notify").length > 0);
    const seq = await r.ask("disable_notifications_and_active_commands", {}, {
      requestsResponse: true,
    });
    assert.equal(r.client.responseTo(seq).err, 0);
    r.client.take();
    r.sim.body.setTreadBlocked("left", true);
    await r.ask("drive_tank_si_units", { left_velocity: 0.5, right_velocity: 0.5 });
    await r.settle(1000);
    assert.equal(r.client.notifications("streaming_service_data_notify").length, 0);
    assert.equal(r.client.notifications("color_detection_notify").length, 0);
    assert.equal(r.client.notifications("motor_stall_notify").length, 0);
    assert.equal(r.sim.streamingSlots(2).size, 0);
    assert.equal(r.sim.colorDetectionEnabled, false);
  } finally {
    await r.close();
  }
});

Deno.test("SimulatedRvr options and lifecycle", async (t) => {
  await t.step("bad options are RangeErrors naming the option", () => {
    const [, device] = MemoryPort.pair();
    assert.throws(
      () => new SimulatedRvr(device, { inactivityTimeoutMs: -1 }),
      /inactivityTimeoutMs/,
    );
    assert.throws(() => new SimulatedRvr(device, { physicsStepMs: 0 }), /physicsStepMs/);
    assert.throws(() => new SimulatedRvr(device, { name: "" }), /name/);
    assert.throws(() => new SimulatedRvr(device, { faults: { replyDelayMs: -1 } }), /replyDelayMs/);
  });

  await t.step(
    "start twice throws; stop is idempotent; a closed port stops the timers",
    async () => {
      const r = rig();
      try {
        assert.throws(() => r.sim.start(), /already running/);
        await r.client.port.close();
        await r.settle(50);
        const out = r.sim.stats.packetsOut;
        await r.settle(400_000);
        assert.equal(r.sim.stats.packetsOut, out, "no will_sleep after the port closed");
        assert.deepEqual(r.sim.world.memberNames, [r.sim.name]);
        await r.sim.stop();
        assert.deepEqual(r.sim.world.memberNames, [], "left the world");
        await r.sim.stop();
      } finally {
        await r.close();
      }
    },
  );
});
