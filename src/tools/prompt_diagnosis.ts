/**
 * The diagnose_connection prompt: walks README's Troubleshooting table. {@link TROUBLESHOOTING}
 * holds its rows (the message as the table writes it, `\u2026` standing for any text, and what to do);
 * the row that matches the error now (the connection's last error, or the message the person
 * saw) comes first. The port argument completes "sim", the configured port and the serial devices
 * seen on this machine (through {@link PromptContext.serialPorts}).
 *
 * @module
 */
import { z } from "zod";
import { connect, connectionStatus, getConnectionStatus } from "./connection.ts";
import { clearEmergencyStop } from "./movement_stops.ts";
import { getBatteryStatus } from "./sensor_readings.ts";
import { getSystemInfo } from "./system.ts";
import { callText, prompt, type PromptContext, seenSerialPorts, toolText } from "./_prompt.ts";
import { robotFacts } from "./prompt_facts.ts";

/** One row of README's Troubleshooting table. */
export interface TroubleshootingRow {
  /** The message's start exactly as the table's first column writes it (`\u2026`: any text). */
  readonly message: string;
  /** What to do, and who does it (the person on the robot's computer, or the model). */
  readonly action: string;
}

/** README's Troubleshooting table, in its order. */
export const TROUBLESHOOTING: readonly TroubleshootingRow[] = [
  {
    message: "No UART on the GPIO pins of this \u2026",
    action: "a Raspberry Pi with its UART off: the person follows the steps in the message " +
      "(sudo raspi-config, Interface Options, Serial Port: login shell No, hardware Yes; on a " +
      "Pi 5 the line dtparam=uart0=on in /boot/firmware/config.txt), reboots, then you call " +
      "`connect`.",
  },
  {
    message: "Serial port /dev/\u2026 does not exist",
    action: "the path is wrong or the UART is not enabled: ask which device the robot is wired " +
      "to (a Pi's GPIO UART: /dev/serial0, on a Pi 5 /dev/ttyAMA0; a USB adapter: /dev/ttyUSB0) " +
      "and have the person enable the UART in raspi-config; then `connect` with that port.",
  },
  {
    message: "Permission denied opening serial port /dev/\u2026",
    action: "the user may not open the device: the person runs sudo usermod -aG dialout $USER " +
      "and logs in again (the service gets the group from SupplementaryGroups=dialout in its " +
      "unit); then `connect`.",
  },
  {
    message: "Deno may not open serial port /dev/\u2026",
    action: "Deno runs without -A: the person starts the server with deno run -A, the tasks, " +
      "deploy/rvr-mcp or the compiled binary (narrower --allow-* or any --deny-* breaks it).",
  },
  {
    message: "/dev/\u2026 is not a tty",
    action: "the path is a file, not a serial device: `connect` with the serial device instead.",
  },
  {
    message: "Cannot set up /dev/\u2026: the stty program is not installed",
    action: "the person installs it (sudo apt-get install coreutils); then `connect`.",
  },
  {
    message: "No answer from an RVR on /dev/\u2026 within 5000 ms",
    action: "nothing answered: the robot is off or asleep (the person presses its power " +
      "button), TX and RX are not crossed (Pi pin 8 to RVR RX, pin 10 to RVR TX, pin 6 to " +
      "GND), a login shell still owns the UART (raspi-config), or the robot's firmware keeps " +
      "the UART off (update it once with the Sphero EDU app); then `connect`.",
  },
  {
    message: "The RVR on /dev/\u2026 answered but did not become ready within 5000 ms",
    action: "the robot is there but not ready: the person charges the battery, then you call " +
      "`connect` again.",
  },
  {
    message: "RVR not reachable yet (\u2026); retrying in the background",
    action: "only the log while the server connects at start-up: the reason in parentheses is " +
      "one of these rows; look that one up.",
  },
  {
    message: "Serial port /dev/\u2026 hung up",
    action: "the cable or USB adapter came off: the person plugs it back; the server reconnects " +
      "by itself when the robot answers (`get_connection_status` shows it).",
  },
  {
    message: "The RVR is not connected (state: \u2026)",
    action: "a tool needed the robot: call `connect`, or read `get_connection_status` for why " +
      "it is not there.",
  },
  {
    message: 'Circuit "\u2026" is open',
    action: "the robot stopped answering several times in a row: the person checks its power " +
      "and cable; commands are refused until the next probe (the message says when) succeeds.",
  },
  {
    message: "emergency stop is active: call clear_emergency_stop first",
    action: "an emergency stop is latched: ask the person before calling " +
      "`clear_emergency_stop`, then send the movement again.",
  },
  {
    message: "Refusing to serve MCP over HTTP on \u2026 without RVR_API_KEY",
    action: "the person sets RVR_API_KEY (/etc/rvr-mcp.env for the service), or serves on " +
      "127.0.0.1 only.",
  },
  {
    message: "Unauthorized: send Authorization: Bearer <RVR_API_KEY>",
    action: "the HTTP client lacks the header: the person adds it (--header in claude mcp add).",
  },
  {
    message: "Invalid RVR_\u2026=\u2026: allowed is \u2026",
    action: "a setting is out of range (the program exits with code 2): the person fixes the " +
      "variable the message names.",
  },
];

/** A row's message as a pattern: `\u2026` is any text, a number any number, found anywhere. */
export function rowPattern(row: TroubleshootingRow): RegExp {
  const parts = row.message.split("\u2026").map((part) =>
    part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\d+/g, "\\d+")
  );
  return new RegExp(parts.join(".+?").replace(/\/dev\/\.\+\?/g, ".+?"));
}

/** The first row whose message occurs in `text`, or undefined. */
export function matchingRow(text: string): TroubleshootingRow | undefined {
  return TROUBLESHOOTING.find((row) => rowPattern(row).test(text));
}

/** "sim", the configured port and the serial devices seen on this machine. */
function portSuggestions(context: PromptContext): Promise<readonly string[]> | string[] {
  const configured = context.robot?.connection.spec.path;
  const known = ["sim", ...(configured === undefined ? [] : [configured])];
  if (context.serialPorts === undefined) return known;
  return seenSerialPorts(context).then((seen) => [...known, ...seen]);
}

export const diagnoseConnection = prompt({
  name: "diagnose_connection",
  title: "Diagnose the connection",
  description: "Finds out why the RVR does not answer and what to do, walking the " +
    "troubleshooting table: reads the connection status, matches the error to the table, " +
    "says who must do what, then connects again and confirms the robot answers.",
  arguments: {
    port: z.string().min(1).max(4096).optional().describe(
      "The serial device to try, e.g. /dev/serial0, /dev/ttyAMA0 (Pi 5) or /dev/ttyUSB0; " +
        "'sim' for the built-in simulator. Default: the configured port.",
    ),
    error: z.string().min(1).max(2000).optional().describe(
      "The error message you saw, if any (default: the connection's last error).",
    ),
  },
  suggestions: { port: portSuggestions },
  messages(args, robot) {
    const status = connectionStatus(robot);
    const seen = args.error ?? status.error ?? undefined;
    const row = seen === undefined ? undefined : matchingRow(seen);
    const now = seen === undefined
      ? "No error is recorded: the robot may simply answer; check it with the steps below."
      : row === undefined
      ? `The error to diagnose: "${seen}". It matches no row of the table: read it to the ` +
        "person; its own text says what failed and what to check."
      : `The error to diagnose: "${seen}". It matches the row "${row.message}": ${row.action}`;
    const connectCall = args.port === undefined
      ? callText(connect, {})
      : callText(connect, { port: args.port });
    const table = TROUBLESHOOTING.map((r) => `- "${r.message}": ${r.action}`);
    const text = [
      "Help me find out why the RVR does not answer, and fix it.",
      "",
      robotFacts(robot),
      "",
      now,
      "",
      "Steps, each after the previous one returned:",
      `1. ${callText(getConnectionStatus, {})}: read status, error, port, simulated and ` +
      "circuit (open means the robot stopped answering; retry_in_ms says when the next probe " +
      "is).",
      "2. Find the row of the table below whose message occurs in the error, and say who does " +
      "what: steps on the robot's computer are for me; tool calls are yours.",
      `3. When I say it is fixed (or if nothing was wrong): ${connectCall}.`,
      `4. ${callText(getSystemInfo, {})} and ${callText(getBatteryStatus, {})}: the robot ` +
      "answers; tell me its firmware versions and the battery. If simulated is true, tell me " +
      "it is the built-in simulator, not a real robot.",
      "",
      `If ${toolText(connect)} fails again, match its error to the table once more. If the ` +
      `emergency stop is latched, ask me before calling ${toolText(clearEmergencyStop)}.`,
      "",
      "The troubleshooting table (a message starts like this: what to do):",
      ...table,
      "",
      "With RVR_SERIAL_PORT=auto (the default) on a machine that is not a Raspberry Pi and has " +
      "no /dev/serial0, the server warns that there is no serial device and runs the built-in " +
      "simulator: the person sets RVR_SERIAL_PORT to use a robot.",
    ].join("\n");
    return [{ role: "user", text }];
  },
});
