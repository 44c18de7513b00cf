/**
 * The streaming configuration on the robot: what is configured, whether it streams, and the
 * sequences that change it.
 *
 * **Set-up** (through `rvr.command`, so the queue and the circuit breaker apply; every command
 * asks for an acknowledgement so a refused configuration is reported): `clear_streaming_service`
 * to node 1 then node 2, then `configure_streaming_service` per slot (ascending token), then
 * `start_streaming_service(period)` to each node that has slots. Data keeps being decoded against
 * the old configuration until the node acknowledged the clear (everything the robot sent before
 * that ack was configured the old way), then against the new one ({@link StreamSetup.slotFor}).
 * After a failed set-up the robot is cleared as far as it answers and nothing is configured.
 *
 * **Colour detection** follows the color_detection stream: its samples are empty (index 255)
 * unless the robot's colour detection (and its white belly LED) is on, so the set-up ends with
 * `enable_color_detection(true)` when color_detection streams, and a configuration or stop without
 * it switches detection off again if the streams switched it on. A forced set-up (start, a new
 * link) sends it again (a robot that slept has it off).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { RobotError } from "../../link/mod.ts";
import { encodeSlotConfiguration, type NodeId, sdkSendingSlot } from "../../protocol/mod.ts";
import { StreamConfigurationError } from "../errors.ts";
import type { LinkProvider } from "../link_provider.ts";
import type { Rvr } from "../rvr.ts";
import { errorMessage } from "../../core/mod.ts";
import type { SensorName } from "./catalogue.ts";
import { allocateSlots, type SlotPlan } from "./slots.ts";

const log = getLogger(["rvr", "robot", "sensors"]);

/** What the robot was configured with. */
export interface StreamConfiguration {
  readonly sensors: readonly SensorName[];
  readonly intervalMs: number;
  readonly slots: readonly SlotPlan[];
}

/** The sensors and period wanted (sensors in SENSORS order, possibly none). */
export interface WantedStreams {
  readonly sensors: readonly SensorName[];
  readonly intervalMs: number;
}

/**
 * "force": always reconfigure; "cover": skip when the running configuration already streams every
 * wanted sensor often enough; "exact": skip when it is exactly the wanted one.
 */
export type ApplyMode = "force" | "cover" | "exact";

export class StreamSetup {
  readonly #links: LinkProvider;
  readonly #rvr: Rvr;
  /** What the robot was last configured with, or null. */
  #configured: StreamConfiguration | null = null;
  #active = false;
  /** The streams switched colour detection on (and have not switched it off since). */
  #colorDetection = false;
  /** Decoding table per node: token -> slot. */
  #decode: Record<NodeId, Map<number, SlotPlan>> = { 1: new Map(), 2: new Map() };

  constructor(links: LinkProvider, rvr: Rvr) {
    this.#links = links;
    this.#rvr = rvr;
  }

  /** True while the robot is configured and streaming. */
  get active(): boolean {
    return this.#active;
  }

  /** The configuration last sent, or null. */
  get configured(): StreamConfiguration | null {
    return this.#configured;
  }

  /** The slot data of `token` from `node` is decoded against now, or undefined. */
  slotFor(node: NodeId, token: number): SlotPlan | undefined {
    return this.#decode[node].get(token);
  }

  /** The link went away: the robot no longer streams (its configuration is kept here). */
  interrupted(reason: string): void {
    if (this.#active) log.warn("Sensor streams interrupted: {reason}", { reason });
    this.#active = false;
  }

  /** Brings the robot to `wanted` (see {@link ApplyMode}); nothing wanted clears both nodes. */
  async apply(wanted: WantedStreams, mode: ApplyMode): Promise<void> {
    const current = this.#configured;
    if (wanted.sensors.length === 0) {
      await this.#clearAll();
      return;
    }
    if (this.#active && current !== null && mode !== "force") {
      const covers = wanted.sensors.every((s) => current.sensors.includes(s)) &&
        current.intervalMs <= wanted.intervalMs;
      const exact = covers && current.sensors.length === wanted.sensors.length &&
        current.intervalMs === wanted.intervalMs;
      if ((mode === "cover" && covers) || (mode === "exact" && exact)) return;
    }
    const slots = allocateSlots(wanted.sensors);
    for (const slot of slots) {
      if (sdkSendingSlot(slot.node, slot.token, slot.entries) !== undefined) continue;
      log.warn(
        "Streaming slot {token} of node {node} ({services}) is a layout no official SDK sends; " +
          "it was never seen on real firmware",
        { node: slot.node, token: slot.token, services: slot.entries.map((e) => e.service.key) },
      );
    }
    this.#active = false;
    let step = { command: "clear_streaming_service", node: 1 as NodeId, what: "all slots" };
    try {
      for (const node of [1, 2] as const) {
        step = { command: "clear_streaming_service", node, what: "all slots" };
        await this.#rvr.command("clear_streaming_service", {}, {
          target: node,
          requestsResponse: true,
        });
        // Everything the robot sent before this ack used the old configuration.
        this.#decode[node] = new Map(
          slots.filter((s) => s.node === node).map((s) => [s.token, s]),
        );
      }
      this.#configured = { sensors: wanted.sensors, intervalMs: wanted.intervalMs, slots };
      for (const slot of slots) {
        step = {
          command: "configure_streaming_service",
          node: slot.node,
          what: `token ${slot.token}: ${slot.entries.map((e) => e.service.key).join(", ")}`,
        };
        await this.#rvr.command(
          "configure_streaming_service",
          { token: slot.token, configuration: encodeSlotConfiguration(slot.entries) },
          { target: slot.node, requestsResponse: true },
        );
      }
      for (const node of [1, 2] as const) {
        if (!slots.some((s) => s.node === node)) continue;
        step = {
          command: "start_streaming_service",
          node,
          what: `period ${wanted.intervalMs} ms`,
        };
        await this.#rvr.command("start_streaming_service", { period: wanted.intervalMs }, {
          target: node,
          requestsResponse: true,
        });
      }
      const color = wanted.sensors.includes("color_detection");
      step = { command: "enable_color_detection", node: 1, what: `is_enabled ${color}` };
      await this.#setColorDetection(color, mode === "force");
      this.#active = true;
      log.info("Streaming {sensors} every {intervalMs} ms in {slots} slots", {
        sensors: wanted.sensors,
        intervalMs: wanted.intervalMs,
        slots: slots.length,
      });
    } catch (error) {
      log.error("Sensor streaming set-up failed at {command} (node {node}, {what}): {error}", {
        ...step,
        error: errorMessage(error),
      });
      this.#configured = null;
      this.#decode = { 1: new Map(), 2: new Map() };
      await this.#clearQuietly();
      if (error instanceof RobotError) {
        throw new StreamConfigurationError(step.command, step.node, step.what, error);
      }
      throw error;
    }
  }

  /** Clears both nodes (nothing wanted). Without a link only the local state is reset. */
  async #clearAll(): Promise<void> {
    this.#active = false;
    this.#configured = null;
    if (this.#links.peek() === undefined) {
      this.#decode = { 1: new Map(), 2: new Map() };
      return;
    }
    for (const node of [1, 2] as const) {
      await this.#rvr.command("clear_streaming_service", {}, {
        target: node,
        requestsResponse: true,
      });
      this.#decode[node] = new Map();
    }
    await this.#setColorDetection(false, false);
    log.info("Sensor streaming stopped");
  }

  /**
   * Switches the robot's colour detection on or off for the color_detection stream. Sends only a
   * change, or with `force` (a full reconfiguration: start, a new link) whenever on. Never switches
   * off what the streams did not switch on.
   */
  async #setColorDetection(on: boolean, force: boolean): Promise<void> {
    if (on ? this.#colorDetection && !force : !this.#colorDetection) return;
    await this.#rvr.command("enable_color_detection", { is_enabled: on }, {
      requestsResponse: true,
    });
    this.#colorDetection = on;
    log.info(on ? "Colour detection on for the color_detection stream" : "Colour detection off");
  }

  /** After a failed set-up: leave the robot with nothing configured, as far as it answers. */
  async #clearQuietly(): Promise<void> {
    if (this.#links.peek() === undefined) return;
    for (const node of [1, 2] as const) {
      try {
        await this.#rvr.command("clear_streaming_service", {}, {
          target: node,
          requestsResponse: true,
        });
      } catch (error) {
        log.warn("clear_streaming_service to node {node} after a failed set-up: {error}", {
          node,
          error: errorMessage(error),
        });
      }
    }
  }
}
