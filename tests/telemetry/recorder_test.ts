import assert from "node:assert/strict";
import { resetSync } from "@logtape/logtape";
import { captureLogs } from "../_helpers/mod.ts";
import type { RobotTopics } from "../../src/robot/events.ts";
import { Aggregator, type Batch, type RobotEvent } from "../../src/telemetry/aggregator.ts";
import { batchLine, openTelemetryFile, TelemetryRecorder } from "../../src/telemetry/recorder.ts";
import { telemetryMetrics } from "../../src/telemetry/mod.ts";

let busSeq = 0;
function ev<K extends keyof RobotTopics>(topic: K, payload: RobotTopics[K]): RobotEvent {
  return { topic, payload, seq: ++busSeq, publishedAt: 1_700_000_000_000 + busSeq } as RobotEvent;
}

function events(n: number): RobotEvent[] {
  const out: RobotEvent[] = [];
  for (let i = 0; i < n; i++) {
    out.push(ev("robot.sample", {
      sensor: "locator",
      values: { x_m: i / 10, y_m: -i },
      valid: true,
      at: 1_700_000_000_000 + i,
    }));
  }
  return out;
}

async function lines(path: string): Promise<string[]> {
  const text = await Deno.readTextFile(path);
  assert.ok(text.endsWith("\n"), "every line is terminated");
  return text.slice(0, -1).split("\n");
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rvr-recorder-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function counterValue(
  metric: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> },
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await metric.get();
  const found = values.find((v) =>
    Object.entries(labels).every(([k, value]) => v.labels[k] === value)
  );
  return found?.value ?? 0;
}

Deno.test("TelemetryRecorder", async (t) => {
  await t.step("writes one parseable JSON line per batch, every topic, appending", async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/run.jsonl`;
      const metrics = telemetryMetrics();
      const agg = new Aggregator(null, { windowMs: 100 });
      const rec = await TelemetryRecorder.open(path, agg, { metrics });
      const at = 1_700_000_000_500;
      const mixed: RobotEvent[] = [
        ...events(3),
        ev(
          "robot.notification",
          {
            name: "motor_stall_notify",
            node: 2,
            values: { motor_index: 0, is_triggered: true, big: 2n ** 64n, bad: NaN },
            at,
          } as RobotTopics["robot.notification"],
        ),
        ev("safety", { type: "estop", detail: "stopped", at, data: { source: "http" } }),
        ev("robot.state", {
          aspect: "power",
          previous: { status: "unknown", enteredAt: at, reason: null },
          next: { status: "awake", enteredAt: at, reason: "wake" },
          at,
          reason: "wake",
        }),
      ];
      for (const e of mixed) agg.ingest(e);
      const b1 = agg.flush() as Batch;
      for (const e of events(2)) agg.ingest(e);
      agg.close(); // flushes batch 2 to the recorder
      await rec.close();
      const got = (await lines(path)).map((l) => JSON.parse(l));
      assert.equal(got.length, 2);
      assert.deepEqual(Object.keys(got[0]), [
        "seq",
        "openedAt",
        "closedAt",
        "overflowed",
        "events",
      ]);
      assert.deepEqual(
        [got[0].seq, got[0].openedAt, got[0].closedAt, got[0].overflowed],
        [1, b1.openedAt, b1.closedAt, 0],
      );
      assert.deepEqual(
        got[0].events.map((e: { topic: string; seq: number }) => [e.topic, e.seq]),
        mixed.map((e) => [e.topic, e.seq]),
      );
      assert.deepEqual(got[0].events[0], {
        topic: "robot.sample",
        seq: mixed[0].seq,
        at: mixed[0].publishedAt,
        payload: {
          sensor: "locator",
          values: { x_m: 0, y_m: 0 },
          valid: true,
          at: 1_700_000_000_000,
        },
      });
      assert.equal(got[0].events[3].payload.values.big, "18446744073709551616", "BigInt as text");
      assert.equal(got[0].events[3].payload.values.bad, null, "NaN as null");
      assert.equal(got[0].events[5].payload.next.status, "awake");
      assert.equal(got[1].seq, 2);
      assert.equal(got[1].events.length, 2);
      const bytes = (await Deno.stat(path)).size;
      assert.deepEqual(rec.stats, {
        batches: 2,
        events: 8,
        bytes,
        lost: { serialize: 0, write: 0, queue_full: 0 },
        queued: 0,
      });
      assert.equal(await counterValue(metrics.recorderBatchesTotal), 2);
      assert.equal(await counterValue(metrics.recorderBytesTotal), bytes);

      // A second run appends to the same file.
      const agg2 = new Aggregator(null);
      const rec2 = await TelemetryRecorder.open(path, agg2);
      for (const e of events(1)) agg2.ingest(e);
      agg2.close();
      await rec2.close();
      const all = await lines(path);
      assert.equal(all.length, 3);
      assert.equal(JSON.parse(all[2]).seq, 1, "batch seq restarts per run");
    });
  });

  await t.step("a file that cannot be opened is a clear error at open", async () => {
    await withTempDir(async (dir) => {
      const agg = new Aggregator(null);
      await assert.rejects(
        TelemetryRecorder.open(`${dir}/missing/run.jsonl`, agg),
        (error: Error) => {
          assert.match(
            error.message,
            new RegExp(
              `^Cannot open the telemetry file ${dir}/missing/run.jsonl \\(RVR_TELEMETRY_FILE\\) ` +
                `for appending: its directory ${dir}/missing does not exist; create it or choose ` +
                `another path\\.$`,
            ),
          );
          assert.ok(error.cause instanceof Deno.errors.NotFound);
          return true;
        },
      );
      await assert.rejects(TelemetryRecorder.open(dir, agg), /it is a directory; name a file/);
      await assert.rejects(TelemetryRecorder.open("", agg), /must be a file path, got ""/);
      await assert.rejects(
        TelemetryRecorder.open(`${dir}/x`, agg, { queueSize: 0 }),
        /queueSize must be an integer >= 1, got 0/,
      );
      assert.equal(agg.stats.subscribers, 0, "nothing subscribed after a failed open");
      agg.close();
    });
  });

  await t.step(
    "write errors are logged and counted, never reach the aggregator or other subscribers",
    async () => {
      const records = captureLogs(["rvr", "telemetry", "recorder"]);
      try {
        const metrics = telemetryMetrics();
        const agg = new Aggregator(null);
        // /dev/full opens fine and fails every write with ENOSPC: a disk that is full.
        const rec = await TelemetryRecorder.open("/dev/full", agg, { metrics });
        const other: number[] = [];
        agg.subscribe((b) => void other.push(b.seq), { name: "other" });
        for (let i = 0; i < 3; i++) {
          for (const e of events(2)) agg.ingest(e);
          agg.flush();
        }
        agg.close();
        await rec.close();
        assert.deepEqual(other, [1, 2, 3]);
        assert.equal(agg.stats.subscriberErrors, 0);
        assert.deepEqual(rec.stats.lost, { serialize: 0, write: 3, queue_full: 0 });
        assert.equal(rec.stats.batches, 0);
        assert.equal(await counterValue(metrics.recorderLostTotal, { reason: "write" }), 3);
        const errors = records.filter((r) => r.level === "error");
        assert.equal(errors.length, 1, "rate-limited: the 1st of 3 is logged");
        assert.equal(errors[0].properties.reason, "write");
        assert.match(String(errors[0].properties.why), /space/i);
      } finally {
        resetSync();
      }
    },
  );

  await t.step("a batch that is not JSON is counted and skipped", async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/run.jsonl`;
      const agg = new Aggregator(null);
      const rec = await TelemetryRecorder.open(path, agg);
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      agg.ingest(ev("safety", { type: "limited", detail: "x", at: 1, data: circular }));
      agg.flush();
      for (const e of events(1)) agg.ingest(e);
      agg.close();
      await rec.close();
      assert.deepEqual(rec.stats.lost, { serialize: 1, write: 0, queue_full: 0 });
      const got = await lines(path);
      assert.deepEqual(got.map((l) => JSON.parse(l).seq), [2]);
    });
  });

  await t.step("when the disk falls behind, batches beyond the queue are counted", async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/run.jsonl`;
      const agg = new Aggregator(null);
      const rec = await TelemetryRecorder.open(path, agg, { queueSize: 1 });
      // All three arrive before the first write can finish: one is being written, one waits,
      // the third is refused.
      for (let i = 0; i < 3; i++) {
        for (const e of events(1)) agg.ingest(e);
        agg.flush();
      }
      assert.equal(rec.stats.queued, 1);
      agg.close();
      await rec.close();
      assert.deepEqual(rec.stats.lost, { serialize: 0, write: 0, queue_full: 1 });
      assert.deepEqual((await lines(path)).map((l) => JSON.parse(l).seq), [1, 2]);
    });
  });

  await t.step("close stops recording and is idempotent", async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/run.jsonl`;
      const agg = new Aggregator(null);
      const rec = await TelemetryRecorder.open(path, agg);
      assert.equal(agg.stats.subscribers, 1);
      await Promise.all([rec.close(), rec.close()]);
      assert.equal(agg.stats.subscribers, 0);
      for (const e of events(1)) agg.ingest(e);
      agg.close();
      assert.equal(await Deno.readTextFile(path), "");
    });
  });

  await t.step("records into a WritableStream it is given, and closes it", async () => {
    const chunks: Uint8Array[] = [];
    let closed = false;
    const stream = new WritableStream<Uint8Array>({
      write: (chunk) => void chunks.push(chunk.slice()),
      close: () => void (closed = true),
    });
    const agg = new Aggregator(null);
    const rec = new TelemetryRecorder(stream, agg, { name: "memory" });
    assert.equal(rec.name, "memory");
    assert.ok(stream.locked, "the recorder holds the stream's writer");
    for (const e of events(2)) agg.ingest(e);
    const b1 = agg.flush() as Batch;
    for (const e of events(1)) agg.ingest(e);
    agg.close();
    await rec.close();
    assert.ok(closed, "close() closed the stream");
    const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
    assert.deepEqual(text.split("\n"), [batchLine(b1), text.split("\n")[1], ""]);
    assert.equal(JSON.parse(text.split("\n")[1]).seq, 2);
    assert.deepEqual(rec.stats, {
      batches: 2,
      events: 3,
      bytes: new TextEncoder().encode(text).length,
      lost: { serialize: 0, write: 0, queue_full: 0 },
      queued: 0,
    });
  });

  await t.step("a stream that fails stays failed: every later batch is counted", async () => {
    const records = captureLogs(["rvr", "telemetry", "recorder"]);
    try {
      let writes = 0;
      const stream = new WritableStream<Uint8Array>({
        write: () => {
          if (++writes === 2) throw new Error("the pipe broke");
        },
      });
      const agg = new Aggregator(null);
      const rec = new TelemetryRecorder(stream, agg, { name: "a pipe" });
      const other: number[] = [];
      agg.subscribe((b) => void other.push(b.seq), { name: "other" });
      for (let i = 0; i < 4; i++) {
        for (const e of events(1)) agg.ingest(e);
        agg.flush();
      }
      agg.close();
      await rec.close();
      assert.deepEqual(other, [1, 2, 3, 4], "the aggregator and its other subscribers go on");
      assert.equal(rec.stats.batches, 1);
      assert.deepEqual(rec.stats.lost, { serialize: 0, write: 3, queue_full: 0 });
      const errors = records.filter((r) => r.level === "error");
      assert.equal(errors[0].properties.why, "the pipe broke");
      assert.equal(errors[0].properties.path, "a pipe");
      assert.ok(
        errors.some((r) =>
          String(r.rawMessage).startsWith("Could not close {path}") &&
          r.properties.path === "a pipe"
        ),
        "closing the failed stream is logged too",
      );
    } finally {
      resetSync();
    }
  });

  await t.step("a sink that is not one is refused, naming the fix", async () => {
    const agg = new Aggregator(null);
    assert.throws(
      () => new TelemetryRecorder({ write: 1 } as never, agg),
      /needs a WritableStream<Uint8Array> or an object with write\(bytes\) and close\(\) \(a Deno.FsFile\), got object; open the file with openTelemetryFile\(path\)/,
    );
    assert.throws(() => new TelemetryRecorder(null as never, agg), /got null/);
    assert.throws(
      () => new TelemetryRecorder(new WritableStream(), agg, { queueSize: 1.5 }),
      /queueSize must be an integer >= 1, got 1.5/,
    );
    assert.equal(agg.stats.subscribers, 0, "nothing subscribed after a refused sink");
    agg.close();
    await withTempDir(async (dir) => {
      await assert.rejects(openTelemetryFile(`${dir}/no/such.jsonl`), /its directory .* does not/);
      const file = await openTelemetryFile(`${dir}/run.jsonl`);
      const agg2 = new Aggregator(null);
      const rec = new TelemetryRecorder(file, agg2, { name: `${dir}/run.jsonl` });
      for (const e of events(1)) agg2.ingest(e);
      agg2.close();
      await rec.close();
      assert.equal((await lines(`${dir}/run.jsonl`)).length, 1, "a file opened at the edge");
    });
  });

  await t.step("batchLine is the documented line", () => {
    const [e] = events(1);
    const line = batchLine({ seq: 7, events: [e], openedAt: 1, closedAt: 101, overflowed: 2 });
    assert.equal(
      line,
      `{"seq":7,"openedAt":1,"closedAt":101,"overflowed":2,"events":[{"topic":"robot.sample",` +
        `"seq":${e.seq},"at":${e.publishedAt},"payload":{"sensor":"locator","values":{"x_m":0,` +
        `"y_m":0},"valid":true,"at":1700000000000}}]}`,
    );
  });
});
