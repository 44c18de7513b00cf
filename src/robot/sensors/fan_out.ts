/**
 * The two fan-outs of every decoded reading: the robot bus ("robot.sample", a copy per publish)
 * and the listeners of {@link ReadingFanOut.onReading} (synchronously, in arrival order; one that
 * throws is logged and the others still get the reading).
 */
import { getLogger } from "@logtape/logtape";
import type { RobotBus } from "../events.ts";
import { errorMessage } from "../../core/mod.ts";
import type { SensorReading } from "./catalogue.ts";

const log = getLogger(["rvr", "robot", "sensors"]);

export class ReadingFanOut {
  readonly #bus: RobotBus;
  readonly #listeners = new Set<(r: SensorReading) => void>();

  constructor(bus: RobotBus) {
    this.#bus = bus;
  }

  /** Calls `listener` with each reading delivered. Returns unsubscribe. */
  onReading(listener: (r: SensorReading) => void): () => void {
    if (typeof listener !== "function") {
      throw new TypeError(`onReading needs a function, got ${typeof listener}.`);
    }
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  deliver(reading: SensorReading): void {
    this.#bus.publish("robot.sample", { ...reading });
    for (const listener of [...this.#listeners]) {
      try {
        listener(reading);
      } catch (error) {
        log.error("A sensor reading listener threw: {error}", { error: errorMessage(error) });
      }
    }
  }

  /** Forgets every listener. */
  clear(): void {
    this.#listeners.clear();
  }
}
