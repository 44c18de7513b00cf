/**
 * Incremental frame decoder: feed it chunks as they arrive, get whole packets back.
 * Line noise never throws: every rejected frame is counted by reason and the decoder
 * resyncs on the next start byte (sections 4, 12.1).
 */
import { EOP, ESC, MAX_FRAME_BYTES, SOP } from "./constants.ts";
import { unescapeByte } from "./escape.ts";
import { headerLength, readHeader } from "./_frame_body.ts";
import { FRAME_ERRORS, type FrameError, type Packet } from "./packet.ts";

const OUTSIDE = 0;
const INSIDE = 1;
const AFTER_ESC = 2;

export type FrameErrorCounts = Record<FrameError, number>;

export interface FrameDecoderStats {
  /** Whole, valid frames returned. */
  frames: number;
  /** Bytes fed in. */
  bytes: number;
  /** Bytes discarded outside any frame (the `noise` count is the number of such runs). */
  noiseBytes: number;
  /** Rejected frames (and noise runs) by reason. */
  errors: FrameErrorCounts;
}

export interface FrameDecoderOptions {
  /** Largest unescaped frame body accepted; longer frames count as `oversize`. Default 256. */
  maxFrameBytes?: number;
  /**
   * Called once per rejected frame, e.g. to log it. Must not throw: if it does, push() rethrows,
   * dropping the rest of that chunk and the frames it completed (the decoder stays usable).
   */
  onError?: (reason: FrameError) => void;
}

/** Size of the shared buffers payloads are carved from. */
const SLAB_BYTES = 16 * 1024;

/**
 * Payloads are copied into a shared 16 KiB slab and each packet gets a view of its slice (as
 * Node's Buffer pool does): allocating an ArrayBuffer costs more than decoding a whole frame,
 * so one allocation serves hundreds of frames. A payload is therefore a view with its own
 * byteOffset: read it through the view (or `payload.slice()` it), never through `payload.buffer`.
 * Bytes handed out are never written again.
 */
export class FrameDecoder {
  /** Unescaped body of the frame in progress. */
  #buf: Uint8Array;
  #len = 0;
  #state = OUTSIDE;
  #inNoise = false;
  #onError: ((reason: FrameError) => void) | undefined;
  #stats: FrameDecoderStats = {
    frames: 0,
    bytes: 0,
    noiseBytes: 0,
    errors: Object.fromEntries(FRAME_ERRORS.map((r) => [r, 0])) as FrameErrorCounts,
  };
  #slab = new ArrayBuffer(0);
  #slabBytes = new Uint8Array(this.#slab);
  #slabUsed = 0;

  constructor(options: FrameDecoderOptions = {}) {
    const max = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < 5) {
      throw new RangeError(
        `maxFrameBytes must be an integer >= 5, got ${max}; the default is 256.`,
      );
    }
    this.#buf = new Uint8Array(max);
    this.#onError = options.onError;
  }

  /** Counters since construction (a live view; copy it to keep a snapshot). */
  get stats(): Readonly<FrameDecoderStats> {
    return this.#stats;
  }

  /** True while a frame has started but not ended. */
  get inFrame(): boolean {
    return this.#state !== OUTSIDE;
  }

  /** Feeds bytes; returns every frame they complete, in order. */
  push(chunk: Uint8Array): Packet[] {
    const out: Packet[] = [];
    const buf = this.#buf;
    const cap = buf.length;
    const n = chunk.length;
    this.#stats.bytes += n;
    // Hot state lives in locals. Every state change is made before #reject calls onError, and the
    // finally writes the locals back, so a throwing listener leaves the decoder consistent.
    let state = this.#state;
    let len = this.#len;
    let noiseBytes = 0;
    try {
      for (let i = 0; i < n; i++) {
        const b = chunk[i];
        if (state === INSIDE) {
          if (b !== EOP && b !== SOP && b !== ESC) {
            if (len < cap) {
              buf[len++] = b;
            } else {
              state = OUTSIDE;
              this.#inNoise = true;
              this.#reject("oversize");
            }
          } else if (b === EOP) {
            state = OUTSIDE;
            this.#complete(len, out);
          } else if (b === SOP) {
            len = 0;
            this.#reject("early_start");
          } else {
            state = AFTER_ESC;
          }
        } else if (state === OUTSIDE) {
          if (b === SOP) {
            this.#inNoise = false;
            state = INSIDE;
            len = 0;
          } else {
            noiseBytes++;
            if (!this.#inNoise) {
              this.#inNoise = true;
              this.#reject("noise");
            }
          }
        } else { // AFTER_ESC
          if (b === SOP) {
            state = INSIDE;
            len = 0;
            this.#reject("early_start");
            continue;
          }
          const v = unescapeByte(b);
          if (v < 0) {
            state = OUTSIDE;
            // An EOP ends the broken frame; anything else is noise until the next SOP.
            this.#inNoise = b !== EOP;
            this.#reject("bad_escape");
          } else if (len >= cap) {
            state = OUTSIDE;
            this.#inNoise = true;
            this.#reject("oversize");
          } else {
            buf[len++] = v;
            state = INSIDE;
          }
        }
      }
    } finally {
      this.#state = state;
      this.#len = len;
      this.#stats.noiseBytes += noiseBytes;
    }
    return out;
  }

  /** Drops any partial frame (e.g. after the port was reopened). */
  reset(): void {
    this.#state = OUTSIDE;
    this.#len = 0;
    this.#inNoise = false;
  }

  /** A frame ended at EOP with `length` body bytes: validate it and give it its payload. */
  #complete(length: number, out: Packet[]): void {
    const buf = this.#buf;
    const p = readHeader(buf, length);
    if (typeof p === "string") {
      this.#reject(p);
      return;
    }
    const start = headerLength(p.flags);
    const size = length - 1 - start;
    if (size > 0) {
      if (this.#slabUsed + size > this.#slabBytes.length) {
        this.#slab = new ArrayBuffer(Math.max(SLAB_BYTES, size));
        this.#slabBytes = new Uint8Array(this.#slab);
        this.#slabUsed = 0;
      }
      const slab = this.#slabBytes;
      const offset = this.#slabUsed;
      for (let i = 0; i < size; i++) slab[offset + i] = buf[start + i];
      this.#slabUsed = offset + size;
      p.payload = new Uint8Array(this.#slab, offset, size);
    }
    this.#stats.frames++;
    out.push(p);
  }

  #reject(reason: FrameError): void {
    this.#stats.errors[reason]++;
    this.#onError?.(reason);
  }
}
