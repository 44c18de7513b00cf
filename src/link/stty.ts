/**
 * Before a tty is opened: the path is checked (exists, is a terminal) and the line is set with
 * `stty` (raw 8N1, no echo, no flow control, section 1). Every failure is a SerialPortError that
 * names the path and the fix.
 *
 * @module
 */
import { errorMessage } from "../core/mod.ts";
import { DIALOUT_HINT, RASPI_HINT, SerialPortError } from "./serial_errors.ts";

/** Baud rates GNU stty accepts on Linux (0, "hang up", is left out on purpose). */
export const STTY_BAUD_RATES = [
  50,
  75,
  110,
  134,
  150,
  200,
  300,
  600,
  1200,
  1800,
  2400,
  4800,
  9600,
  19200,
  38400,
  57600,
  115200,
  230400,
  460800,
  500000,
  576000,
  921600,
  1000000,
  1152000,
  1500000,
  2000000,
  2500000,
  3000000,
  3500000,
  4000000,
] as const;
export type BaudRate = (typeof STTY_BAUD_RATES)[number];

/** The baud rates offered for the RVR's UART (RVR_BAUD_RATE, the connect tool): 115200 is its own. */
export const BAUD_RATES = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600] as const;

/** VTIME in tenths of a second (see sttyArgs). */
const READ_POLL_DECISECONDS = 1;

/** RangeError unless `baudRate` is one stty knows. */
export function checkBaudRate(baudRate: number): BaudRate {
  if (!(STTY_BAUD_RATES as readonly number[]).includes(baudRate)) {
    throw new RangeError(
      `Baud rate ${baudRate} is not one stty accepts; use one of ${
        STTY_BAUD_RATES.join(", ")
      } (the RVR uses 115200).`,
    );
  }
  return baudRate as BaudRate;
}

/**
 * The argument list for `stty`: raw 8N1, no echo, no flow control, VMIN=0/VTIME=1 (a blocking
 * read(2) by anyone else on the line returns within 100 ms; the port itself reads non-blocking).
 */
export function sttyArgs(path: string, baudRate: number): string[] {
  return [
    "-F",
    path,
    String(baudRate),
    "raw",
    "-echo",
    "-echoe",
    "-echok",
    "-echoctl",
    "-echoke",
    "-onlcr",
    "cs8",
    "-cstopb",
    "-parenb",
    "-crtscts",
    "-ixon",
    "-ixoff",
    "clocal",
    "cread",
    "min",
    "0",
    "time",
    String(READ_POLL_DECISECONDS),
  ];
}

export function notAllowed(path: string, error: unknown): SerialPortError {
  return new SerialPortError(
    "not_allowed",
    path,
    `Deno may not open serial port ${path} (${errorMessage(error)}). Deno 2 opens device files ` +
      `under /dev only with --allow-all (-A), whatever --allow-read/--allow-write say: run with ` +
      `-A, as \`deno task start\` and the compiled binary do.`,
    { cause: error },
  );
}

/** SerialPortError unless `path` exists and is a character device. */
export async function checkPath(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      const dangling = await Deno.lstat(path).then((l) => l.isSymlink, () => false);
      throw new SerialPortError(
        "not_found",
        path,
        `Serial port ${path} does not exist${
          dangling ? " (it is a symlink to a missing device)" : ""
        }. ${RASPI_HINT}`,
        { cause: error },
      );
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new SerialPortError(
        "permission_denied",
        path,
        `Permission denied looking up serial port ${path}. ${DIALOUT_HINT}`,
        { cause: error },
      );
    }
    if (error instanceof Deno.errors.NotCapable) throw notAllowed(path, error);
    throw new SerialPortError("io_error", path, `Cannot stat ${path}: ${errorMessage(error)}.`, {
      cause: error,
    });
  }
  if (!info.isCharDevice) {
    const kind = info.isFile ? "a regular file" : info.isDirectory ? "a directory" : "not a device";
    throw new SerialPortError(
      "not_a_tty",
      path,
      `${path} is not a tty (it is ${kind}); pass the serial device, e.g. /dev/serial0.`,
    );
  }
}

/** Sets the line with stty (sttyArgs); SerialPortError naming the fix when that fails. */
export async function runStty(path: string, baudRate: number): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("stty", {
      args: sttyArgs(path, baudRate),
      env: { LC_ALL: "C" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new SerialPortError(
        "stty_missing",
        path,
        `Cannot set up ${path}: the stty program is not installed; install coreutils ` +
          `(\`sudo apt-get install coreutils\`).`,
        { cause: error },
      );
    }
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw notAllowed(path, error);
    }
    throw new SerialPortError(
      "stty_failed",
      path,
      `Running stty for ${path} failed: ${errorMessage(error)}.`,
      { cause: error },
    );
  }
  if (output.success) return;
  const stderr = new TextDecoder().decode(output.stderr).trim();
  if (/permission denied/i.test(stderr)) {
    throw new SerialPortError(
      "permission_denied",
      path,
      `Permission denied opening serial port ${path} (${stderr}). ${DIALOUT_HINT}`,
    );
  }
  if (/inappropriate ioctl|not a tty/i.test(stderr)) {
    throw new SerialPortError(
      "not_a_tty",
      path,
      `${path} is not a tty (${stderr}); pass the serial device, e.g. /dev/serial0.`,
    );
  }
  throw new SerialPortError(
    "stty_failed",
    path,
    `stty could not set ${path} to ${baudRate} baud raw 8N1 (exit code ${output.code}): ${
      stderr || "no message"
    }.`,
  );
}

/** The SerialPortError for a failed open of the device itself (Deno's or Node's error codes). */
export function openError(path: string, error: unknown): Error {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Deno.errors.PermissionDenied || code === "EACCES" || code === "EPERM") {
    return new SerialPortError(
      "permission_denied",
      path,
      `Permission denied opening serial port ${path}. ${DIALOUT_HINT}`,
      { cause: error },
    );
  }
  if (error instanceof Deno.errors.NotCapable) return notAllowed(path, error);
  if (error instanceof Deno.errors.NotFound || code === "ENOENT") {
    return new SerialPortError(
      "not_found",
      path,
      `Serial port ${path} disappeared while opening it. ${RASPI_HINT}`,
      { cause: error },
    );
  }
  return new SerialPortError("io_error", path, `Opening ${path} failed: ${errorMessage(error)}.`, {
    cause: error,
  });
}
