/**
 * A UART's pace on any BytePort (opt-in: SimOptions.lineBaud, `--line-baud`): a byte takes 10 bit
 * times on the line (start bit, 8 data bits, stop bit: 8N1), so a chunk of n bytes takes
 * `n * 10 / baud` seconds, and the next chunk in the same direction starts only when the previous
 * one is through. Each direction is its own wire (a UART is full duplex) and is serialised on its
 * own: what the host writes reaches the simulator, and what the simulator writes reaches the host,
 * when its last byte would have crossed a real line. Nothing else is added: the delay is derived
 * from the bytes and the baud rate alone.
 *
 * Deno's timers fire a millisecond or two late (a 1 ms `setTimeout` takes about 2 ms), more than a
 * whole packet's line time at 115 200 baud (a 10-byte packet: 0.87 ms). So a delivery due within
 * {@link SPIN_MS} is waited for by turns of the event loop (`setImmediate`, which lets every I/O
 * callback run in between), and only longer waits sleep on a timer. The price is CPU while a
 * delivery is near: fine for a bench or a classroom on a desk, which is what this is for; it is off
 * by default (tests run at memory speed).
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { errorMessage } from "../core/mod.ts";
import { getLogger } from "@logtape/logtape";
import type { BytePort } from "./context.ts";
import type { BytePortHandlers } from "../core/byte_port.ts";

const log = getLogger(["rvr", "sim"]);

/** Bits on the line per byte: start bit, 8 data bits, stop bit (8N1). */
export const BITS_PER_BYTE = 10;

/** Deliveries due within this many ms are waited for by event-loop turns, not a timer. */
export const SPIN_MS = 3;

/** Baud rates a line may emulate. */
export const MIN_LINE_BAUD = 300;
export const MAX_LINE_BAUD = 4_000_000;

/** The time `bytes` take on a line of `baud`, ms. */
export function lineTimeMs(bytes: number, baud: number): number {
  return (bytes * BITS_PER_BYTE * 1000) / baud;
}

/** True for a baud rate a line may emulate: an integer MIN_LINE_BAUD-MAX_LINE_BAUD. */
export function isLineBaud(baud: number): boolean {
  return Number.isInteger(baud) && baud >= MIN_LINE_BAUD && baud <= MAX_LINE_BAUD;
}

/** `baud` when it is an integer in the allowed range; RangeError naming it otherwise. */
export function checkLineBaud(baud: number): number {
  if (!isLineBaud(baud)) {
    throw new RangeError(
      `The line rate must be an integer ${MIN_LINE_BAUD}-${MAX_LINE_BAUD} baud (--line-baud), ` +
        `got ${baud}; a real RVR's UART runs at 115200.`,
    );
  }
  return baud;
}

interface Due {
  readonly at: number;
  readonly run: () => void;
}

/**
 * One schedule for every line of the process (a classroom has 30): deliveries in time order, one
 * timer or one event-loop turn at a time.
 */
class LineClock {
  #due: Due[] = [];
  #armed = false;

  /** Queues `due`; `now` is the caller's clock reading. */
  add(due: Due, now: number): void {
    // Deliveries arrive almost in time order: insert from the back.
    let i = this.#due.length;
    while (i > 0 && this.#due[i - 1].at > due.at) i--;
    this.#due.splice(i, 0, due);
    this.#arm(now);
  }

  /** Schedules the next tick for the earliest delivery; `now` is the caller's clock reading. */
  #arm(now: number): void {
    if (this.#armed || this.#due.length === 0) return;
    this.#armed = true;
    const wait = this.#due[0].at - now;
    if (wait > SPIN_MS) setTimeout(() => this.#tick(), wait - SPIN_MS);
    else setImmediate(() => this.#tick());
  }

  #tick(): void {
    this.#armed = false;
    const now = performance.now();
    while (this.#due.length > 0 && this.#due[0].at <= now) {
      const { run } = this.#due.shift() as Due;
      try {
        run();
      } catch (error) {
        log.error("A line delivery threw (a bug): {error}", {
          error: errorMessage(error),
        });
      }
    }
    // Deliveries that ran in this tick took microseconds: one clock reading a turn is enough.
    this.#arm(now);
  }
}

const clock = new LineClock();

/** One direction of the line: when it is free again. */
class Lane {
  #freeAt = 0;

  /** Runs `deliver` when `bytes` have crossed the line after everything queued before them. */
  send(bytes: number, baud: number, deliver: () => void): void {
    const now = performance.now();
    this.#freeAt = Math.max(now, this.#freeAt) + lineTimeMs(bytes, baud);
    clock.add({ at: this.#freeAt, run: deliver }, now);
  }
}

/** `inner` at a UART's pace; see the module doc. */
export class LineRatePort implements BytePort {
  readonly baud: number;
  readonly #inner: BytePort;
  readonly #toInner = new Lane();
  readonly #fromInner = new Lane();

  constructor(inner: BytePort, options: { baud: number }) {
    this.#inner = inner;
    this.baud = checkLineBaud(options.baud);
  }

  get path(): string {
    return this.#inner.path;
  }

  get isOpen(): boolean {
    return this.#inner.isOpen;
  }

  start(handlers: BytePortHandlers): void {
    this.#inner.start({
      onData: (chunk) => {
        // Bytes still on the line when it closes are lost, as on a real one.
        this.#fromInner.send(chunk.length, this.baud, () => {
          if (this.#inner.isOpen) handlers.onData(chunk);
        });
      },
      onClose: (error) => handlers.onClose(error),
    });
  }

  /** Resolves once the bytes are through the line and handed to the port (like tcdrain). */
  write(bytes: Uint8Array): Promise<void> {
    const copy = bytes.slice();
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#toInner.send(copy.length, this.baud, () => {
      this.#inner.write(copy).then(resolve, reject);
    });
    return promise;
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
