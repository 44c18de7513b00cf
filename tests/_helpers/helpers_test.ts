/** The shared helpers hold what the other tests lean on: exact parsing, real uninstalls, deep settles. */
import assert from "node:assert/strict";
import { Counter } from "prom-client";
import { MetricsRegistry } from "../../src/core/metrics.ts";
import {
  fakeClock,
  metricValue,
  parseMetrics,
  sampleValue,
  settle,
  settleErrorWith,
  settleWith,
  testSettings,
  withClock,
} from "./mod.ts";

const TEXT = [
  "# HELP rvr_x_total Things.",
  "# TYPE rvr_x_total counter",
  'rvr_x_total{kind="a",node="1"} 2',
  'rvr_x_total{kind="b",node="1"} 3',
  'rvr_x_total{kind="a",node="2"} 5',
  "# TYPE rvr_lag_seconds histogram",
  'rvr_lag_seconds_bucket{le="+Inf"} 4',
  "rvr_lag_seconds_count 4",
  "rvr_lag_seconds_sum 0.25",
  "# TYPE rvr_label_gauge gauge",
  'rvr_label_gauge{path="a \\"b\\" \\\\ c"} NaN',
  "",
].join("\n");

Deno.test("metric reader: sums matching series, undefined when none match, throws on a typo", () => {
  assert.equal(sampleValue(TEXT, "rvr_x_total"), 10);
  assert.equal(sampleValue(TEXT, "rvr_x_total", { kind: "a" }), 7);
  assert.equal(sampleValue(TEXT, "rvr_x_total", { kind: "a", node: "2" }), 5);
  assert.equal(sampleValue(TEXT, "rvr_x_total", { kind: "c" }), undefined);
  assert.equal(sampleValue(TEXT, "rvr_lag_seconds_count"), 4);
  assert.equal(sampleValue(TEXT, "rvr_lag_seconds_bucket", { le: "+Inf" }), 4);
  assert.deepEqual(parseMetrics(TEXT).samples.at(-1), {
    name: "rvr_label_gauge",
    labels: { path: 'a "b" \\ c' },
    value: NaN,
  });
  assert.throws(() => sampleValue(TEXT, "rvr_x_totl"), /No metric rvr_x_totl is declared/);
  assert.throws(() => parseMetrics("rvr_x_total{kind=a} 1"), /Bad labels/);
  assert.throws(() => parseMetrics("rvr_x_total one"), /Bad sample value "one"/);
});

Deno.test("metricValue reads a registry: 0 for a declared series never set", async () => {
  const metrics = new MetricsRegistry();
  const things = new Counter({
    name: "t_things_total",
    help: "Things.",
    labelNames: ["kind"],
    registers: [metrics.registry],
  });
  assert.equal(await metricValue(metrics, "t_things_total", { kind: "a" }), 0);
  things.inc({ kind: "a" }, 2);
  things.inc({ kind: "b" });
  assert.equal(await metricValue(metrics, "t_things_total", { kind: "a" }), 2);
  assert.equal(await metricValue(metrics, "t_things_total"), 3);
  await assert.rejects(metricValue(metrics, "rvr_no_such_metric"), /No metric rvr_no_such_metric/);
});

Deno.test("fakeClock: `using` uninstalls; time and timers are fake inside only", async () => {
  const realNow = Date.now;
  {
    using clock = fakeClock({ now: 5000 });
    assert.equal(Date.now(), 5000);
    let fired = false;
    setTimeout(() => fired = true, 100);
    await clock.tickAsync(99);
    assert.equal(fired, false);
    await clock.tickAsync(1);
    assert.equal(fired, true);
    assert.equal(clock.countTimers(), 0);
  }
  assert.equal(Date.now, realNow);
  assert.ok(Date.now() > 1_600_000_000_000, "the real clock is back");
  assert.throws(() => fakeClock({ toFake: ["nextTick" as "Date"] }), /Cannot fake "nextTick"/);
  await assert.rejects(withClock(() => Promise.reject(new Error("inside"))), /inside/);
  assert.equal(Date.now, realNow, "withClock uninstalls on a rejection too");
});

Deno.test("settle runs a promise chain of any depth; fake time does not move", async () => {
  using clock = fakeClock();
  let depth = 0;
  let p: Promise<void> = Promise.resolve();
  for (let i = 0; i < 500; i++) p = p.then(() => void depth++);
  let timer = false;
  setTimeout(() => timer = true, 0);
  await settle();
  assert.equal(depth, 500);
  assert.equal(timer, false, "no fake timer fired");
  assert.equal(clock.now, 0);
});

Deno.test("settleWith drives fake time until the promise settles, and says when it never does", async () => {
  using clock = fakeClock();
  const late = new Promise((resolve) => setTimeout(() => resolve("late"), 1234));
  assert.equal(await settleWith(clock, late), "late");
  assert.equal(clock.now, 1240, "10 ms steps");
  const never = new Promise(() => {});
  await assert.rejects(settleWith(clock, never, 100), /Still pending after 100 ms of fake time/);
  const failing = new Promise((_, reject) => setTimeout(() => reject(new Error("no")), 50));
  assert.match(String(await settleErrorWith(clock, failing)), /no/);
  await assert.rejects(settleErrorWith(clock, Promise.resolve(7)), /got the value 7/);
});

Deno.test("testSettings: overrides apply to a fresh copy", () => {
  const a = testSettings({ requestTimeoutMs: 100 });
  assert.equal(a.requestTimeoutMs, 100);
  assert.equal(testSettings().requestTimeoutMs, 200);
  a.maxSpeedPercent = 1;
  assert.equal(testSettings().maxSpeedPercent, 50);
});
