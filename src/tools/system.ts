/**
 * System tool: get_system_info (both processors' versions and names, board revision, MAC, SKU,
 * up time, Bluetooth name).
 *
 * @module
 */
import { z } from "zod";
import type { NodeId } from "../protocol/mod.ts";
import { commandOptions, tool, type ToolContext, type ToolRobot } from "./_tool.ts";

/** "major.minor.revision". */
export function versionText(v: { major: number; minor: number; revision: number }): string {
  return `${v.major}.${v.minor}.${v.revision}`;
}

/** A firmware string without its NUL terminator(s) and surrounding blanks. */
export function cleanText(s: string): string {
  const nul = s.indexOf("\0");
  return (nul === -1 ? s : s.slice(0, nul)).trim();
}

/** u64 milliseconds as a number (exact below 2^53 ms, i.e. for 285 000 years of up time). */
export function u64Ms(v: bigint): number {
  return Number(v);
}

const processorShape = z.object({
  processor_name: z.string().describe("As the processor reports it (may be empty)."),
  application_version: z.string().describe("major.minor.revision"),
  bootloader_version: z.string().describe("major.minor.revision"),
});

/** One processor's name and firmware versions. */
async function processor(robot: ToolRobot, node: NodeId, ctx: ToolContext) {
  const rvr = robot.rvr;
  const options = { ...commandOptions(ctx), target: node };
  const [app, boot, name] = await Promise.all([
    rvr.command("get_main_application_version", {}, options),
    rvr.command("get_bootloader_version", {}, options),
    rvr.command("get_processor_name", {}, options),
  ]);
  return {
    processor_name: cleanText(name.name),
    application_version: versionText(app),
    bootloader_version: versionText(boot),
  };
}

export const getSystemInfo = tool({
  name: "get_system_info",
  title: "System information",
  description:
    "Identifies the robot: for each of its two processors (nordic: the Nordic nRF52 that " +
    "handles power, LEDs, colour and Bluetooth; st: the ST microcontroller that drives the " +
    "motors and IMU) the name and the application and bootloader firmware versions, plus the " +
    "board revision, Bluetooth MAC address and name, SKU, stats id and up time in ms since " +
    "power-on.",
  input: {},
  output: {
    nordic: processorShape,
    st: processorShape,
    board_revision: z.number().int(),
    mac_address: z.string(),
    bluetooth_name: z.string(),
    sku: z.string(),
    stats_id: z.number().int(),
    uptime_ms: z.number().min(0).describe("Milliseconds since the robot powered on."),
  },
  hints: { readOnlyHint: true, destructiveHint: false, idempotentHint: true },
  async handler(robot, _args, ctx) {
    const rvr = robot.rvr;
    const o = commandOptions(ctx);
    const [nordic, st, board, mac, ble, sku, stats, up] = await Promise.all([
      processor(robot, 1, ctx),
      processor(robot, 2, ctx),
      rvr.command("get_board_revision", {}, o),
      rvr.command("get_mac_address", {}, o),
      rvr.command("get_bluetooth_advertising_name", {}, o),
      rvr.command("get_sku", {}, o),
      rvr.command("get_stats_id", {}, o),
      rvr.command("get_core_up_time_in_milliseconds", {}, o),
    ]);
    return {
      nordic,
      st,
      board_revision: board.revision,
      mac_address: cleanText(mac.mac_address),
      bluetooth_name: cleanText(ble.name),
      sku: cleanText(sku.sku),
      stats_id: stats.stats_id,
      uptime_ms: u64Ms(up.up_time),
    };
  },
});
export const SYSTEM_TOOLS = [getSystemInfo] as const;
