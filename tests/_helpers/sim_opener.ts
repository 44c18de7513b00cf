/**
 * The robot behind every runtime-level rig (robot, tools, mcp, http tests): a port opener with one
 * keep-alive simulated robot, as main.ts's built-in simulator. Every connection gets a fresh
 * MemoryPort pair, tapped on the robot's side.
 */
import { MemoryPort } from "../../src/link/mod.ts";
import type { OpenedPort, PortOpener } from "../../src/robot/connection.ts";
import { type SimOptions, SimulatedRvr } from "../../src/sim/mod.ts";
import { WireTap } from "./wire.ts";

export interface KeepAliveSimOpener {
  open: PortOpener;
  /** The tapped robot side of every connection so far. */
  readonly wires: WireTap[];
  readonly devices: MemoryPort[];
  /** The simulated robot (after the first connection). */
  readonly sim: SimulatedRvr;
  /** The tapped robot side of the latest connection. */
  readonly wire: WireTap;
}

export function keepAliveSimOpener(options: SimOptions = {}, name = "rig"): KeepAliveSimOpener {
  let sim: SimulatedRvr | undefined;
  const wires: WireTap[] = [];
  const devices: MemoryPort[] = [];
  const open: PortOpener = (): Promise<OpenedPort> => {
    const [host, device] = MemoryPort.pair(name);
    const wire = new WireTap(device);
    wires.push(wire);
    devices.push(device);
    if (sim) sim.attach(wire);
    else {
      sim = new SimulatedRvr(wire, { inactivityTimeoutMs: 0, ...options, keepAlive: true });
      sim.start();
    }
    return Promise.resolve({ port: host, simulated: true, close: () => device.close() });
  };
  return {
    open,
    wires,
    devices,
    get sim(): SimulatedRvr {
      if (!sim) {
        throw new Error("No connection was opened yet: the simulator starts with the first.");
      }
      return sim;
    },
    get wire(): WireTap {
      const wire = wires.at(-1);
      if (!wire) throw new Error("No connection was opened yet: connect first.");
      return wire;
    },
  };
}
