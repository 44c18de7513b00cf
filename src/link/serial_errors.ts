/**
 * What can go wrong with a serial port, as one error type with a closed set of codes, and the
 * hints that name the fix (raspi-config, the dialout group).
 *
 * @module
 */
import { DomainError, errorMessage } from "../core/mod.ts";

/** What went wrong opening or using a serial port. */
export const SERIAL_ERROR_CODES = [
  /** The path does not exist (serial port not enabled, wrong name, adapter unplugged). */
  "not_found",
  /** The OS refused access: the user is not in the `dialout` group. */
  "permission_denied",
  /** The path exists but is not a terminal device. */
  "not_a_tty",
  /** `stty` is not installed. */
  "stty_missing",
  /** `stty` ran and failed. */
  "stty_failed",
  /** Deno itself was not granted --allow-read/--allow-write/--allow-run. */
  "not_allowed",
  /** The other end hung up (EOF or EIO): device unplugged, pty closed. */
  "hangup",
  /** Any other read or write failure. */
  "io_error",
] as const;
export type SerialErrorCode = (typeof SERIAL_ERROR_CODES)[number];

export class SerialPortError extends DomainError {
  override name = "SerialPortError";
  readonly code: SerialErrorCode;
  readonly path: string;

  constructor(code: SerialErrorCode, path: string, message: string, options?: ErrorOptions) {
    super(message, { ...options, hint: `serial port ${path}: ${message}` });
    this.code = code;
    this.path = path;
  }
}

export const RASPI_HINT = "On a Raspberry Pi enable the serial port with `sudo raspi-config` " +
  "(Interface Options -> Serial Port: login shell No, serial hardware Yes), then use /dev/serial0 " +
  "(on a Pi 5: dtparam=uart0=on in /boot/firmware/config.txt, then /dev/ttyAMA0), or " +
  "RVR_SERIAL_PORT=auto.";
export const DIALOUT_HINT = "Add your user to the dialout group with " +
  "`sudo usermod -aG dialout $USER`, then log out and in again.";

/** True for EIO, what a tty reports once the other end hung up. */
export function isEio(error: unknown): boolean {
  return error instanceof Error &&
    ((error as { code?: unknown }).code === "EIO" || /\(os error 5\)|\bEIO\b/.test(error.message));
}

/** The other end hung up: `cause` is the EIO, or undefined for an end of file. */
export function hangupError(path: string, cause: unknown): SerialPortError {
  return new SerialPortError(
    "hangup",
    path,
    `Serial port ${path} hung up (${
      cause === undefined ? "end of file" : errorMessage(cause)
    }): the device was unplugged or the other end closed. Check the cable and reconnect.`,
    cause === undefined ? undefined : { cause },
  );
}

/** A read or write failed for another reason than a hangup. */
export function ioError(
  path: string,
  what: "Reading" | "Writing to",
  cause: unknown,
): SerialPortError {
  return new SerialPortError(
    "io_error",
    path,
    `${what} serial port ${path} failed: ${errorMessage(cause)}. Check the cable and reconnect.`,
    { cause },
  );
}
