/**
 * Which streaming slot (processor and token) each sensor service goes in, at which data size:
 * the layouts the official SDKs send, the one this project sends, and what real firmware is known
 * to refuse (docs/protocol.md section 10).
 *
 * Nothing here can be tried on a real robot, so the project sends only what the official SDKs
 * send. The two SDKs disagree on several services; the choices:
 *
 * | service | Python SDK | Node SDK | this project |
 * |---|---|---|---|
 * | Quaternion, IMU, Accelerometer, Gyroscope | ST token 1; 32-bit | ST token 1; IMU, Accelerometer, Gyroscope 16-bit | Python |
 * | Locator, Velocity, Speed | ST token 2, 32-bit | same | either |
 * | Encoders | ST token 2, 32-bit | (none) | Python |
 * | ColorDetection | Nordic token 1, 8-bit | same | either |
 * | AmbientLight | Nordic token 2, 32-bit | Nordic token 3, 16-bit | Python: the Node layout is the one a real RVR refused (below) |
 * | core time | 0x0009 "CoreTime" (two 32-bit words) in token 3 of both processors | 0x0005 CoreTimeLower + 0x0009 CoreTimeUpper, 32-bit, Nordic token 2 | Node: a real capture of exactly that slot carried 4 bytes per service id, so the Python model (8 bytes from 0x0009) cannot decode what the firmware sends |
 *
 * One consequence: ambient light and core time both sit in Nordic token 2, so streaming both at
 * once sends a slot no SDK sends (core time words then ambient light). {@link sdkSendingSlot}
 * tells; the robot layer logs it, the simulator accepts it and logs it as never seen on real
 * firmware.
 *
 * Known refusal: Nordic firmware 8.3.432 answered `configure_streaming_service` token 3,
 * configuration `00 0A 01` (AmbientLight, 16-bit: the Node SDK's own layout) with error 0x06
 * `failed` ("Command Failed"), reported in sphero-inc/sphero-sdk-raspberrypi-nodejs issue #6.
 * Whether the token or the size was at fault is not known, so only that layout is recorded.
 *
 * @module
 */
import { ErrorCode, type NodeId } from "./constants.ts";
import { type DataBytes, serviceById, type SlotEntry } from "./streaming.ts";

/** One service in one slot: processor, token, service id, bytes per attribute. */
export interface StreamSlotRow {
  readonly node: NodeId;
  readonly token: number;
  readonly serviceId: number;
  readonly bytes: DataBytes;
}

/**
 * The Python SDK's layout: sphero-inc/sphero-sdk-raspberrypi-python (master 5dbeda9),
 * `sphero_sdk/common/sensors/sensor_streaming_control.py`, `__init_services` (in its order;
 * `SpheroRvrTargets.primary` = Nordic 1, `secondary` = ST 2; `thirty_two_bit` = 4 bytes).
 */
export const PYTHON_SDK_STREAM_SLOTS = [
  { node: 2, token: 1, serviceId: 0x0000, bytes: 4 }, // Quaternion
  { node: 2, token: 1, serviceId: 0x0001, bytes: 4 }, // IMU
  { node: 2, token: 1, serviceId: 0x0002, bytes: 4 }, // Accelerometer
  { node: 1, token: 1, serviceId: 0x0003, bytes: 1 }, // ColorDetection
  { node: 2, token: 1, serviceId: 0x0004, bytes: 4 }, // Gyroscope
  { node: 2, token: 2, serviceId: 0x0006, bytes: 4 }, // Locator
  { node: 2, token: 2, serviceId: 0x0007, bytes: 4 }, // Velocity
  { node: 2, token: 2, serviceId: 0x0008, bytes: 4 }, // Speed
  { node: 1, token: 3, serviceId: 0x0009, bytes: 4 }, // CoreTime (both processors)
  { node: 2, token: 3, serviceId: 0x0009, bytes: 4 },
  { node: 1, token: 2, serviceId: 0x000a, bytes: 4 }, // AmbientLight
  { node: 2, token: 2, serviceId: 0x000b, bytes: 4 }, // Encoders
] as const satisfies readonly StreamSlotRow[];

/**
 * The Node SDK's layout: sphero-inc/sphero-sdk-raspberrypi-nodejs,
 * `src/modules/controls/v1.0/sensor-control.ts` (its StreamingSlot lists, in their order;
 * `_processorIdNordic` 1, `_processorIdST` 2; `_sixteenBitEnum` = 2 bytes).
 */
export const NODE_SDK_STREAM_SLOTS = [
  { node: 1, token: 1, serviceId: 0x0003, bytes: 1 }, // ColorDetection
  { node: 1, token: 2, serviceId: 0x0005, bytes: 4 }, // CoreTimeLower
  { node: 1, token: 2, serviceId: 0x0009, bytes: 4 }, // CoreTimeUpper
  { node: 1, token: 3, serviceId: 0x000a, bytes: 2 }, // AmbientLight (refused, see KNOWN_REFUSED_STREAM_SLOTS)
  { node: 2, token: 1, serviceId: 0x0000, bytes: 4 }, // Quaternion
  { node: 2, token: 1, serviceId: 0x0001, bytes: 2 }, // IMU
  { node: 2, token: 1, serviceId: 0x0002, bytes: 2 }, // Accelerometer
  { node: 2, token: 1, serviceId: 0x0004, bytes: 2 }, // Gyroscope
  { node: 2, token: 2, serviceId: 0x0006, bytes: 4 }, // Locator
  { node: 2, token: 2, serviceId: 0x0007, bytes: 4 }, // Velocity
  { node: 2, token: 2, serviceId: 0x0008, bytes: 4 }, // Speed
] as const satisfies readonly StreamSlotRow[];

/** The official SDKs whose layouts are known. */
export const STREAM_LAYOUT_SOURCES = ["python_sdk", "node_sdk"] as const;
export type StreamLayoutSource = (typeof STREAM_LAYOUT_SOURCES)[number];

const SDK_ROWS: Readonly<Record<StreamLayoutSource, readonly StreamSlotRow[]>> = {
  python_sdk: PYTHON_SDK_STREAM_SLOTS,
  node_sdk: NODE_SDK_STREAM_SLOTS,
};

const CORE_TIME_IDS: readonly number[] = [0x0005, 0x0009];

/**
 * This project's layout, in the order services are packed within a slot: the Python SDK's rows
 * (in its order), with core time replaced by the Node SDK's two services (see the module doc).
 */
export const STREAM_SLOTS: readonly StreamSlotRow[] = [
  ...NODE_SDK_STREAM_SLOTS.filter((r) => CORE_TIME_IDS.includes(r.serviceId)),
  ...PYTHON_SDK_STREAM_SLOTS.filter((r) => !CORE_TIME_IDS.includes(r.serviceId)),
];

/** Slot configurations a real robot refused, with its error code and where that was reported. */
export const KNOWN_REFUSED_STREAM_SLOTS = [
  {
    node: 1,
    token: 3,
    serviceId: 0x000a,
    bytes: 2,
    code: ErrorCode.failed,
    firmware: "Nordic 8.3.432",
    source: "sphero-inc/sphero-sdk-raspberrypi-nodejs issue #6",
  },
] as const satisfies readonly (StreamSlotRow & {
  code: number;
  firmware: string;
  source: string;
})[];

/** This project's row for a service, by id; undefined for a service it does not stream. */
export function streamSlotOf(serviceId: number): StreamSlotRow | undefined {
  return STREAM_SLOTS.find((r) => r.serviceId === serviceId);
}

/**
 * The official SDK that sends exactly this slot (every service on this node and token at this
 * size, in any order: the Python SDK orders them as its handlers were added), or undefined when
 * none does.
 */
export function sdkSendingSlot(
  node: NodeId,
  token: number,
  entries: readonly SlotEntry[],
): StreamLayoutSource | undefined {
  if (entries.length === 0) return undefined;
  const ids = new Set(entries.map((e) => e.service.id));
  if (ids.size !== entries.length) return undefined;
  return STREAM_LAYOUT_SOURCES.find((sdk) =>
    entries.every((e) =>
      SDK_ROWS[sdk].some((r) =>
        r.node === node && r.token === token && r.serviceId === e.service.id && r.bytes === e.bytes
      )
    )
  );
}

/** What the firmware answers to a slot it is known to refuse, or undefined. */
export function knownStreamRefusal(
  node: NodeId,
  token: number,
  entries: readonly SlotEntry[],
): { code: number; reason: string } | undefined {
  for (const r of KNOWN_REFUSED_STREAM_SLOTS) {
    const hit = r.node === node && r.token === token &&
      entries.some((e) => e.service.id === r.serviceId && e.bytes === r.bytes);
    if (hit) {
      const name = serviceById(r.serviceId)?.name ?? `0x${r.serviceId.toString(16)}`;
      return {
        code: r.code,
        reason: `${name} at ${r.bytes * 8}-bit in token ${r.token} of node ${r.node} was refused ` +
          `by firmware ${r.firmware} (${r.source})`,
      };
    }
  }
  return undefined;
}
