/**
 * TtyPort: a BytePort on a real serial device (/dev/serial0 on a Raspberry Pi) or a pty, opened
 * with Deno.open after setting the line with `stty` (raw 8N1, no echo, no flow control, section 1).
 *
 * What Deno 2.9 does with a read pending on a tty when the file is closed (measured on Linux,
 * socat ptys; see tests/e2e/tty_port_test.ts):
 * - `FsFile.read()` on a tty runs a blocking read(2) on a worker thread. `file.close()` rejects
 *   the pending promise at once (`Interrupted: operation canceled`), so the op sanitizer and
 *   process exit are fine - but the worker thread stays blocked in read(2). The next bytes that
 *   arrive on the tty are consumed by that orphaned read and lost: re-opening the same tty in the
 *   same process (a reconnect) silently loses its first chunk.
 * - Nothing wakes a blocked tty read from the outside: changing termios (`stty min 0`) does not
 *   (the kernel latches VMIN/VTIME when read(2) starts), and there is no portable way to inject a
 *   byte into our own input.
 * - When the other end hangs up (pty master closed, USB adapter unplugged) a read in progress
 *   fails with EIO, and from then on read(2) returns 0 (end of file) immediately.
 * - Reads and writes on ONE FsFile are serialised: a write waits until the pending read returns.
 *   With a blocking read (VMIN=1) a request could never be written while waiting for the reply.
 *
 * Design: the line is set to non-canonical VMIN=0, VTIME=1. read(2) then returns as soon as at
 * least one byte is there (no added latency) or after 100 ms with 0 bytes. So no read is ever
 * pending for more than ~100 ms: `close()` stops the loop and waits for the read in flight to
 * return before closing the file - no orphaned read, no lost bytes, a bounded close. A 0-byte read
 * that returns well before the 100 ms timer (three in a row) is a real end of file: the other end
 * hung up. EIO is a hangup too. Either ends the port with SerialPortError code "hangup".
 * The tty is opened twice, once for reading and once for writing, so a write never waits for the
 * read in flight (measured: 0.2-0.4 ms from write to the other end, instead of up to 100 ms).
 */
import { getLogger } from "@logtape/logtape";
import { type BytePort, type BytePortHandlers, DomainError, PortClosedError } from "../core/mod.ts";

const log = getLogger(["rvr", "link"]);

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

export interface TtyPortOptions {
  /** Line speed; one of STTY_BAUD_RATES. Default 115200 (the RVR's, section 1). */
  baudRate?: number;
}

/** VTIME in tenths of a second: the longest a read stays pending without data. */
const READ_POLL_DECISECONDS = 1;
const READ_POLL_MS = READ_POLL_DECISECONDS * 100;
/** A 0-byte read faster than this did not wait for the VTIME timer: it is a real end of file. */
const FAST_EOF_MS = READ_POLL_MS / 2;
/** This many fast 0-byte reads in a row mean the other end hung up. */
const FAST_EOFS_FOR_HANGUP = 3;
/** close() waits at most this long for the read and writes in flight before closing anyway. */
const CLOSE_WAIT_MS = 1000;
const READ_BUFFER_BYTES = 4096;

const RASPI_HINT = "On a Raspberry Pi enable the serial port with `sudo raspi-config` " +
  "(Interface Options -> Serial Port: login shell No, serial hardware Yes), then use /dev/serial0 " +
  "(on a Pi 5: dtparam=uart0=on in /boot/firmware/config.txt, then /dev/ttyAMA0), or " +
  "RVR_SERIAL_PORT=auto.";
const DIALOUT_HINT = "Add your user to the dialout group with `sudo usermod -aG dialout $USER`, " +
  "then log out and in again.";

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isEio(error: unknown): boolean {
  return error instanceof Error &&
    ((error as { code?: unknown }).code === "EIO" || /\(os error 5\)/.test(error.message));
}

function notAllowed(path: string, error: unknown): SerialPortError {
  return new SerialPortError(
    "not_allowed",
    path,
    `Deno may not open serial port ${path} (${message(error)}). Deno 2 opens device files ` +
      `under /dev only with --allow-all (-A), whatever --allow-read/--allow-write say: run with ` +
      `-A, as \`deno task start\` and the compiled binary do.`,
    { cause: error },
  );
}

/** The argument list for `stty`: raw 8N1, no echo, no flow control, VMIN=0/VTIME=1. */
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

export class TtyPort implements BytePort {
  readonly path: string;
  readonly baudRate: BaudRate;
  #reader: Deno.FsFile;
  #writer: Deno.FsFile;
  #open = true;
  #handlers: BytePortHandlers | undefined;
  #readLoop: Promise<void> | undefined;
  #writeChain: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;
  #filesClosed = false;
  #closeNotified = false;

  private constructor(path: string, baudRate: BaudRate, reader: Deno.FsFile, writer: Deno.FsFile) {
    this.path = path;
    this.baudRate = baudRate;
    this.#reader = reader;
    this.#writer = writer;
  }

  /**
   * Checks `path`, sets the line with stty and opens it. Rejects with SerialPortError (see
   * SERIAL_ERROR_CODES) naming the path and the fix; RangeError for an unsupported baud rate.
   */
  static async open(path: string, options: TtyPortOptions = {}): Promise<TtyPort> {
    if (typeof path !== "string" || path === "") {
      throw new TypeError(`Serial port path must be a non-empty string such as /dev/serial0.`);
    }
    const baudRate = options.baudRate ?? 115200;
    if (!(STTY_BAUD_RATES as readonly number[]).includes(baudRate)) {
      throw new RangeError(
        `Baud rate ${baudRate} is not one stty accepts; use one of ${
          STTY_BAUD_RATES.join(", ")
        } (the RVR uses 115200).`,
      );
    }
    await checkPath(path);
    await runStty(path, baudRate);
    let reader: Deno.FsFile | undefined;
    try {
      reader = await Deno.open(path, { read: true });
      const writer = await Deno.open(path, { write: true });
      return new TtyPort(path, baudRate as BaudRate, reader, writer);
    } catch (error) {
      reader?.close();
      throw openError(path, error);
    }
  }

  get isOpen(): boolean {
    return this.#open;
  }

  start(handlers: BytePortHandlers): void {
    if (!this.#open) throw new PortClosedError(this.path);
    if (this.#handlers) throw new Error(`Port ${this.path} is already started.`);
    this.#handlers = handlers;
    this.#readLoop = this.#read(handlers);
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.#open) return Promise.reject(new PortClosedError(this.path));
    const data = bytes.slice();
    const done = this.#writeChain.then(() => this.#writeAll(data));
    // The chain only orders writes; each caller gets its own outcome through `done`.
    this.#writeChain = done.then(() => undefined, () => undefined);
    return done;
  }

  /** Stops reading (waits <= ~100 ms for the read in flight), flushes queued writes, closes. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#open = false;
    const inFlight = Promise.all([this.#readLoop, this.#writeChain]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      inFlight.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), CLOSE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      log.warn(
        "Closing {path}: a read or write did not finish within {ms} ms (line settings changed " +
          "by someone else?); closing anyway",
        { path: this.path, ms: CLOSE_WAIT_MS },
      );
    }
    this.#closeFile();
    this.#notifyClose(undefined);
  }

  #closeFile(): void {
    if (this.#filesClosed) return;
    this.#filesClosed = true;
    for (const file of [this.#reader, this.#writer]) {
      try {
        file.close();
      } catch (error) {
        // Nothing is left to release; say so and go on closing.
        log.warn("Closing {path} reported: {error}", { path: this.path, error: message(error) });
      }
    }
  }

  #notifyClose(error: SerialPortError | undefined): void {
    if (this.#closeNotified) return;
    this.#closeNotified = true;
    this.#handlers?.onClose(error);
  }

  async #read(handlers: BytePortHandlers): Promise<void> {
    const buf = new Uint8Array(READ_BUFFER_BYTES);
    let fastEofs = 0;
    while (this.#open) {
      const startedMs = performance.now();
      let n: number | null;
      try {
        n = await this.#reader.read(buf);
      } catch (error) {
        if (!this.#open) return; // close() forced the file shut under us; it reports the close.
        this.#fail(
          isEio(error) ? this.#hangupError(error) : new SerialPortError(
            "io_error",
            this.path,
            `Reading serial port ${this.path} failed: ${message(error)}. Check the cable and ` +
              `reconnect.`,
            { cause: error },
          ),
        );
        return;
      }
      if (n === null || n === 0) {
        if (performance.now() - startedMs < FAST_EOF_MS) {
          if (++fastEofs >= FAST_EOFS_FOR_HANGUP) {
            this.#fail(this.#hangupError(undefined));
            return;
          }
        } else {
          fastEofs = 0;
        }
        continue;
      }
      fastEofs = 0;
      if (!this.#open) return; // bytes that raced with close() are not delivered after it
      try {
        handlers.onData(buf.slice(0, n));
      } catch (error) {
        log.error("The data handler of {path} threw (it must not): {error}", {
          path: this.path,
          error,
        });
      }
    }
  }

  #hangupError(cause: unknown): SerialPortError {
    return new SerialPortError(
      "hangup",
      this.path,
      `Serial port ${this.path} hung up (${
        cause === undefined ? "end of file" : message(cause)
      }): the device was unplugged or the other end closed. Check the cable and reconnect.`,
      cause === undefined ? undefined : { cause },
    );
  }

  /** The port failed on its own: close it and report why. */
  #fail(error: SerialPortError): void {
    if (!this.#open) return;
    this.#open = false;
    log.warn("Serial port {path} closed: {error}", { path: this.path, error: error.message });
    // Writes in flight fail on their own (EIO); wait for them so the file closes last.
    this.#closing = this.#writeChain.then(() => {
      this.#closeFile();
      this.#notifyClose(error);
    });
  }

  async #writeAll(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      // Writes queued before close() still go out; close() waits for them.
      if (this.#filesClosed) throw new PortClosedError(this.path);
      let n: number;
      try {
        n = await this.#writer.write(data.subarray(offset));
      } catch (error) {
        if (this.#filesClosed && error instanceof Deno.errors.BadResource) {
          throw new PortClosedError(this.path);
        }
        if (isEio(error)) {
          // The other end hung up: the port is done, whether the read loop noticed yet or not.
          const hangup = this.#hangupError(error);
          this.#fail(hangup);
          throw hangup;
        }
        throw new SerialPortError(
          "io_error",
          this.path,
          `Writing to serial port ${this.path} failed: ${message(error)}. Check the cable and ` +
            `reconnect.`,
          { cause: error },
        );
      }
      offset += n;
    }
  }
}

async function checkPath(path: string): Promise<void> {
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
    throw new SerialPortError("io_error", path, `Cannot stat ${path}: ${message(error)}.`, {
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

async function runStty(path: string, baudRate: number): Promise<void> {
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
      `Running stty for ${path} failed: ${message(error)}.`,
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

function openError(path: string, error: unknown): Error {
  if (error instanceof Deno.errors.PermissionDenied) {
    return new SerialPortError(
      "permission_denied",
      path,
      `Permission denied opening serial port ${path}. ${DIALOUT_HINT}`,
      { cause: error },
    );
  }
  if (error instanceof Deno.errors.NotCapable) return notAllowed(path, error);
  if (error instanceof Deno.errors.NotFound) {
    return new SerialPortError(
      "not_found",
      path,
      `Serial port ${path} disappeared while opening it. ${RASPI_HINT}`,
      { cause: error },
    );
  }
  return new SerialPortError("io_error", path, `Opening ${path} failed: ${message(error)}.`, {
    cause: error,
  });
}
