/**
 * Newline-delimited messages out of a byte stream, in linear time and bounded memory: each chunk
 * is scanned once, from where the last scan stopped (never the whole buffer again), and a line's
 * pieces are joined once, when its newline arrives. A line that passes `maxBytes` before its
 * newline is refused at once ({@link LineSplitterEvents.tooLong}) and the rest of it is counted
 * and dropped unread up to the next newline, where reading resyncs: an endless line costs the
 * limit in memory, no more. Pushed chunks are not kept (what a line needs is copied), so a reader
 * can reuse one buffer for every read.
 *
 * Private to src/mcp.
 *
 * @module
 */

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export interface LineSplitterEvents {
  /** A whole line, without its `\n` (nor a `\r` before it). Blank lines are skipped. */
  line(bytes: Uint8Array): void;
  /** A line passed the limit after `readBytes` of it; its rest is dropped up to its newline. */
  tooLong(readBytes: number): void;
  /** The newline of a refused line arrived: `droppedBytes` of it were dropped in all. */
  resynced?(droppedBytes: number): void;
}

/** Splits pushed chunks into lines of at most `maxBytes` bytes; see the module doc. */
export class LineSplitter {
  readonly maxBytes: number;
  readonly #events: LineSplitterEvents;
  #parts: Uint8Array[] = [];
  #size = 0;
  /** Bytes of the current over-long line, while it is being dropped; -1 otherwise. */
  #dropped = -1;

  constructor(maxBytes: number, events: LineSplitterEvents) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
      throw new RangeError(`maxBytes must be a whole number of bytes >= 1, got ${maxBytes}.`);
    }
    this.maxBytes = maxBytes;
    this.#events = events;
  }

  /** Bytes held for the line not yet ended (at most maxBytes). */
  get pendingBytes(): number {
    return this.#size;
  }

  push(chunk: Uint8Array): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      this.#take(chunk.subarray(start, end));
      if (newline === -1) return;
      this.#endLine();
      start = newline + 1;
    }
  }

  /** Drops a partial line (the stream ended without its newline). */
  clear(): void {
    this.#parts = [];
    this.#size = 0;
    this.#dropped = -1;
  }

  #take(piece: Uint8Array): void {
    if (piece.length === 0) return;
    if (this.#dropped >= 0) {
      this.#dropped += piece.length;
      return;
    }
    if (this.#size + piece.length > this.maxBytes) {
      this.#dropped = this.#size + piece.length;
      this.#parts = [];
      this.#size = 0;
      this.#events.tooLong(this.#dropped);
      return;
    }
    // A copy: the caller may reuse its chunk's buffer for the next read.
    this.#parts.push(piece.slice());
    this.#size += piece.length;
  }

  #endLine(): void {
    if (this.#dropped >= 0) {
      const dropped = this.#dropped;
      this.#dropped = -1;
      this.#events.resynced?.(dropped);
      return;
    }
    const parts = this.#parts;
    const size = this.#size;
    this.#parts = [];
    this.#size = 0;
    let line: Uint8Array;
    if (parts.length === 1) line = parts[0];
    else {
      line = new Uint8Array(size);
      let at = 0;
      for (const part of parts) {
        line.set(part, at);
        at += part.length;
      }
    }
    let end = line.length;
    if (end > 0 && line[end - 1] === CARRIAGE_RETURN) end--;
    if (isBlank(line, end)) return;
    this.#events.line(end === line.length ? line : line.subarray(0, end));
  }
}

function isBlank(line: Uint8Array, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const b = line[i];
    if (b !== 0x20 && b !== 0x09 && b !== CARRIAGE_RETURN) return false;
  }
  return true;
}
