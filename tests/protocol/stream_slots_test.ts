/**
 * The streaming slot layouts (stream_slots.ts) pinned against the official SDKs' tables, and the
 * checks the simulator and the robot layer use: which SDK sends a slot, what firmware refuses.
 */
import assert from "node:assert/strict";
import {
  type DataBytes,
  ErrorCode,
  KNOWN_REFUSED_STREAM_SLOTS,
  knownStreamRefusal,
  NODE_SDK_STREAM_SLOTS,
  type NodeId,
  PYTHON_SDK_STREAM_SLOTS,
  sdkSendingSlot,
  serviceById,
  type SlotEntry,
  STREAM_SERVICES,
  STREAM_SLOTS,
  streamSlotOf,
} from "../../src/protocol/mod.ts";

type Row = [node: NodeId, token: number, serviceId: number, bits: 8 | 16 | 32, name: string];

/**
 * sphero-inc/sphero-sdk-raspberrypi-python, sphero_sdk/common/sensors/sensor_streaming_control.py
 * (`__init_services`, `slot_token_1..3`, `SpheroRvrTargets.primary` = 1, `secondary` = 2,
 * `StreamingDataSizesEnum`), transcribed by hand and checked by instantiating the SDK's
 * SensorStreamingControl and listing its slots (node, token, id, byte_count, name).
 */
const PYTHON_SDK: Row[] = [
  [2, 1, 0x0000, 32, "Quaternion"],
  [2, 1, 0x0001, 32, "IMU"],
  [2, 1, 0x0002, 32, "Accelerometer"],
  [1, 1, 0x0003, 8, "ColorDetection"],
  [2, 1, 0x0004, 32, "Gyroscope"],
  [2, 2, 0x0006, 32, "Locator"],
  [2, 2, 0x0007, 32, "Velocity"],
  [2, 2, 0x0008, 32, "Speed"],
  [1, 3, 0x0009, 32, "CoreTime"],
  [2, 3, 0x0009, 32, "CoreTime"],
  [1, 2, 0x000a, 32, "AmbientLight"],
  [2, 2, 0x000b, 32, "Encoders"],
];

/**
 * sphero-inc/sphero-sdk-raspberrypi-nodejs, src/modules/controls/v1.0/sensor-control.ts (the
 * StreamingSlot lists of its Nordic (1) and ST (2) StreamingProviders, `_sixteenBitEnum` etc.).
 */
const NODE_SDK: Row[] = [
  [1, 1, 0x0003, 8, "ColorDetection"],
  [1, 2, 0x0005, 32, "CoreTimeLower"],
  [1, 2, 0x0009, 32, "CoreTimeUpper"],
  [1, 3, 0x000a, 16, "AmbientLight"],
  [2, 1, 0x0000, 32, "Quaternion"],
  [2, 1, 0x0001, 16, "IMU"],
  [2, 1, 0x0002, 16, "Accelerometer"],
  [2, 1, 0x0004, 16, "Gyroscope"],
  [2, 2, 0x0006, 32, "Locator"],
  [2, 2, 0x0007, 32, "Velocity"],
  [2, 2, 0x0008, 32, "Speed"],
];

const asRows = (
  rows: readonly { node: number; token: number; serviceId: number; bytes: number }[],
) => rows.map((r) => [r.node, r.token, r.serviceId, r.bytes * 8]);
const withoutNames = (rows: Row[]) =>
  rows.map(([node, token, id, bits]) => [node, token, id, bits]);

const entry = (id: number, bytes: DataBytes): SlotEntry => {
  const service = serviceById(id);
  assert.ok(service, `service 0x${id.toString(16)}`);
  return { service, bytes };
};

Deno.test("the SDK tables are the SDKs' own, row for row", () => {
  assert.deepEqual(asRows(PYTHON_SDK_STREAM_SLOTS), withoutNames(PYTHON_SDK));
  assert.deepEqual(asRows(NODE_SDK_STREAM_SLOTS), withoutNames(NODE_SDK));
  // The services' Sphero names agree with the SDKs' (the Python SDK calls 0x0009 CoreTime).
  for (const [, , id, , name] of [...PYTHON_SDK, ...NODE_SDK]) {
    if (name === "CoreTime") continue;
    assert.equal(serviceById(id)?.name, name);
  }
});

Deno.test("this project's layout: the Python SDK's, with the Node SDK's core time", () => {
  const coreTime = [0x0005, 0x0009];
  const expected = [
    ...NODE_SDK.filter(([, , id]) => coreTime.includes(id)),
    ...PYTHON_SDK.filter(([, , id]) => !coreTime.includes(id)),
  ];
  assert.deepEqual(asRows(STREAM_SLOTS), withoutNames(expected));
  // Every service the project knows has exactly one slot, on a processor that streams it.
  for (const service of STREAM_SERVICES) {
    const rows = STREAM_SLOTS.filter((r) => r.serviceId === service.id);
    assert.equal(rows.length, 1, service.name);
    assert.ok((service.nodes as readonly number[]).includes(rows[0].node), service.name);
    assert.equal(streamSlotOf(service.id), rows[0]);
  }
  assert.equal(streamSlotOf(0x0c), undefined);
  // Never the layout real firmware refused.
  for (const r of KNOWN_REFUSED_STREAM_SLOTS) {
    assert.ok(
      !STREAM_SLOTS.some((s) => s.node === r.node && s.token === r.token && s.bytes === r.bytes),
    );
  }
});

Deno.test("sdkSendingSlot: the SDK that sends a slot, in any order; undefined for others", () => {
  // Python SDK, ST token 1: IMU + accelerometer in either order (it orders by handler).
  assert.equal(sdkSendingSlot(2, 1, [entry(0x01, 4), entry(0x02, 4)]), "python_sdk");
  assert.equal(sdkSendingSlot(2, 1, [entry(0x02, 4), entry(0x01, 4)]), "python_sdk");
  // Node SDK sizes; the real capture's ST token 1 (accelerometer, IMU, gyroscope, quaternion).
  assert.equal(
    sdkSendingSlot(2, 1, [entry(0x02, 2), entry(0x01, 2), entry(0x04, 2), entry(0x00, 4)]),
    "node_sdk",
  );
  assert.equal(sdkSendingSlot(1, 2, [entry(0x05, 4), entry(0x09, 4)]), "node_sdk");
  assert.equal(sdkSendingSlot(1, 1, [entry(0x03, 1)]), "python_sdk", "both send it: first wins");
  // Not sent by any SDK: another token, another size, sizes of two SDKs mixed, services of two
  // SDKs' slots mixed, a service twice, nothing.
  assert.equal(sdkSendingSlot(2, 3, [entry(0x01, 4)]), undefined);
  assert.equal(sdkSendingSlot(2, 1, [entry(0x01, 1)]), undefined);
  assert.equal(sdkSendingSlot(2, 1, [entry(0x01, 4), entry(0x02, 2)]), undefined);
  assert.equal(
    sdkSendingSlot(1, 2, [entry(0x05, 4), entry(0x09, 4), entry(0x0a, 4)]),
    undefined,
    "core time (Node) with ambient light (Python)",
  );
  assert.equal(sdkSendingSlot(2, 1, [entry(0x01, 4), entry(0x01, 4)]), undefined);
  assert.equal(sdkSendingSlot(2, 1, []), undefined);
});

Deno.test("knownStreamRefusal: AmbientLight 16-bit in Nordic token 3 -> failed 0x06", () => {
  const refusal = knownStreamRefusal(1, 3, [entry(0x0a, 2)]);
  assert.ok(refusal);
  assert.equal(refusal.code, ErrorCode.failed);
  assert.equal(ErrorCode.failed, 0x06);
  assert.match(refusal.reason, /AmbientLight at 16-bit in token 3 of node 1.*8\.3\.432/);
  // Also with other services in the slot; not at another size, token or node.
  assert.ok(knownStreamRefusal(1, 3, [entry(0x03, 1), entry(0x0a, 2)]));
  assert.equal(knownStreamRefusal(1, 3, [entry(0x0a, 4)]), undefined);
  assert.equal(knownStreamRefusal(1, 2, [entry(0x0a, 2)]), undefined);
  assert.equal(knownStreamRefusal(2, 3, [entry(0x01, 2)]), undefined);
});
