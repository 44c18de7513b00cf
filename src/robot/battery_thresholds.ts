/**
 * The battery's voltage thresholds (critical, low, hysteresis) are the pack's configuration: they
 * do not change while a link lives, so they are read once per link and kept with it (a new link,
 * after a reconnect, reads them again; a failed read is not kept, so the next call retries).
 *
 * @module
 */
import type { RvrLink } from "../link/mod.ts";
import type { ResponseOf } from "../protocol/mod.ts";
import type { LinkProvider } from "./link_provider.ts";
import type { CommandOptions, Rvr } from "./rvr.ts";

export type BatteryThresholds = ResponseOf<"get_battery_voltage_state_thresholds">;

const read = new WeakMap<RvrLink, Promise<BatteryThresholds>>();

/**
 * The thresholds of the robot on the current link (waiting for a connect in progress, as
 * {@link LinkProvider.awaitLink} does): from the robot on the link's first call, then kept.
 */
export async function batteryThresholds(
  links: LinkProvider,
  rvr: Rvr,
  options: CommandOptions = {},
): Promise<BatteryThresholds> {
  const link = await links.awaitLink(options.signal ? { signal: options.signal } : {});
  let thresholds = read.get(link);
  if (!thresholds) {
    thresholds = rvr.command("get_battery_voltage_state_thresholds", {}, options);
    read.set(link, thresholds);
    // A failed read is retried by the next call; the caller of this one gets the rejection.
    thresholds.catch(() => read.delete(link));
  }
  return await thresholds;
}
