/**
 * The telemetry recorder: every aggregator batch appended as one JSON line to a sink, so a run can
 * be replayed and plotted. The recorder takes its sink ({@link RecorderSink}: a `WritableStream`
 * of bytes, or anything with `write(bytes) -> bytes written` and `close()`, as a `Deno.FsFile`
 * is) and never opens anything itself; the file (RVR_TELEMETRY_FILE) is opened at the edge, by
 * {@link openTelemetryFile}, the one function here that touches `Deno.*` (this file is the
 * layer's adapter), or by {@link TelemetryRecorder.open}, which does both.
 *
 * **Line format** (one per batch, UTF-8, `\n`-terminated, in batch order):
 *
 * ```json
 * {"seq":12,"openedAt":1732100000123,"closedAt":1732100000223,"overflowed":0,
 *  "events":[{"topic":"robot.sample","seq":4711,"at":1732100000125,
 *             "payload":{"sensor":"locator","values":{"x_m":0.12,"y_m":0.5},"valid":true,"at":1732100000125}},
 *            {"topic":"safety","seq":4712,"at":1732100000190,"payload":{"type":"estop","detail":"...","at":...}}]}
 * ```
 *
 * - `seq`, `openedAt`, `closedAt`, `overflowed`: the {@link Batch} fields (epoch ms; `overflowed`
 *   counts events the aggregator dropped for capacity since the previous batch).
 * - each event: its bus `topic`, bus `seq` (consecutive per bus: a jump means events were not
 *   recorded) and publish time `at` (epoch ms), and the `payload` as published: "robot.sample"
 *   a SensorReading (`sensor`, `values` with units in the keys, `valid`, `at`);
 *   "robot.notification" `{name, node, values, at}`; "robot.state" a StateChange
 *   (`aspect`, `previous`, `next`, `at`, `reason`); "safety" `{type, detail, at, data?}`.
 *   BigInts are written as decimal strings; non-finite numbers as null (JSON has neither).
 *
 * A batch seq that skips numbers means batches were lost (see below); the file is appended to,
 * so several runs follow one another (batch seq restarts at 1 for each run). A write that fails
 * part-way leaves a partial line, ended by a newline before the next line: a reader skips lines
 * that do not parse. (A `WritableStream` that fails stays failed, as streams do: every later
 * batch is then counted lost; a sink with `write()` is simply tried again with the next line.)
 *
 * **Never in the aggregator's way.** The batch is serialised in the aggregator's delivery (it is
 * small: one window) and queued; an asynchronous writer appends each queued line with its own
 * write (no user-space buffering: a line is in the file, with the OS, once its write resolved).
 * Nothing is awaited in the delivery and nothing is thrown into the aggregator: a batch that
 * cannot be serialised, a write that fails (disk full, file removed, ...) and a batch refused
 * because `queueSize` lines are already waiting (the disk fell behind) are logged (the 1st, 10th,
 * 100th, ... time) and counted in {@link RecorderStats} and
 * rvr_telemetry_recorder_lost_batches_total{reason}; recording goes on with the next batch.
 *
 * Close the aggregator first (it flushes its open window to the recorder), then the recorder; it
 * closes its sink (it owns what it is given).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { TelemetryInstruments as Metrics } from "./metrics.ts";
import type { Aggregator, Batch } from "./aggregator.ts";

const log = getLogger(["rvr", "telemetry", "recorder"]);

/** Why a batch was not recorded. */
export const RECORDER_LOSS_REASONS = ["serialize", "write", "queue_full"] as const;
export type RecorderLossReason = typeof RECORDER_LOSS_REASONS[number];

export const DEFAULT_RECORDER_QUEUE_SIZE = 256;

export interface RecorderStats {
  /** Batches written. */
  batches: number;
  /** Events in the written batches. */
  events: number;
  /** Bytes written. */
  bytes: number;
  /** Batches not written, by reason. */
  lost: Record<RecorderLossReason, number>;
  /** Lines waiting to be written. */
  queued: number;
}

export interface RecorderOptions {
  metrics?: Metrics;
  /** Most lines waiting for the disk before batches are refused (counted). Default 256. */
  queueSize?: number;
  /** What the sink is, for logs (the file's path). Default "the telemetry sink". */
  name?: string;
}

/** A sink that takes a prefix of the bytes it is given, as `Deno.FsFile` does. */
export interface RecorderWriter {
  /** Writes some of `bytes` (at least one) and resolves with how many; rejects on failure. */
  write(bytes: Uint8Array): Promise<number>;
  /** Releases the sink, after the last write. */
  close(): void | Promise<void>;
}

/** Where the recorder's lines go: a stream of bytes, or a {@link RecorderWriter}. */
export type RecorderSink = WritableStream<Uint8Array> | RecorderWriter;

function checkQueueSize(queueSize: unknown): number {
  if (!Number.isInteger(queueSize) || (queueSize as number) < 1) {
    throw new RangeError(`queueSize must be an integer >= 1, got ${queueSize}; e.g. 256.`);
  }
  return queueSize as number;
}

/** `sink` as a writer: a stream through its writer (locked to the recorder), a writer as it is. */
function writerOf(sink: RecorderSink): RecorderWriter {
  if (sink instanceof WritableStream) {
    const writer = sink.getWriter();
    return {
      write: async (bytes) => {
        await writer.write(bytes);
        return bytes.length;
      },
      close: () => writer.close(),
    };
  }
  if (
    typeof sink !== "object" || sink === null || typeof sink.write !== "function" ||
    typeof sink.close !== "function"
  ) {
    throw new TypeError(
      `The telemetry recorder needs a WritableStream<Uint8Array> or an object with ` +
        `write(bytes) and close() (a Deno.FsFile), got ${sink === null ? "null" : typeof sink}; ` +
        `open the file with openTelemetryFile(path).`,
    );
  }
  return sink;
}

/**
 * Opens `path` for appending (creating the file, not its directory): the recorder's file, at the
 * edge. Rejects with a clear error naming the path and the fix when it cannot be opened.
 */
export async function openTelemetryFile(path: string): Promise<RecorderWriter> {
  if (typeof path !== "string" || path === "") {
    throw new TypeError(
      `The telemetry file (RVR_TELEMETRY_FILE) must be a file path, got ${JSON.stringify(path)}.`,
    );
  }
  try {
    return await Deno.open(path, { write: true, append: true, create: true });
  } catch (error) {
    const slash = path.lastIndexOf("/");
    const dir = slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
    const why = error instanceof Deno.errors.NotFound
      ? `its directory ${dir} does not exist; create it or choose another path`
      : error instanceof Deno.errors.PermissionDenied
      ? `permission denied; choose a path this process may write to`
      : error instanceof Deno.errors.IsADirectory
      ? `it is a directory; name a file inside it`
      : `${describe(error)}; check the path`;
    throw new Error(
      `Cannot open the telemetry file ${path} (RVR_TELEMETRY_FILE) for appending: ${why}.`,
      { cause: error },
    );
  }
}

function worthLogging(count: number): boolean {
  while (count >= 10 && count % 10 === 0) count /= 10;
  return count === 1;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function replacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** One line of the file for `batch` (without the newline). */
export function batchLine(batch: Batch): string {
  return JSON.stringify(
    {
      seq: batch.seq,
      openedAt: batch.openedAt,
      closedAt: batch.closedAt,
      overflowed: batch.overflowed,
      events: batch.events.map((e) => ({
        topic: e.topic,
        seq: e.seq,
        at: e.publishedAt,
        payload: e.payload,
      })),
    },
    replacer,
  );
}

const NEWLINE = new Uint8Array([0x0a]);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

interface Line {
  bytes: Uint8Array;
  events: number;
  seq: number;
}

/** See the module documentation. */
export class TelemetryRecorder {
  /** What the sink is, for logs (the file's path when opened by {@link open}). */
  readonly name: string;
  readonly #sink: RecorderWriter;
  readonly #metrics: Metrics | undefined;
  readonly #queueSize: number;
  readonly #encoder = new TextEncoder();
  #unsubscribe: () => void;
  #queue: Line[] = [];
  #writing: Promise<void> | null = null;
  /** The last write failed part-way: the sink ends in a partial line. */
  #fragment = false;
  #closed: Promise<void> | null = null;
  #batches = 0;
  #events = 0;
  #bytes = 0;
  #lost: Record<RecorderLossReason, number> = { serialize: 0, write: 0, queue_full: 0 };

  /**
   * Opens `path` for appending ({@link openTelemetryFile}) and records every batch of
   * `aggregator` into it from now on. Rejects with a clear error when the file cannot be opened.
   */
  static async open(
    path: string,
    aggregator: Aggregator,
    options: RecorderOptions = {},
  ): Promise<TelemetryRecorder> {
    checkQueueSize(options.queueSize ?? DEFAULT_RECORDER_QUEUE_SIZE);
    const file = await openTelemetryFile(path);
    return new TelemetryRecorder(file, aggregator, { name: path, ...options });
  }

  /**
   * Records every batch of `aggregator` into `sink` from now on. TypeError for a sink that is
   * neither a WritableStream nor a writer, RangeError for a bad queueSize.
   */
  constructor(sink: RecorderSink, aggregator: Aggregator, options: RecorderOptions = {}) {
    this.#queueSize = checkQueueSize(options.queueSize ?? DEFAULT_RECORDER_QUEUE_SIZE);
    this.#sink = writerOf(sink);
    this.name = options.name ?? "the telemetry sink";
    this.#metrics = options.metrics;
    this.#unsubscribe = aggregator.subscribe((batch) => this.#record(batch), {
      name: "recorder",
    });
    log.info("Recording telemetry batches to {path}", { path: this.name });
  }

  /** A snapshot of the counters. */
  get stats(): RecorderStats {
    return {
      batches: this.#batches,
      events: this.#events,
      bytes: this.#bytes,
      lost: { ...this.#lost },
      queued: this.#queue.length,
    };
  }

  /**
   * Stops taking batches, writes the queued lines and closes the file. Never rejects (a failure
   * is logged and counted). Idempotent.
   */
  close(): Promise<void> {
    if (this.#closed === null) this.#closed = this.#close();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    this.#unsubscribe();
    this.#unsubscribe = () => {};
    while (this.#writing !== null) await this.#writing;
    try {
      await this.#sink.close();
    } catch (error) {
      log.error("Could not close {path} of the telemetry recording: {error}", {
        path: this.name,
        error: describe(error),
      });
    }
    log.info("Telemetry recording to {path} ended: {batches} batches, {bytes} bytes", {
      path: this.name,
      batches: this.#batches,
      bytes: this.#bytes,
    });
  }

  /** In the aggregator's delivery: serialise, queue, make sure the writer runs. Never throws. */
  #record(batch: Batch): void {
    if (this.#closed !== null) return;
    if (this.#queue.length >= this.#queueSize) {
      this.#lose("queue_full", batch.seq, `${this.#queueSize} lines are waiting for the disk`);
      return;
    }
    let text: string;
    try {
      text = batchLine(batch);
    } catch (error) {
      this.#lose("serialize", batch.seq, describe(error));
      return;
    }
    this.#queue.push({
      bytes: this.#encoder.encode(text + "\n"),
      events: batch.events.length,
      seq: batch.seq,
    });
    if (this.#writing === null) this.#writing = this.#drain();
  }

  /** Writes queued lines one by one until the queue is empty. Never rejects. */
  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const line = this.#queue.shift() as Line;
      // After a write that failed part-way, end the fragment first so every line stays whole.
      const bytes = this.#fragment ? concat(NEWLINE, line.bytes) : line.bytes;
      let written = 0;
      try {
        while (written < bytes.length) written += await this.#sink.write(bytes.subarray(written));
        this.#fragment = false;
        this.#batches++;
        this.#events += line.events;
        this.#bytes += written;
        this.#metrics?.recorderBatchesTotal.inc();
        this.#metrics?.recorderBytesTotal.inc(written);
      } catch (error) {
        if (written > 0) this.#fragment = true;
        this.#bytes += written;
        this.#metrics?.recorderBytesTotal.inc(written);
        this.#lose("write", line.seq, describe(error));
      }
    }
    this.#writing = null;
  }

  #lose(reason: RecorderLossReason, seq: number, why: string): void {
    const n = ++this.#lost[reason];
    this.#metrics?.recorderLostTotal.inc({ reason });
    if (worthLogging(n)) {
      log.error(
        "Telemetry batch {seq} not recorded to {path} ({reason}: {why}); {n} lost for this reason so far",
        { seq, path: this.name, reason, why, n },
      );
    }
  }
}
