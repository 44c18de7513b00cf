/**
 * Sensor streaming (section 10): the service table against docs/protocol.md, normalisation and
 * its inverse, slot configuration parsing/encoding, and packed slot data.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DATA_BYTES,
  type DataBytes,
  decodeSlotData,
  denormalize,
  encodeRequest,
  encodeSlotConfiguration,
  encodeSlotData,
  MAX_SERVICES_PER_SLOT,
  NODE_SDK_STREAM_SLOTS,
  type NodeId,
  normalize,
  parseSlotConfiguration,
  parseTokenByte,
  PYTHON_SDK_STREAM_SLOTS,
  serviceById,
  serviceByKey,
  slotDataLength,
  type SlotEntry,
  STREAM_SERVICE_KEYS,
  STREAM_SERVICES,
  type StreamAttribute,
  type StreamService,
} from "../../src/protocol/mod.ts";
import { fromHex, loadVectors, toHex } from "./_helpers.ts";
import { protocolDocSection } from "../_helpers/mod.ts";

const maxRaw = (bytes: DataBytes) => 2 ** (8 * bytes) - 1;
/** trunc(min + raw / (2^N - 1) * (max - min)) in exact integer arithmetic (integer attributes). */
const exactInteger = (raw: number, bytes: DataBytes, a: StreamAttribute): number => {
  const top = BigInt(maxRaw(bytes));
  return Number((BigInt(a.min) * top + BigInt(raw) * BigInt(a.max - a.min)) / top);
};
/** Value-space width of one raw step. */
const rawStep = (bytes: DataBytes, a: StreamAttribute) => (a.max - a.min) / maxRaw(bytes);

const ALL: { service: StreamService; attr: StreamAttribute; bytes: DataBytes }[] = STREAM_SERVICES
  .flatMap((
    service,
  ) => service.attributes.flatMap((attr) => DATA_BYTES.map((bytes) => ({ service, attr, bytes }))));

/** A valid slot for `node`: 1 to 5 services it streams, any sizes. */
const slotArb = (node: NodeId): fc.Arbitrary<SlotEntry[]> =>
  fc.array(
    fc.record({
      service: fc.constantFrom(
        ...STREAM_SERVICES.filter((s) => (s.nodes as readonly number[]).includes(node)),
      ),
      bytes: fc.constantFrom(...DATA_BYTES),
    }).map(({ service, bytes }): SlotEntry => ({ service, bytes })), // plain objects, not null-prototype
    { minLength: 1, maxLength: MAX_SERVICES_PER_SLOT },
  );

Deno.test("service table matches section 10.2 of docs/protocol.md", async () => {
  const section = await protocolDocSection("### 10.2 Services");
  const rows = section.split("\n").filter((l) => /^\|\s*0x[0-9A-F]{4}\s*\|/.test(l)).map((l) =>
    l.split("|").slice(1, -1).map((c) => c.trim())
  );
  assert.equal(rows.length, STREAM_SERVICES.length);
  assert.equal(new Set(rows.map(([id]) => Number(id))).size, rows.length, "each id once");
  const parseRanges = (cell: string) =>
    cell.split(",").map((part) => {
      const m = /^(\w+) (-?[\d.]+)\.\.(-?[\d.]+)$/.exec(part.trim());
      if (!m) {
        throw new Error(`Cannot parse attribute "${part}" in section 10.2 of docs/protocol.md`);
      }
      return { name: m[1], min: Number(m[2]), max: Number(m[3]) };
    });
  for (const [idText, nameCell, nodeCell, attrCell, , pythonCell, nodeSdkCell] of rows) {
    const service = serviceById(Number(idText));
    assert.ok(service, `service ${idText} missing`);
    assert.equal(service.name, nameCell, idText);
    assert.deepEqual(
      [...service.nodes],
      nodeCell === "1 and 2" ? [1, 2] : [Number(nodeCell)],
      service.name,
    );
    const attrs = service.attributes.map(({ name, min, max }) => ({ name, min, max }));
    assert.deepEqual(attrs, parseRanges(attrCell), service.name);
    // The doc's SDK columns against this project's transcription of the SDKs (stream_slots.ts).
    const py = /^(\d+)-bit, token (\d)$/.exec(pythonCell);
    const pyRow = PYTHON_SDK_STREAM_SLOTS.find((r) => r.serviceId === service.id);
    assert.equal(pyRow !== undefined, py !== null, `${service.name}: in the Python SDK's table`);
    if (py && pyRow) {
      assert.equal(pyRow.bytes * 8, Number(py[1]), `${service.name} Python SDK size`);
      assert.equal(pyRow.token, Number(py[2]), `${service.name} Python SDK token`);
    } else {
      assert.equal(pythonCell, "\u2014", `${service.name}: Python SDK column`);
    }
    const node = /^(\d+)-bit, (ST|Nordic) token (\d)$/.exec(nodeSdkCell);
    const nodeRows = NODE_SDK_STREAM_SLOTS.filter((r) => r.serviceId === service.id);
    assert.equal(nodeRows.length > 0, node !== null, `${service.name}: in the Node.js SDK's table`);
    if (node) {
      assert.deepEqual(
        nodeRows.map((r) => [r.bytes * 8, r.node, r.token]),
        [[Number(node[1]), node[2] === "ST" ? 2 : 1, Number(node[3])]],
        `${service.name} Node.js SDK slot`,
      );
    } else {
      assert.equal(nodeSdkCell, "\u2014", `${service.name}: Node.js SDK column`);
    }
  }
  // Section 10.2, "Integers": the Python SDK truncates R, G, B, Index, encoder ticks, core time.
  const integer = STREAM_SERVICES.flatMap((s) =>
    s.attributes.filter((a) => a.integer).map((a) => `${s.name}.${a.name}`)
  );
  assert.deepEqual(integer, [
    "ColorDetection.R",
    "ColorDetection.G",
    "ColorDetection.B",
    "ColorDetection.Index",
    "CoreTimeLower.Time",
    "CoreTimeUpper.Time",
    "Encoders.LeftTicks",
    "Encoders.RightTicks",
  ]);
  assert.equal(serviceByKey("imu"), serviceByKey("IMU"));
  assert.deepEqual(STREAM_SERVICE_KEYS, STREAM_SERVICES.map((s) => s.key));
  assert.throws(() => serviceByKey("lidar"), {
    name: "TypeError",
    message: /Unknown sensor stream "lidar".*accelerometer/,
  });
});

Deno.test("normalisation", async (t) => {
  await t.step(
    "value -> raw -> value stays within one raw step, for every attribute and size",
    () => {
      for (const { service, attr, bytes } of ALL) {
        const where = `${service.name}.${attr.name}/${bytes * 8}`;
        fc.assert(
          fc.property(fc.double({ min: attr.min, max: attr.max, noNaN: true }), (v) => {
            const raw = denormalize(v, bytes, attr);
            assert.ok(
              Number.isInteger(raw) && raw >= 0 && raw <= maxRaw(bytes),
              `${where}: raw ${raw}`,
            );
            const back = normalize(raw, bytes, attr);
            // Half a step from rounding; integer attributes may lose up to 1 more by truncation.
            const tolerance = rawStep(bytes, attr) / 2 + (attr.integer ? 1 : 0) +
              1e-9 * (attr.max - attr.min);
            assert.ok(Math.abs(back - v) <= tolerance, `${where}: ${v} -> ${raw} -> ${back}`);
          }),
          { numRuns: 200 },
        );
      }
    },
  );

  await t.step("raw -> value -> raw is the identity within one raw step", () => {
    for (const { service, attr, bytes } of ALL) {
      // Integer attributes narrower than the raw width (R at 16 bit) cannot come back: their
      // value -> raw -> value direction is exact instead (next step).
      if (attr.integer && rawStep(bytes, attr) < 1) continue;
      fc.assert(
        fc.property(fc.integer({ min: 0, max: maxRaw(bytes) }), (raw) => {
          const back = denormalize(normalize(raw, bytes, attr), bytes, attr);
          assert.ok(
            Math.abs(back - raw) <= 1,
            `${service.name}.${attr.name}/${bytes * 8}: ${raw} -> ${back}`,
          );
        }),
        { numRuns: 200 },
      );
      for (const raw of [0, 1, maxRaw(bytes) - 1, maxRaw(bytes)]) {
        assert.ok(Math.abs(denormalize(normalize(raw, bytes, attr), bytes, attr) - raw) <= 1);
      }
    }
  });

  await t.step("integer attributes truncate and round-trip integer values exactly", () => {
    for (const { service, attr, bytes } of ALL.filter((x) => x.attr.integer)) {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: maxRaw(bytes) }), (raw) => {
          const v = normalize(raw, bytes, attr);
          assert.ok(Number.isInteger(v), `${service.name}.${attr.name}: ${v}`);
          assert.equal(v, exactInteger(raw, bytes, attr), `${service.name}.${attr.name}: ${raw}`);
        }),
        { numRuns: 100 },
      );
      if (rawStep(bytes, attr) <= 1) {
        fc.assert(
          fc.property(fc.integer({ min: attr.min, max: attr.max }), (v) => {
            assert.equal(normalize(denormalize(v, bytes, attr), bytes, attr), v);
          }),
          { numRuns: 100 },
        );
      }
    }
    const r = serviceByKey("color_detection").attributes[0];
    assert.equal(normalize(32768, 2, r), 127, "127.50... truncates, it does not round");
    assert.equal(normalize(0xffff, 2, r), 255);
    const confidence = serviceByKey("color_detection").attributes[4];
    assert.equal(confidence.integer, false);
    assert.equal(normalize(0xcc, 1, confidence), 0.8);
  });

  await t.step(
    "every raw value of an integer attribute round-trips exactly, at 8/16/32 bits",
    () => {
      const integers = ALL.filter((x) => x.attr.integer);
      assert.deepEqual(
        [...new Set(integers.map((x) => x.bytes))],
        [1, 2, 4],
        "every width is covered",
      );
      for (const { service, attr, bytes } of integers) {
        const where = `${service.name}.${attr.name}/${bytes * 8}`;
        const check = (raw: number) => {
          const v = normalize(raw, bytes, attr);
          assert.equal(v, exactInteger(raw, bytes, attr), `${where}: raw ${raw}`);
          if (attr.min === 0 && attr.max === maxRaw(bytes)) {
            assert.equal(v, raw, `${where}: the identity gives the raw value itself`);
          }
          // Where every raw value has a value of its own, the value gives the raw value back.
          if (rawStep(bytes, attr) >= 1) {
            assert.equal(denormalize(v, bytes, attr), raw, `${where}: raw ${raw} -> ${v}`);
          }
        };
        if (bytes < 4) {
          for (let raw = 0; raw <= maxRaw(bytes); raw++) check(raw); // every raw value
        } else {
          fc.assert(fc.property(fc.integer({ min: 0, max: maxRaw(bytes) }), check), {
            numRuns: 2000,
          });
          // Both ends, powers of two and their neighbours, and the values 2^32 / 255 apart.
          for (let k = 0; k < 32; k++) [2 ** k - 1, 2 ** k, 2 ** k + 1].forEach(check);
          for (let k = 0; k <= 255; k++) {
            const raw = Math.round((k * maxRaw(4)) / 255);
            [raw - 1, raw, raw + 1].filter((r) => r >= 0 && r <= maxRaw(4)).forEach(check);
          }
          [maxRaw(4) - 1, maxRaw(4)].forEach(check);
        }
      }
      // Through the slot decoder too: encoders and core time as the robot streams them.
      const slot = [
        { service: serviceByKey("encoders"), bytes: 4 as const },
        { service: serviceByKey("core_time_lower"), bytes: 4 as const },
      ];
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 0, max: maxRaw(4) }), { minLength: 3, maxLength: 3 }),
          ([left, right, time]) => {
            const data = new Uint8Array(12);
            const view = new DataView(data.buffer);
            view.setUint32(0, left);
            view.setUint32(4, right);
            view.setUint32(8, time);
            const v = decodeSlotData(slot, data);
            assert.deepEqual(v.encoders, { LeftTicks: left, RightTicks: right });
            assert.deepEqual(v.core_time_lower, { Time: time });
          },
        ),
        { numRuns: 500 },
      );
    },
  );

  await t.step("denormalize clamps to the attribute's range", () => {
    for (const { attr, bytes } of ALL) {
      assert.equal(denormalize(attr.max + 1000, bytes, attr), maxRaw(bytes));
      assert.equal(denormalize(attr.min - 1000, bytes, attr), 0);
      assert.equal(denormalize(attr.min, bytes, attr), 0);
      assert.equal(denormalize(attr.max, bytes, attr), maxRaw(bytes));
    }
  });
});

Deno.test("slot configuration", async (t) => {
  const imu = serviceByKey("imu");
  const accel = serviceByKey("accelerometer");

  await t.step("parse accepts the section 10.3 example", () => {
    assert.deepEqual(parseSlotConfiguration([0x00, 0x01, 0x02, 0x00, 0x02, 0x02], 2), [
      { service: imu, bytes: 4 },
      { service: accel, bytes: 4 },
    ]);
  });

  await t.step("parse rejects bad input with a reason", () => {
    const cases: [number[], NodeId, RegExp][] = [
      [[0x00, 0x0c, 0x02], 2, /unknown service 0x000c/],
      [[0xff, 0xff, 0x00], 1, /unknown service 0xffff/],
      [[0x00, 0x03, 0x00], 2, /service ColorDetection is not on node 2/],
      [[0x00, 0x01, 0x02], 1, /service IMU is not on node 1/],
      [[0x00, 0x01, 0x03], 2, /bad size code 3 for IMU/],
      [[0x00, 0x01, 0xff], 2, /bad size code 255/],
      [
        Array.from({ length: 6 }, (_, i) => [0x00, i === 3 ? 0x04 : i % 3, 0x02]).flat(),
        2,
        /names 6 services; a slot holds at most 5/,
      ],
      [[0x00, 0x01], 2, /configuration has 2 bytes; it takes 3 per service/],
      [[0x00, 0x01, 0x02, 0x00], 2, /has 4 bytes; it takes 3 per service/],
      [[], 2, /has 0 bytes/],
    ];
    for (const [bytes, node, reason] of cases) {
      const result = parseSlotConfiguration(bytes, node);
      assert.equal(typeof result, "string", `${toHex(bytes)} on node ${node} was accepted`);
      assert.match(result as string, reason);
    }
    // Both core-time halves stream from either node.
    assert.equal(typeof parseSlotConfiguration([0x00, 0x05, 0x02, 0x00, 0x09, 0x02], 1), "object");
    assert.equal(typeof parseSlotConfiguration([0x00, 0x05, 0x02, 0x00, 0x09, 0x02], 2), "object");
  });

  await t.step("encode rejects empty and overfull slots", () => {
    assert.throws(() => encodeSlotConfiguration([]), {
      name: "RangeError",
      message: /1 to 5 services, got 0/,
    });
    assert.throws(() => encodeSlotConfiguration(new Array(6).fill({ service: imu, bytes: 4 })), {
      name: "RangeError",
      message: /got 6/,
    });
  });

  await t.step("encode -> parse round trip (property)", () => {
    for (const node of [1, 2] as const) {
      fc.assert(
        fc.property(slotArb(node), (entries) => {
          const bytes = encodeSlotConfiguration(entries);
          assert.equal(bytes.length, 3 * entries.length);
          assert.deepEqual(parseSlotConfiguration(bytes, node), entries);
        }),
        { numRuns: 100 },
      );
    }
  });

  await t.step(
    "reproduces the Python SDK's sensor_control.start() bytes (stream_setup_*)",
    async () => {
      const vectors = (await loadVectors()).filter((v) => v.name.startsWith("stream_setup_"));
      assert.equal(vectors.length, 6);
      const { interval, services_in_order } = vectors[0].params as {
        interval: number;
        services_in_order: string[];
      };
      // The SDK's algorithm (section 10.3): group by node and default token in the order the handlers
      // were added; configure node 1 then node 2 (ascending token), then start node 1, node 2.
      const slots = new Map<string, SlotEntry[]>();
      for (const name of services_in_order) {
        const service = serviceByKey(name);
        const row = PYTHON_SDK_STREAM_SLOTS.find((r) => r.serviceId === service.id);
        assert.ok(row, name);
        const key = `${row.node}:${row.token}`;
        slots.set(key, [...slots.get(key) ?? [], { service, bytes: row.bytes }]);
      }
      let seq = vectors[0].frame.seq;
      const wire: string[] = [];
      for (const node of [1, 2] as const) {
        for (let token = 1; token <= 4; token++) {
          const entries = slots.get(`${node}:${token}`);
          if (!entries) continue;
          const configuration = encodeSlotConfiguration(entries);
          wire.push(
            toHex(
              encodeRequest("configure_streaming_service", { token, configuration }, {
                seq: seq++,
                target: node,
              }),
            ),
          );
        }
      }
      for (const node of [1, 2] as const) {
        wire.push(
          toHex(
            encodeRequest("start_streaming_service", { period: interval }, {
              seq: seq++,
              target: node,
            }),
          ),
        );
      }
      assert.deepEqual(wire, vectors.map((v) => v.bytes_hex));
      // And the configure payloads alone.
      assert.deepEqual(
        encodeSlotConfiguration([{ service: imu, bytes: 4 }, { service: accel, bytes: 4 }]),
        [...fromHex("000102000202")],
      );
    },
  );
});

Deno.test("slot data", async (t) => {
  await t.step("decode -> encode reproduces the raw bytes (property)", () => {
    for (const node of [1, 2] as const) {
      fc.assert(
        fc.property(
          slotArb(node).chain((entries) =>
            fc.tuple(
              fc.constant(entries),
              fc.uint8Array({
                minLength: slotDataLength(entries),
                maxLength: slotDataLength(entries),
              }),
            )
          ),
          ([entries, data]) => {
            const values = decodeSlotData(entries, data);
            assert.deepEqual(
              decodeSlotData(entries, [...data]),
              values,
              "a byte array decodes alike",
            );
            assert.deepEqual(Object.keys(values), [...new Set(entries.map((e) => e.service.key))]);
            const again = encodeSlotData(entries, values);
            assert.equal(again.length, data.length);
            // Same service twice in a slot decodes to one key (the later one); skip those.
            if (new Set(entries.map((e) => e.service.key)).size !== entries.length) return;
            const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
            const view2 = new DataView(again.buffer);
            let o = 0;
            for (const e of entries) {
              for (const a of e.service.attributes) {
                const read = (v: DataView) =>
                  e.bytes === 4 ? v.getUint32(o) : e.bytes === 2 ? v.getUint16(o) : v.getUint8(o);
                if (!(a.integer && rawStep(e.bytes, a) < 1)) {
                  assert.ok(Math.abs(read(view2) - read(view)) <= 1, `${e.service.name}.${a.name}`);
                }
                o += e.bytes;
              }
            }
          },
        ),
        { numRuns: 150 },
      );
    }
  });

  await t.step("the worked example of section 10.4", () => {
    const entries = [{ service: serviceByKey("imu"), bytes: 4 as const }, {
      service: serviceByKey("accelerometer"),
      bytes: 4 as const,
    }];
    const data = fromHex("871c71c778e38e389fffffff800000008000000087ffffff");
    const v = decodeSlotData(entries, data);
    const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} vs ${b}`);
    close(v.imu.Pitch, 10);
    close(v.imu.Roll, -5);
    close(v.imu.Yaw, 45);
    close(v.accelerometer.X, 0);
    close(v.accelerometer.Z, 1);
    assert.equal(
      toHex(
        encodeSlotData(entries, {
          imu: { Pitch: 10, Roll: -5, Yaw: 45 },
          accelerometer: { X: 0, Y: 0, Z: 1 },
        }),
      ),
      toHex(data),
    );
  });

  await t.step("missing values pack as mid-range; wrong lengths are rejected", () => {
    const entries = [{ service: serviceByKey("velocity"), bytes: 2 as const }];
    assert.equal(toHex(encodeSlotData(entries, {})), "80008000");
    assert.throws(() => decodeSlotData(entries, new Uint8Array(5)), {
      name: "RangeError",
      message: /has 5 bytes; the slot's configuration \(Velocity\/16-bit\) produces 4/,
    });
  });

  await t.step("token byte: low nibble token, high nibble status", () => {
    assert.deepEqual(parseTokenByte(0x01), { token: 1, valid: true });
    assert.deepEqual(parseTokenByte(0x11), { token: 1, valid: false });
    assert.deepEqual(parseTokenByte(0x04), { token: 4, valid: true });
    assert.deepEqual(parseTokenByte(0xf3), { token: 3, valid: false });
    // Any non-zero status counts as invalid, not only the documented 1.
    assert.deepEqual(parseTokenByte(0x22), { token: 2, valid: false });
  });
});
