/**
 * What `RVR_SERIAL_PORT=auto` means on this machine: the UART on the GPIO pins the RVR is wired
 * to (Pi pins 8 and 10, GPIO14/15), chosen from the board model the kernel reports and the
 * devices that exist.
 *
 * - Raspberry Pi 5 family (Pi 5, Pi 500, Compute Module 5): `/dev/serial0` is the 3-pin debug
 *   connector (`ttyAMA10`); GPIO14/15 is UART0, `/dev/ttyAMA0` once `dtparam=uart0=on` is in
 *   config.txt.
 * - Every other Raspberry Pi: `/dev/serial0`, the alias of the primary UART, which is the one on
 *   GPIO14/15 (the mini UART `ttyS0` while Bluetooth holds the PL011, else `ttyAMA0`).
 * - On a Raspberry Pi without that device `auto` never falls back to the simulator: the person
 *   would believe they drive the robot. It is `unavailable`, with the steps that enable the UART.
 * - Anywhere else (a PC, a laptop): `/dev/serial0` when it exists, else the built-in simulator.
 *
 * {@link resolveAutoDevice} is pure (the tests give it any board); {@link autoPort} turns its
 * answer into what a port opener does; main.ts reads the machine (`probeBoard`).
 *
 * @module
 */
import { SerialPortError } from "./tty_port.ts";

/** Where the kernel names the board on device-tree machines (every Raspberry Pi). */
export const MODEL_FILE = "/proc/device-tree/model";
/** The primary UART alias: GPIO14/15 on every Raspberry Pi but the Pi 5 family. */
export const SERIAL0 = "/dev/serial0";
/** UART0 on GPIO14/15 of a Pi 5, Pi 500 or Compute Module 5 (with `dtparam=uart0=on`). */
export const PI5_GPIO_UART = "/dev/ttyAMA0";
/** Every device `auto` may pick; main.ts checks which of them exist. */
export const AUTO_CANDIDATES = [SERIAL0, PI5_GPIO_UART] as const;

/** The line config.txt needs on a Pi 5 for the UART on GPIO14/15. */
export const PI5_CONFIG_LINE = "dtparam=uart0=on";

/** What the resolver needs to know about the machine. */
export interface BoardFacts {
  /** The text of {@link MODEL_FILE} as read (NUL-terminated), or undefined when it does not exist. */
  readonly model: string | undefined;
  /** Those of {@link AUTO_CANDIDATES} that exist. */
  readonly devices: readonly string[];
}

/** A Raspberry Pi as its model line names it. */
export interface RaspberryPi {
  /** e.g. "Raspberry Pi 5 Model B Rev 1.0". */
  readonly name: string;
  /** Pi 5 family (RP1 I/O chip: its own UART numbering) or every earlier model. */
  readonly family: "pi5" | "earlier";
}

/** What `auto` resolves to. */
export type AutoDevice =
  /** Use this tty. `board` names the Raspberry Pi, when it is one. */
  | { readonly kind: "device"; readonly path: string; readonly board: string | undefined }
  /** Not a Raspberry Pi and no UART: the built-in simulator, with this warning. */
  | { readonly kind: "simulator"; readonly reason: string }
  /** A Raspberry Pi whose GPIO UART is not enabled: no robot, and `message` says how to fix it. */
  | {
    readonly kind: "unavailable";
    readonly path: string;
    readonly board: string;
    readonly message: string;
  };

/** The Raspberry Pi the model text names, or undefined for any other machine. */
export function raspberryPi(model: string | undefined): RaspberryPi | undefined {
  if (model === undefined) return undefined;
  // The kernel's string ends with a NUL byte.
  const name = model.replaceAll("\0", "").trim();
  if (!/^Raspberry Pi\b/.test(name)) return undefined;
  // "Raspberry Pi 5 Model B", "Raspberry Pi 500", "Raspberry Pi Compute Module 5".
  const family = /^Raspberry Pi (?:Compute Module )?5/.test(name) ? "pi5" : "earlier";
  return { name, family };
}

const SIM_HINT = "To try the built-in simulated RVR instead, set RVR_SERIAL_PORT=sim.";

/** The GPIO UART of `pi`, and how to enable it. */
function gpioUart(pi: RaspberryPi): { path: string; enable: string } {
  if (pi.family === "pi5") {
    return {
      path: PI5_GPIO_UART,
      enable:
        `On a Pi 5, ${SERIAL0} is the 3-pin debug connector, not GPIO14/15. Enable UART0 on ` +
        `GPIO14/15: add the line ${PI5_CONFIG_LINE} to /boot/firmware/config.txt and reboot ` +
        `(README: "Raspberry Pi 5").`,
    };
  }
  return {
    path: SERIAL0,
    enable: "Enable it: `sudo raspi-config` -> Interface Options -> Serial Port: login shell " +
      'over serial No, serial port hardware Yes; then reboot (README: "Talking to a real RVR", ' +
      "step 1).",
  };
}

/** The device `RVR_SERIAL_PORT=auto` stands for on the machine `facts` describe. */
export function resolveAutoDevice(facts: BoardFacts): AutoDevice {
  const pi = raspberryPi(facts.model);
  if (pi) {
    const uart = gpioUart(pi);
    if (facts.devices.includes(uart.path)) {
      return { kind: "device", path: uart.path, board: pi.name };
    }
    return {
      kind: "unavailable",
      path: uart.path,
      board: pi.name,
      message: `No UART on the GPIO pins of this ${pi.name}: ${uart.path} does not exist, so ` +
        `RVR_SERIAL_PORT=auto has no robot to drive. ${uart.enable} ${SIM_HINT}`,
    };
  }
  if (facts.devices.includes(SERIAL0)) return { kind: "device", path: SERIAL0, board: undefined };
  return {
    kind: "simulator",
    reason: `No serial device at ${SERIAL0} and this is not a Raspberry Pi: running on the ` +
      "built-in simulated RVR. Set RVR_SERIAL_PORT to use a robot.",
  };
}

/**
 * What a port opener does for `auto` on the machine `facts` describe: open this tty, or run the
 * built-in simulator with this warning. Throws SerialPortError (`not_found`, naming the device and
 * the steps that enable it) on a Raspberry Pi without its GPIO UART: there the simulator runs only
 * when asked for (`RVR_SERIAL_PORT=sim`).
 */
export function autoPort(
  facts: BoardFacts,
): { kind: "device"; path: string } | { kind: "simulator"; reason: string } {
  const auto = resolveAutoDevice(facts);
  if (auto.kind === "unavailable") throw new SerialPortError("not_found", auto.path, auto.message);
  if (auto.kind === "simulator") return auto;
  return { kind: "device", path: auto.path };
}
