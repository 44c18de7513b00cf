/**
 * TtyPort: a BytePort on a real serial device (/dev/serial0 on a Raspberry Pi) or a pty, after
 * the path is checked and the line set with `stty` (stty.ts: raw 8N1, no echo, no flow control).
 *
 * Reads go through Node's `tty.ReadStream`, which Deno 2.9 implements as libuv does: it reopens
 * the terminal non-blocking and watches it with the event loop's epoll, so a chunk is one read(2)
 * on the main thread, handed to the link in the same turn of the event loop in which it arrived:
 * no worker thread sits in a blocking read(2), none is woken per chunk (with `Deno.FsFile.read`
 * every chunk was a trip through Deno's blocking thread pool; README "Speed" has the figures).
 * Writes go through a `Deno.FsFile` of their own (a blocking descriptor), in order: the stream's
 * own write stalls for good once the line's buffer fills (Deno 2.9.6, measured: a 256 KiB write
 * to a pty stops at about 40 KiB and never resumes), and a non-blocking `writeSync` loses count
 * of a partial write (it throws EAGAIN for the rest and does not say how much went). A packet is
 * written at once, with one write(2) on the main thread, while the line is draining: nothing
 * else is being written and at most {@link SYNC_WRITE_BYTES} have gone out since the other end
 * last sent a byte, far below what any tty buffers (4 KiB for a UART's driver, more for a pty),
 * so that write(2) cannot block. Otherwise (a long write, a robot that has stopped answering, a
 * pty nobody reads) the write goes through Deno's thread pool as an async write, which may wait
 * for the line without stopping the program. The fast path saves the pool's two thread hops per
 * packet (README "Speed").
 *
 * - `close()` waits (at most CLOSE_WAIT_MS) for the writes already handed to it, then closes the
 *   descriptor at once: nothing is left reading, so the next open of the same tty gets every byte.
 * - When the other end hangs up (pty master closed, USB adapter unplugged) the stream ends (EOF)
 *   or fails with EIO; either ends the port with SerialPortError code "hangup".
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { closeSync, constants, openSync } from "node:fs";
import { ReadStream } from "node:tty";
import {
  type BytePort,
  type BytePortHandlers,
  errorMessage,
  PortClosedError,
} from "../core/mod.ts";
import { type BaudRate, checkBaudRate, checkPath, openError, runStty } from "./stty.ts";
import { hangupError, ioError, isEio, type SerialPortError } from "./serial_errors.ts";

export { BAUD_RATES, type BaudRate, STTY_BAUD_RATES, sttyArgs } from "./stty.ts";
export { SERIAL_ERROR_CODES, type SerialErrorCode, SerialPortError } from "./serial_errors.ts";

const log = getLogger(["rvr", "link"]);

export interface TtyPortOptions {
  /** Line speed; one of STTY_BAUD_RATES. Default 115200 (the RVR's, section 1). */
  baudRate?: number;
}

/** close() waits at most this long for the writes in flight before closing anyway. */
const CLOSE_WAIT_MS = 1000;

/**
 * Bytes that may go out with a blocking write on the main thread since the other end last sent a
 * byte (see the module doc): a quarter of the smallest tty buffer.
 */
export const SYNC_WRITE_BYTES = 1024;

const ignore = () => {};

export class TtyPort implements BytePort {
  readonly path: string;
  readonly baudRate: BaudRate;
  /** The descriptor the stream was made from (the stream reopens the tty for itself). */
  readonly #fd: number;
  readonly #writer: Deno.FsFile;
  readonly #stream: ReadStream;
  #open = true;
  #handlers: BytePortHandlers | undefined;
  /** Orders the writes; settles (never rejects) once every write so far is done. */
  #writeChain: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;
  #released = false;
  #closeNotified = false;
  /** Writes handed to the thread pool and not yet done. */
  #asyncWrites = 0;
  /** Bytes written since the other end last sent a byte. */
  #unanswered = 0;

  private constructor(
    path: string,
    baudRate: BaudRate,
    fd: number,
    stream: ReadStream,
    writer: Deno.FsFile,
  ) {
    this.path = path;
    this.baudRate = baudRate;
    this.#fd = fd;
    this.#writer = writer;
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
    let fd: number | undefined;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
      const stream = new ReadStream(fd);
      return new TtyPort(path, baudRate, fd, stream, await Deno.open(path, { write: true }));
    } catch (error) {
      if (fd !== undefined) closeQuietly(path, fd);
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
      this.#unanswered = 0; // the other end is alive and reading
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
    let data = bytes;
    if (this.#asyncWrites === 0 && this.#unanswered + bytes.length <= SYNC_WRITE_BYTES) {
      let written: number;
      try {
        written = this.#writer.writeSync(bytes);
      } catch (error) {
        return Promise.reject(this.#writeError(error as Error));
      }
      this.#unanswered += written;
      if (written === bytes.length) return Promise.resolve();
      data = bytes.subarray(written); // a short write: the rest goes the async way
    }
    // A copy: the caller may reuse its buffer before the line took the bytes.
    const copy = data.slice();
    this.#asyncWrites++;
    const done = this.#writeChain.then(() => this.#writeAll(copy)).finally(() => {
      this.#asyncWrites--;
    });
    // The chain only orders writes; each caller gets its own outcome through `done`.
    this.#writeChain = done.then(ignore, ignore);
    return done;
  }

  async #writeAll(data: Uint8Array): Promise<void> {
    for (let offset = 0; offset < data.length;) {
      // Writes queued before close() still go out; close() waits for them.
      if (this.#released) throw new PortClosedError(this.path);
      try {
        const n = await this.#writer.write(data.subarray(offset));
        offset += n;
        this.#unanswered += n;
      } catch (error) {
        throw this.#writeError(error as Error);
      }
    }
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
      this.#writeChain.then(() => false),
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
    this.#release();
    this.#notifyClose(undefined);
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#stream.destroy();
    closeQuietly(this.path, this.#fd);
    try {
      this.#writer.close();
    } catch (error) {
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
    if (this.#released && error instanceof Deno.errors.BadResource) {
      return new PortClosedError(this.path);
    }
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
    this.#closing = this.#writeChain.then(() => {
      this.#release();
      this.#notifyClose(error);
    });
  }
}

function closeQuietly(path: string, fd: number): void {
  try {
    closeSync(fd);
  } catch (error) {
    // Nothing is left to release; say so and go on closing.
    log.warn("Closing {path} reported: {error}", { path, error: errorMessage(error) });
  }
}
