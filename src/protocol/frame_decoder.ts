/**
 * Incremental frame decoder: feed it chunks as they arrive, get whole packets back.
 * Line noise never throws: every rejected frame is counted by reason and the decoder
 * resyncs on the next start byte (§4, §12.1).
 */
import { EOP, ESC, MAX_FRAME_BYTES, SOP } from "./constants.ts";
import { unescapeByte } from "./escape.ts";
import { FRAME_ERRORS, type FrameError, type Packet, parseBody } from "./packet.ts";

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
  /** Called once per rejected frame, e.g. to log it. Must not throw. */
  onError?: (reason: FrameError) => void;
}

export class FrameDecoder {
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

  constructor(options: FrameDecoderOptions = {}) {
    const max = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < 5) {
      throw new RangeError(`maxFrameBytes must be an integer ≥ 5, got ${max}; the default is 256.`);
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
    this.#stats.bytes += chunk.length;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      switch (this.#state) {
        case OUTSIDE:
          if (b === SOP) {
            this.#inNoise = false;
            this.#state = INSIDE;
            this.#len = 0;
          } else {
            this.#stats.noiseBytes++;
            if (!this.#inNoise) {
              this.#inNoise = true;
              this.#reject("noise");
            }
          }
          break;
        case INSIDE:
          if (b === EOP) {
            const parsed = parseBody(buf, this.#len);
            this.#state = OUTSIDE;
            if (typeof parsed === "string") this.#reject(parsed);
            else {
              this.#stats.frames++;
              out.push(parsed);
            }
          } else if (b === SOP) {
            this.#reject("early_start");
            this.#len = 0;
          } else if (b === ESC) {
            this.#state = AFTER_ESC;
          } else if (this.#len >= cap) {
            this.#reject("oversize");
            this.#state = OUTSIDE;
            this.#inNoise = true;
          } else {
            buf[this.#len++] = b;
          }
          break;
        default: { // AFTER_ESC
          if (b === SOP) {
            this.#reject("early_start");
            this.#state = INSIDE;
            this.#len = 0;
            break;
          }
          const v = unescapeByte(b);
          if (v < 0) {
            this.#reject("bad_escape");
            this.#state = OUTSIDE;
            // An EOP ends the broken frame; anything else is noise until the next SOP.
            this.#inNoise = b !== EOP;
          } else if (this.#len >= cap) {
            this.#reject("oversize");
            this.#state = OUTSIDE;
            this.#inNoise = true;
          } else {
            buf[this.#len++] = v;
            this.#state = INSIDE;
          }
        }
      }
    }
    return out;
  }

  /** Drops any partial frame (e.g. after the port was reopened). */
  reset(): void {
    this.#state = OUTSIDE;
    this.#len = 0;
    this.#inNoise = false;
  }

  #reject(reason: FrameError): void {
    this.#stats.errors[reason]++;
    this.#onError?.(reason);
  }
}
