/** Device 0x11 system_info: firmware versions, board, MAC, stats id, processor names, SKU, up time. */
import type { NodeId } from "../../protocol/mod.ts";
import type { DeviceContext, DeviceHandlers } from "./_context.ts";

/** What each processor reports about itself (sec. 9.3). Bootloader versions are invented [?]. */
export const SIM_FIRMWARE = {
  1: {
    application: { major: 8, minor: 3, revision: 432 },
    bootloader: { major: 4, minor: 1, revision: 10 },
    processorName: "nRF52840\0",
  },
  2: {
    application: { major: 8, minor: 6, revision: 448 },
    bootloader: { major: 4, minor: 1, revision: 12 },
    processorName: "STM32F4\0",
  },
} as const satisfies Record<NodeId, unknown>;
export const SIM_BOARD_REVISION = 5;
export const SIM_SKU = "RV-0001";

export function systemInfoHandlers(r: DeviceContext): DeviceHandlers<"system_info"> {
  const firmware = (node: NodeId) => SIM_FIRMWARE[node];
  return {
    get_main_application_version: (_p, ctx) => ({ ...firmware(ctx.node).application }),
    get_bootloader_version: (_p, ctx) => ({ ...firmware(ctx.node).bootloader }),
    get_board_revision: () => ({ revision: SIM_BOARD_REVISION }),
    get_mac_address: () => ({ mac_address: r.identity.macAddress }),
    get_stats_id: () => ({ stats_id: r.identity.statsId }),
    get_processor_name: (_p, ctx) => ({ name: firmware(ctx.node).processorName }),
    get_sku: () => ({ sku: SIM_SKU }),
    get_core_up_time_in_milliseconds: () => ({ up_time: BigInt(Math.floor(r.upTimeMs())) }),
  };
}
