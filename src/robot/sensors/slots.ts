/**
 * Slot allocation: every service goes in the slot (processor and token) and at the size the
 * official SDKs use, as protocol's STREAM_SLOTS says (protocol/stream_slots.ts: the Python SDK's
 * layout, core time as the Node SDK and a real capture have it): a slot holds the wanted sensors of
 * its token, packed in that table's order. No other layout is ever sent, because nothing else can
 * be tried on a real robot here, and a real RVR is known to refuse at least one layout
 * (AmbientLight 16-bit in Nordic token 3, error 0x06). The one combination no SDK sends is
 * ambient_light with core_time (both Nordic token 2); it is sent as one slot and logged as such.
 * Speed shares ST token 2 with the locator, as in both SDKs: section 10.2 says firmware may reject
 * it, and then the whole slot's configuration is refused (StreamConfigurationError).
 *
 * @module
 */
import {
  MAX_TOKENS,
  type NodeId,
  slotDataLength,
  type SlotEntry,
  STREAM_SLOTS,
} from "../../protocol/mod.ts";
import { feedOf, type SensorName } from "./catalogue.ts";

/** Largest data part of one slot: ST token 1 with all four services at 32-bit (section 4.1). */
export const MAX_SLOT_DATA_BYTES = 52;

/** One configured slot: what goes on the wire and which sensors its data feeds. */
export interface SlotPlan {
  readonly node: NodeId;
  readonly token: number;
  readonly entries: readonly SlotEntry[];
  readonly sensors: readonly SensorName[];
  /** Data bytes per notification. */
  readonly bytes: number;
}

/**
 * Places `sensors` into the slots STREAM_SLOTS gives their services (see the module doc): per
 * node, ascending token, services in the table's order. Tokens without a wanted sensor are left
 * out, so the tokens of a plan need not be contiguous.
 */
export function allocateSlots(sensors: readonly SensorName[]): SlotPlan[] {
  const wanted = new Set(sensors);
  const out: SlotPlan[] = [];
  for (const node of [1, 2] as const) {
    for (let token = 1; token <= MAX_TOKENS; token++) {
      const entries: SlotEntry[] = [];
      const fed: SensorName[] = [];
      for (const row of STREAM_SLOTS) {
        const feed = feedOf(row.serviceId);
        if (row.node !== node || row.token !== token || !feed || !wanted.has(feed.sensor)) continue;
        entries.push({ service: feed.service, bytes: row.bytes });
        if (!fed.includes(feed.sensor)) fed.push(feed.sensor);
      }
      if (entries.length > 0) {
        out.push({ node, token, entries, sensors: fed, bytes: slotDataLength(entries) });
      }
    }
  }
  return out;
}
