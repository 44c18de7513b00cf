/**
 * The robot's notifications, turned into safety: every notification but streaming data (which
 * SensorStreams publishes decoded as "robot.sample") is republished on the bus as
 * "robot.notification"; stall, motor fault and thermal critical stop the robot (safety events
 * "stall", "motor_fault", "thermal"); battery critical stops it and blocks movement until the
 * battery recovers (event "battery"); `robot_has_stopped_notify` confirms a stop (StopGuard).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RobotMetrics } from "../metrics.ts";
import type { RvrLink } from "../../link/mod.ts";
import { motorThermalStatus, type NodeId, type NotificationName } from "../../protocol/mod.ts";
import type { RobotBus } from "../events.ts";
import type { LinkProvider } from "../link_provider.ts";
import type { Stops } from "../stops.ts";
import type { Safety } from "./safety.ts";
import { BATTERY_STATES, type BatteryState } from "../state.ts";

const log = getLogger(["rvr", "robot"]);

export interface SafetyNotificationsOptions {
  links: LinkProvider;
  bus: RobotBus;
  safety: Safety;
  stops: Stops;
  metrics: RobotMetrics;
}

export class SafetyNotifications {
  readonly #links: LinkProvider;
  readonly #bus: RobotBus;
  readonly #safety: Safety;
  readonly #stops: Stops;
  readonly #metrics: RobotMetrics;

  constructor(options: SafetyNotificationsOptions) {
    this.#links = options.links;
    this.#bus = options.bus;
    this.#safety = options.safety;
    this.#stops = options.stops;
    this.#metrics = options.metrics;
  }

  /** One notification `name` with `values` from processor `node`, received on `link`. */
  handle(link: RvrLink, name: NotificationName, values: unknown, node: NodeId): void {
    const v = values as Record<string, unknown>;
    // Streaming data reaches the bus decoded, as "robot.sample" (src/robot/sensors/).
    if (name !== "streaming_service_data_notify") {
      this.#bus.publish("robot.notification", { name, node, values: v, at: Date.now() });
    }
    switch (name) {
      case "robot_has_stopped_notify":
        if (this.#links.peek() === link && this.#stops.confirmStopped()) {
          log.debug("The robot reports it stopped");
        }
        break;
      case "motor_stall_notify":
        this.#onStall(link, v);
        break;
      case "motor_fault_notify": {
        const isFault = v.is_fault === true;
        this.#safety.setMotorFault(isFault);
        if (isFault) {
          void this.#stops.autoStop(
            "motor_fault",
            "motor_fault",
            "The motor driver reported a fault: the robot was stopped. Check the motors and wheels.",
            {},
            link,
          );
        } else {
          this.#safety.report("motor_fault", "The motor driver fault cleared.");
        }
        break;
      }
      case "motor_thermal_protection_status_notify":
        this.#onThermal(link, v);
        break;
      case "battery_voltage_state_change_notify":
        this.batteryState(v.state as number, link, "notification");
        break;
    }
  }

  /** Records a battery voltage state (0-3); critical stops the robot and blocks movement. */
  batteryState(code: number, link: RvrLink, how: string): BatteryState {
    const batteryState = BATTERY_STATES[code] ?? "unknown";
    if (BATTERY_STATES[code] === undefined) {
      log.warn("Unknown battery voltage state {code} ({how}); recorded as unknown", { code, how });
    }
    const change = this.#safety.setBatteryState(batteryState);
    if (change === "critical") {
      void this.#stops.autoStop(
        "battery_critical",
        "battery",
        "Battery critical: the robot was stopped and movement is blocked until the battery recovers. " +
          "Charge or swap the battery.",
        { batteryState, how },
        link,
      );
    } else if (change === "recovered") {
      this.#safety.report(
        "battery",
        `Battery no longer critical (${batteryState}): movement is allowed again.`,
        { batteryState, how },
      );
    }
    return batteryState;
  }

  #onStall(link: RvrLink, v: Record<string, unknown>): void {
    const side = v.motor_index === 0
      ? "left"
      : v.motor_index === 1
      ? "right"
      : `#${String(v.motor_index)}`;
    if (v.is_triggered === true) {
      void this.#stops.autoStop(
        "stall",
        "stall",
        `The ${side} motor stalled: the robot was stopped. Clear the obstacle before driving again.`,
        { motor: side },
        link,
      );
    } else {
      this.#safety.report("stall", `Stall protection of the ${side} motor released.`, {
        motor: side,
      });
    }
  }

  #onThermal(link: RvrLink, v: Record<string, unknown>): void {
    const left = {
      temperatureC: v.left_motor_temperature as number,
      status: v.left_motor_status as number,
    };
    const right = {
      temperatureC: v.right_motor_temperature as number,
      status: v.right_motor_status as number,
    };
    this.#metrics.motorTemperatureCelsius.set({ motor: "left" }, left.temperatureC);
    this.#metrics.motorTemperatureCelsius.set({ motor: "right" }, right.temperatureC);
    const leftStatus = motorThermalStatus(left.status);
    const rightStatus = motorThermalStatus(right.status);
    const summary = `left ${leftStatus} ${left.temperatureC.toFixed(1)} C, right ${rightStatus} ${
      right.temperatureC.toFixed(1)
    } C`;
    if (leftStatus === "critical" || rightStatus === "critical") {
      void this.#stops.autoStop(
        "thermal",
        "thermal",
        `Motor thermal protection critical (${summary}): the robot was stopped. Let the motors cool down.`,
        { left, right },
        link,
      );
    } else {
      this.#safety.report("thermal", `Motor thermal protection status: ${summary}.`, {
        left,
        right,
      });
    }
  }
}
