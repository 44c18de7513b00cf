import assert from "node:assert/strict";
import { collectDefaultMetrics, Registry } from "prom-client";
import { EventLoopLag, registerProcessMetrics } from "../../src/core/process_metrics.ts";
import { mulberry32 } from "../../src/core/validate.ts";
import { fakeClock, sampleValue } from "../_helpers/mod.ts";

/** `# TYPE` lines, and `# HELP` lines outside the lag family, of a registry's text, sorted. */
async function declarations(registry: Registry): Promise<{ types: string[]; help: string[] }> {
  const lines = (await registry.metrics()).split("\n");
  return {
    types: lines.filter((l) => l.startsWith("# TYPE ")).sort(),
    help: lines.filter((l) => l.startsWith("# HELP ") && !l.includes("_eventloop_lag_")).sort(),
  };
}

Deno.test("process metrics: prom-client's default names and types, its help but for the lag", async () => {
  const ours = new Registry();
  const lag = new EventLoopLag();
  registerProcessMetrics(ours, "rvr_", lag);
  const theirs = new Registry();
  collectDefaultMetrics({ register: theirs, prefix: "rvr_" });
  try {
    const expected = await declarations(theirs);
    assert.ok(expected.types.length > 20, `prom-client declares ${expected.types.length} metrics`);
    assert.ok(expected.types.some((l) => l.includes("rvr_nodejs_eventloop_lag_p99_seconds")));
    assert.deepEqual(await declarations(ours), expected);
  } finally {
    lag.stop();
  }
});

Deno.test("event-loop lag: exact min, max, mean and stddev; percentiles within 6.25 %", () => {
  const lag = new EventLoopLag();
  assert.deepEqual(lag.stats(), {
    count: 0,
    min: 0,
    max: 0,
    mean: 0,
    stddev: 0,
    p50: 0,
    p90: 0,
    p99: 0,
  });
  const random = mulberry32(7);
  for (let run = 0; run < 20; run++) {
    lag.reset();
    // Mostly sub-millisecond lag with rare long stalls, as a busy event loop has.
    const samples = Array.from(
      { length: 1 + Math.floor(random() * 3000) },
      () => random() < 0.02 ? 5 + random() * 500 : random() * 0.8,
    );
    for (const s of samples) lag.record(s);
    const sorted = [...samples].sort((a, b) => a - b);
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    const stddev = Math.sqrt(samples.reduce((a, b) => a + (b - mean) ** 2, 0) / samples.length);
    const s = lag.stats();
    assert.equal(s.count, samples.length);
    assert.equal(s.min, sorted[0]);
    assert.equal(s.max, sorted[sorted.length - 1]);
    assert.ok(Math.abs(s.mean - mean) <= 1e-9 * Math.max(1, mean), `mean ${s.mean} vs ${mean}`);
    assert.ok(Math.abs(s.stddev - stddev) <= 1e-6 * Math.max(1, stddev), `sd ${s.stddev}`);
    for (const [p, got] of [[0.5, s.p50], [0.9, s.p90], [0.99, s.p99]] as const) {
      const exact = sorted[Math.ceil(p * sorted.length) - 1];
      // One microsecond of absolute slack: below 16 us the buckets are 1 us wide.
      const tolerance = exact * 0.0625 + 0.001;
      assert.ok(Math.abs(got - exact) <= tolerance, `p${p * 100} ${got} ms vs exact ${exact} ms`);
    }
  }
  assert.throws(() => new EventLoopLag(0), /resolutionMs must be > 0 ms, got 0/);
});

Deno.test("event-loop lag: a stalled loop shows in the lag gauges of the next scrape", async () => {
  const clock = fakeClock();
  const lag = new EventLoopLag(10);
  const registry = new Registry();
  try {
    registerProcessMetrics(registry, "t_", lag);
    await clock.tickAsync(100); // ten punctual samples
    clock.jump(60); // the loop was blocked: the timer fires once, 50 ms late
    await clock.tickAsync(20); // two punctual samples again
    const stats = lag.stats();
    assert.equal(stats.count, 13);
    assert.equal(stats.max, 50);
    assert.equal(stats.min, 0);
    const text = await registry.metrics();
    assert.equal(sampleValue(text, "t_nodejs_eventloop_lag_max_seconds"), 0.05);
    assert.equal(sampleValue(text, "t_nodejs_eventloop_lag_min_seconds"), 0);
    assert.equal(sampleValue(text, "t_nodejs_eventloop_lag_p50_seconds"), 0);
    assert.equal(sampleValue(text, "t_nodejs_eventloop_lag_p99_seconds"), 0.05);
    // The scrape started a new window.
    assert.equal(lag.stats().count, 0);
    await clock.tickAsync(10);
    assert.equal(lag.stats().max, 0);
  } finally {
    lag.stop();
    clock.uninstall();
  }
});

Deno.test("event-loop lag: the timer goes to unrefTimer when it starts, once", () => {
  const given: unknown[] = [];
  const lag = new EventLoopLag(10, { unrefTimer: (timer) => given.push(timer) });
  try {
    assert.deepEqual(given, [], "nothing before start");
    lag.start();
    lag.start();
    assert.equal(given.length, 1, "one timer, handed over once");
  } finally {
    lag.stop();
  }
  assert.throws(
    () => new EventLoopLag(10, { unrefTimer: 5 as never }),
    /unrefTimer must be a function \(timer\) => void such as Deno\.unrefTimer, got number/,
  );
});
