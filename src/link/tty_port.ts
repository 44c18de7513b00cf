/**
 * TtyPort: a BytePort on a real serial device (/dev/serial0 on a Raspberry Pi) or a pty, after
 * the path is checked and the line set with `stty` (stty.ts: raw 8N1, no echo, no flow control).
 *
 * The bytes go through Node's `tty.ReadStream`, which Deno 2.9 implements as libuv does: it
 * reopens the terminal non-blocking (O_NONBLOCK, O_NOCTTY) and watches it with the event loop's
 * epoll, so a read or a write is one system call on the main thread when the line is ready. No
 * worker thread sits in a blocking read(2), and none is woken per chunk: an answer is handed to
 * the link in the same turn of the event loop in which it arrived (with `Deno.FsFile` every read
 * and every write was a trip through Deno's blocking thread pool, measured at 0.1-0.2 ms per round
 * trip on a pty; see README "Speed"). Reads and writes share the one non-blocking descriptor, so a
 * write never waits behind a read.
 *
 * - `close()` waits (at most CLOSE_WAIT_MS) for the writes already handed to it, then closes the
 *   descriptor at once: nothing is left reading, so the next open of the same tty gets every byte.
 * - When the other end hangs up (pty master closed, USB adapter unplugged) the stream ends (EOF)
 *   or fails with EIO; either ends the port with SerialPortError code "hangup".
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { open as openFile } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { ReadStream } from "node:tty";
import { type BytePort, type BytePortHandlers, PortClosedError } from "../core/mod.ts";
import { type BaudRate, checkBaudRate, checkPath, openError, runStty } from "./stty.ts";
import {
  errorMessage,
  hangupError,
  ioError,
  isEio,
  type SerialPortError,
} from "./serial_errors.ts";

export { BAUD_RATES, type BaudRate, STTY_BAUD_RATES, sttyArgs } from "./stty.ts";
export { SERIAL_ERROR_CODES, type SerialErrorCode, SerialPortError } from "./serial_errors.ts";

const log = getLogger(["rvr", "link"]);

export interface TtyPortOptions {
  /** Line speed; one of STTY_BAUD_RATES. Default 115200 (the RVR's, section 1). */
  baudRate?: number;
}

/** close() waits at most this long for the writes in flight before closing anyway. */
const CLOSE_WAIT_MS = 1000;

const ignore = () => {};

export class TtyPort implements BytePort {
  readonly path: string;
  readonly baudRate: BaudRate;
  readonly #file: FileHandle;
  readonly #stream: ReadStream;
  #open = true;
  #handlers: BytePortHandlers | undefined;
  /** Settles (never rejects) once every write handed to the stream so far is done. */
  #lastWrite: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;
  #released = false;
  #closeNotified = false;

  private constructor(path: string, baudRate: BaudRate, file: FileHandle, stream: ReadStream) {
    this.path = path;
    this.baudRate = baudRate;
    this.#file = file;
    this.#stream = stream;
    stream.on("error", (error: Error) => this.#onStreamError(error));
    stream.on("end", () => this.#fail(hangupError(this.path, undefined)));
    stream.on("close", () => this.#fail(hangupError(this.path, undefined)));
  }

  /**
   * Checks `path`, sets the line with stty and opens it. Rejects with SerialPortError (see
   * SERIAL_ERROR_CODES) naming the path and the fix; RangeError for an unsupported baud rate.
   */
  static async open(path: string, options: TtyPortOptions = {}): Promise<TtyPort> {
    if (typeof path !== "string" || path === "") {
      throw new TypeError(`Serial port path must be a non-empty string such as /dev/serial0.`);
    }
    const baudRate = checkBaudRate(options.baudRate ?? 115200);
    await checkPath(path);
    await runStty(path, baudRate);
    let file: FileHandle | undefined;
    try {
      file = await openFile(path, "r+");
      return new TtyPort(path, baudRate, file, new ReadStream(file.fd));
    } catch (error) {
      await file?.close().catch((e) => log.warn("Closing {path}: {error}", { path, error: e }));
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
    this.#stream.on("data", (chunk: Uint8Array) => {
      if (!this.#open) return; // bytes that raced with close() are not delivered after it
      try {
        handlers.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (error) {
        log.error("The data handler of {path} threw (it must not): {error}", {
          path: this.path,
          error,
        });
      }
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.#open) return Promise.reject(new PortClosedError(this.path));
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    // A copy: the caller may reuse its buffer before the line took the bytes.
    this.#stream.write(bytes.slice(), (error) => {
      if (error) reject(this.#writeError(error));
      else resolve();
    });
    this.#lastWrite = promise.then(ignore, ignore);
    return promise;
  }

  /** Flushes the writes handed over so far (waits <= CLOSE_WAIT_MS), then closes. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#open = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      this.#lastWrite.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), CLOSE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      log.warn(
        "Closing {path}: a write did not finish within {ms} ms (flow stopped by the other " +
          "end?); closing anyway",
        { path: this.path, ms: CLOSE_WAIT_MS },
      );
    }
    await this.#release();
    this.#notifyClose(undefined);
  }

  async #release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#stream.destroy();
    try {
      await this.#file.close();
    } catch (error) {
      // Nothing is left to release; say so and go on closing.
      log.warn("Closing {path} reported: {error}", { path: this.path, error: errorMessage(error) });
    }
  }

  #notifyClose(error: SerialPortError | undefined): void {
    if (this.#closeNotified) return;
    this.#closeNotified = true;
    this.#handlers?.onClose(error);
  }

  #onStreamError(error: Error): void {
    if (!this.#open) return; // close() destroyed the stream under a read or write
    this.#fail(isEio(error) ? hangupError(this.path, error) : ioError(this.path, "Reading", error));
  }

  #writeError(error: Error): Error {
    if (this.#released || !this.#open && !isEio(error)) return new PortClosedError(this.path);
    if (isEio(error)) {
      // The other end hung up: the port is done, whether the read side noticed yet or not.
      const hangup = hangupError(this.path, error);
      this.#fail(hangup);
      return hangup;
    }
    return ioError(this.path, "Writing to", error);
  }

  /** The port failed on its own: close it and report why. */
  #fail(error: SerialPortError): void {
    if (!this.#open) return;
    this.#open = false;
    log.warn("Serial port {path} closed: {error}", { path: this.path, error: error.message });
    // Writes in flight fail on their own (EIO); wait for them so the file closes last.
    this.#closing = this.#lastWrite.then(async () => {
      await this.#release();
      this.#notifyClose(error);
    });
  }
}
