import assert from "node:assert/strict";
import fc from "fast-check";
import { resetSync } from "@logtape/logtape";
import { captureLogs, metricValue, withClock } from "../_helpers/mod.ts";
import { EventBus } from "../../src/core/mod.ts";
import type { RobotTopics } from "../../src/robot/events.ts";
import { Aggregator, type Batch, type RobotEvent } from "../../src/telemetry/aggregator.ts";
import { telemetryMetrics } from "../../src/telemetry/mod.ts";

let eventSeq = 0;
function sample(n: number): RobotEvent {
  const at = Date.now();
  return {
    topic: "robot.sample",
    payload: { sensor: "locator", values: { x_m: n, y_m: 0 }, valid: true, at },
    seq: ++eventSeq,
    publishedAt: at,
  };
}

function numbers(batch: Batch): number[] {
  return batch.events.map((e) => (e.payload as unknown as { values: { x_m: number } }).values.x_m);
}

Deno.test("Aggregator", async (t) => {
  await t.step("a window opens at its first event and closes windowMs later", async () => {
    await withClock(async (clock) => {
      const agg = new Aggregator(null, { windowMs: 100 });
      const batches: Batch[] = [];
      agg.subscribe((b) => void batches.push(b));
      assert.equal(clock.countTimers(), 0, "an idle aggregator schedules nothing");
      await clock.tickAsync(40);
      agg.ingest(sample(1));
      assert.equal(clock.countTimers(), 1);
      await clock.tickAsync(30);
      agg.ingest(sample(2));
      await clock.tickAsync(69);
      agg.ingest(sample(3));
      assert.equal(batches.length, 0, "nothing before the window ends");
      await clock.tickAsync(1);
      assert.equal(batches.length, 1);
      assert.deepEqual(numbers(batches[0]), [1, 2, 3]);
      assert.equal(batches[0].seq, 1);
      assert.equal(batches[0].openedAt, 40);
      assert.equal(batches[0].closedAt, 140);
      assert.equal(batches[0].overflowed, 0);
      assert.equal(clock.countTimers(), 0, "an empty window schedules nothing");
      await clock.tickAsync(500);
      assert.equal(batches.length, 1, "no empty batches");
      agg.ingest(sample(4));
      await clock.tickAsync(100);
      assert.equal(batches.length, 2);
      assert.deepEqual(numbers(batches[1]), [4]);
      assert.deepEqual([batches[1].seq, batches[1].openedAt, batches[1].closedAt], [2, 640, 740]);
      agg.close();
    });
  });

  await t.step(
    "through the bus: publish never waits, windows are exact, nothing lost below capacity, order kept (property)",
    async () => {
      const windowMs = 100;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 12 }),
          fc.array(
            fc.record({
              gapMs: fc.integer({ min: 0, max: 250 }),
              burst: fc.integer({ min: 1, max: 20 }),
            }),
            { minLength: 1, maxLength: 25 },
          ),
          async (capacity, steps) => {
            await withClock(async (clock) => {
              const bus = new EventBus<RobotTopics>();
              const metrics = telemetryMetrics();
              const agg = new Aggregator(bus, { windowMs, capacity, metrics });
              const batches: Batch[] = [];
              agg.subscribe((b) => void batches.push(b));
              // The model: which published numbers each window keeps, and what it drops.
              const expected: { keep: number[]; overflowed: number }[] = [];
              let windowEnd = -Infinity;
              let n = 0;
              for (const { gapMs, burst } of steps) {
                await clock.tickAsync(gapMs);
                const now = Date.now();
                if (now >= windowEnd) {
                  expected.push({ keep: [], overflowed: 0 });
                  windowEnd = now + windowMs;
                }
                const w = expected[expected.length - 1];
                const published: number[] = [];
                const ingestedBefore = agg.stats.ingested;
                for (let i = 0; i < burst; i++) {
                  const x = ++n;
                  published.push(x);
                  bus.publish("robot.sample", {
                    sensor: "locator",
                    values: { x_m: x },
                    valid: true,
                    at: now,
                  });
                }
                // The bus keeps the newest `capacity` of a synchronous burst for us.
                const busDrops = Math.max(0, burst - capacity);
                w.overflowed += busDrops;
                for (const x of published.slice(busDrops)) {
                  if (w.keep.length < capacity) w.keep.push(x);
                  else w.overflowed++;
                }
                assert.equal(agg.stats.ingested, ingestedBefore, "nothing is taken inside publish");
              }
              await clock.tickAsync(windowMs);
              assert.deepEqual(
                batches.map((b) => ({ keep: numbers(b), overflowed: b.overflowed })),
                expected,
              );
              for (const b of batches) assert.equal(b.closedAt - b.openedAt, windowMs);
              const s = agg.stats;
              const delivered = batches.reduce((sum, b) => sum + b.events.length, 0);
              const overflowed = batches.reduce((sum, b) => sum + b.overflowed, 0);
              assert.equal(s.delivered, delivered);
              assert.equal(s.overflowed, overflowed);
              assert.equal(s.delivered + s.overflowed, bus.stats.published, "every event counted");
              assert.equal(s.ingested, s.delivered + s.overflowed - s.busDropped);
              assert.equal(s.pending, 0);
              assert.equal(s.batches, batches.length);
              if (steps.every((x) => x.burst <= capacity) && overflowed === 0) {
                assert.equal(delivered, n, "zero loss below capacity");
              }
              assert.equal(await metricValue(metrics, "rvr_aggregator_events_total"), delivered);
              assert.equal(
                await metricValue(metrics, "rvr_aggregator_batches_total"),
                batches.length,
              );
              assert.equal(
                (await metricValue(metrics, "rvr_aggregator_overflow_total", { stage: "window" })) +
                  (await metricValue(metrics, "rvr_aggregator_overflow_total", { stage: "bus" })),
                overflowed,
              );
              agg.close();
              bus.close();
            });
          },
        ),
        { numRuns: 150 },
      );
    },
  );

  await t.step(
    "overflow is counted exactly; the window keeps its first events in order",
    async () => {
      await withClock(async (clock) => {
        const metrics = telemetryMetrics();
        const agg = new Aggregator(null, { windowMs: 100, capacity: 5, metrics });
        const batches: Batch[] = [];
        agg.subscribe((b) => void batches.push(b));
        for (let i = 1; i <= 12; i++) agg.ingest(sample(i));
        assert.equal(agg.stats.pending, 5);
        assert.equal(agg.stats.overflowed, 7, "visible before the window closes");
        await clock.tickAsync(100);
        assert.deepEqual(numbers(batches[0]), [1, 2, 3, 4, 5]);
        assert.equal(batches[0].overflowed, 7);
        agg.ingest(sample(13));
        await clock.tickAsync(100);
        assert.equal(batches[1].overflowed, 0, "overflow is per batch");
        assert.deepEqual(agg.stats, {
          ingested: 13,
          delivered: 6,
          pending: 0,
          overflowed: 7,
          busDropped: 0,
          closedDropped: 0,
          batches: 2,
          subscriberErrors: 0,
          subscribers: 1,
        });
        assert.equal(
          await metricValue(metrics, "rvr_aggregator_overflow_total", { stage: "window" }),
          7,
        );
        agg.close();
      });
    },
  );

  await t.step("events the bus drops for the aggregator are counted as overflow", async () => {
    await withClock(async (clock) => {
      const bus = new EventBus<RobotTopics>();
      const metrics = telemetryMetrics();
      const agg = new Aggregator(bus, { windowMs: 100, capacity: 3, metrics });
      const batches: Batch[] = [];
      agg.subscribe((b) => void batches.push(b));
      for (let i = 1; i <= 10; i++) {
        bus.publish("safety", { type: "limited", detail: `#${i}`, at: Date.now() });
      }
      await clock.tickAsync(100);
      assert.equal(batches.length, 1);
      assert.deepEqual(
        batches[0].events.map((e) => (e.payload as unknown as { detail: string }).detail),
        ["#8", "#9", "#10"],
      );
      assert.equal(batches[0].overflowed, 7);
      assert.equal(agg.stats.busDropped, 7);
      assert.equal(agg.stats.overflowed, 7);
      assert.equal(
        await metricValue(metrics, "rvr_aggregator_overflow_total", { stage: "bus" }),
        7,
      );
      agg.close();
      bus.close();
    });
  });

  await t.step("takes every topic: samples, notifications, state and safety changes", async () => {
    await withClock(async (clock) => {
      const bus = new EventBus<RobotTopics>();
      const agg = new Aggregator(bus, { windowMs: 50 });
      const batches: Batch[] = [];
      agg.subscribe((b) => void batches.push(b));
      const at = Date.now();
      bus.publish("robot.sample", { sensor: "imu", values: { yaw_deg: 1 }, valid: true, at });
      bus.publish("robot.notification", {
        name: "motor_stall_notify",
        node: 2,
        values: { motor_index: 0, is_triggered: true },
        at,
      });
      bus.publish("safety", { type: "estop", detail: "stop", at });
      bus.publish("robot.state", {
        aspect: "power",
        previous: { status: "unknown", enteredAt: at, reason: null },
        next: { status: "awake", enteredAt: at, reason: null },
        at,
        reason: null,
      });
      await clock.tickAsync(50);
      assert.deepEqual(batches[0].events.map((e) => [e.topic, e.seq]), [
        ["robot.sample", 1],
        ["robot.notification", 2],
        ["safety", 3],
        ["robot.state", 4],
      ]);
      agg.close();
      bus.close();
    });
  });

  await t.step(
    "a throwing or rejecting subscriber is logged and counted, others go on",
    async () => {
      const records = captureLogs(["rvr", "telemetry", "aggregator"]);
      try {
        await withClock(async (clock) => {
          const metrics = telemetryMetrics();
          const agg = new Aggregator(null, { windowMs: 100, metrics });
          const before: number[] = [];
          const after: number[] = [];
          agg.subscribe((b) => void before.push(b.seq), { name: "first" });
          agg.subscribe(() => {
            throw new Error("boom");
          }, { name: "thrower" });
          agg.subscribe(() => Promise.reject(new Error("async boom")), { name: "rejecter" });
          agg.subscribe((b) => void after.push(b.seq), { name: "last" });
          for (let w = 0; w < 3; w++) {
            agg.ingest(sample(w));
            await clock.tickAsync(100);
          }
          assert.deepEqual(before, [1, 2, 3]);
          assert.deepEqual(after, [1, 2, 3]);
          assert.equal(agg.stats.subscriberErrors, 6);
          assert.equal(agg.stats.delivered, 3);
          assert.equal(
            await metricValue(metrics, "rvr_aggregator_subscriber_errors_total", {
              subscriber: "thrower",
            }),
            3,
          );
          assert.equal(
            await metricValue(metrics, "rvr_aggregator_subscriber_errors_total", {
              subscriber: "rejecter",
            }),
            3,
          );
          // Rate-limited: the 1st error of each subscriber is logged, the 2nd and 3rd are not.
          const errors = records.filter((r) => r.level === "error");
          assert.deepEqual(errors.map((r) => r.properties.name).sort(), ["rejecter", "thrower"]);
          agg.close();
        });
      } finally {
        resetSync();
      }
    },
  );

  await t.step("unsubscribe stops delivery to that subscriber only", async () => {
    await withClock(async (clock) => {
      const agg = new Aggregator(null, { windowMs: 10 });
      const a: number[] = [];
      const b: number[] = [];
      const offA = agg.subscribe((x) => void a.push(x.seq));
      agg.subscribe((x) => void b.push(x.seq));
      agg.ingest(sample(1));
      await clock.tickAsync(10);
      offA();
      offA();
      agg.ingest(sample(2));
      await clock.tickAsync(10);
      assert.deepEqual(a, [1]);
      assert.deepEqual(b, [1, 2]);
      assert.equal(agg.stats.subscribers, 1);
      agg.close();
    });
  });

  await t.step("close delivers the open window at once and clears its timer", async () => {
    await withClock(async (clock) => {
      const agg = new Aggregator(null, { windowMs: 100 });
      const batches: Batch[] = [];
      agg.subscribe((b) => void batches.push(b));
      await clock.tickAsync(10);
      agg.ingest(sample(1));
      agg.ingest(sample(2));
      await clock.tickAsync(30);
      agg.close();
      assert.equal(batches.length, 1);
      assert.deepEqual(numbers(batches[0]), [1, 2]);
      assert.deepEqual([batches[0].openedAt, batches[0].closedAt], [10, 40]);
      assert.equal(clock.countTimers(), 0);
      assert.equal(agg.closed, true);
      agg.ingest(sample(3));
      agg.close();
      await clock.tickAsync(200);
      assert.equal(batches.length, 1);
      assert.equal(agg.stats.closedDropped, 1, "an ingest after close is counted");
      assert.equal(agg.stats.subscribers, 0);
    });
  });

  await t.step("close counts bus events it never took", async () => {
    await withClock(async () => {
      const bus = new EventBus<RobotTopics>();
      const metrics = telemetryMetrics();
      const agg = new Aggregator(bus, { windowMs: 100, metrics });
      const batches: Batch[] = [];
      agg.subscribe((b) => void batches.push(b));
      for (let i = 0; i < 4; i++) {
        bus.publish("safety", { type: "limited", detail: "x", at: Date.now() });
      }
      agg.close(); // before the bus's microtask delivered them
      assert.equal(batches.length, 0);
      assert.equal(agg.stats.closedDropped, 4);
      assert.equal(
        await metricValue(metrics, "rvr_aggregator_overflow_total", { stage: "closed" }),
        4,
      );
      bus.close();
    });
  });

  await t.step("flush delivers the open window now; null when none is open", async () => {
    await withClock(async (clock) => {
      const agg = new Aggregator(null, { windowMs: 100 });
      const batches: Batch[] = [];
      agg.subscribe((b) => void batches.push(b));
      assert.equal(agg.flush(), null);
      agg.ingest(sample(1));
      const b = agg.flush();
      assert.equal(b?.seq, 1);
      assert.deepEqual(batches, [b]);
      assert.equal(clock.countTimers(), 0);
      await clock.tickAsync(200);
      assert.equal(batches.length, 1, "the flushed window's timer is gone");
      agg.close();
    });
  });

  await t.step("timer windows record their delivery lag", async () => {
    await withClock(async (clock) => {
      const metrics = telemetryMetrics();
      const agg = new Aggregator(null, { windowMs: 100, metrics });
      agg.ingest(sample(1));
      await clock.tickAsync(100);
      const { values } = await metrics.aggregatorDeliveryLagSeconds.get();
      const count = values.find((v) =>
        v.metricName === "rvr_aggregator_delivery_lag_seconds_count"
      );
      const sum = values.find((v) => v.metricName === "rvr_aggregator_delivery_lag_seconds_sum");
      assert.equal(count?.value, 1);
      assert.equal(sum?.value, 0, "a fake clock has no lag");
      agg.close();
    });
  });

  await t.step("bad options are refused with the value and the fix", () => {
    assert.throws(
      () => new Aggregator(null, { windowMs: 0 }),
      /windowMs \(RVR_AGGREGATOR_WINDOW_MS\) must be an integer from 1 to 60000, got 0/,
    );
    assert.throws(() => new Aggregator(null, { windowMs: 2.5 }), RangeError);
    assert.throws(
      () => new Aggregator(null, { capacity: 0 }),
      /capacity \(RVR_AGGREGATOR_CAPACITY\) must be an integer from 1 to .*, got 0; e.g. 10000/,
    );
    const agg = new Aggregator(null);
    assert.equal(agg.windowMs, 100);
    assert.equal(agg.capacity, 10_000);
    assert.throws(() => agg.subscribe("nope" as unknown as () => void), TypeError);
    agg.close();
  });
});
