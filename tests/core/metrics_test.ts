import assert from "node:assert/strict";
import { MetricsRegistry, withInstruments } from "../../src/core/metrics.ts";

Deno.test("metrics registry: collectors run before each scrape and advance counters by deltas", async () => {
  const registry = new MetricsRegistry();
  const m = withInstruments(registry, {
    bytesTotal: registry.counter("t_bytes_total", "Bytes.", ["direction"]),
    pending: registry.gauge("t_pending", "Pending."),
  });
  let total = 0;
  const off = m.addCollector(() => {
    m.advance("link.bytes.in", m.bytesTotal, total, { direction: "in" });
    m.pending.set(total % 3);
  });
  total = 10;
  assert.match(await m.text(), /t_bytes_total\{direction="in"\} 10\n/);
  total = 25;
  assert.match(await m.text(), /t_bytes_total\{direction="in"\} 25\n/);
  assert.match(await m.text(), /t_pending 1\n/);
  // A new link starts from zero again: its total counts on top, nothing is lost or doubled.
  total = 4;
  assert.match(await m.text(), /t_bytes_total\{direction="in"\} 29\n/);
  off();
  total = 100;
  assert.match(await m.text(), /t_bytes_total\{direction="in"\} 29\n/);
  assert.equal(m.contentType.startsWith("text/plain"), true);
});

Deno.test("metrics registry: forget drops the remembered totals of a component that is gone", async () => {
  const registry = new MetricsRegistry();
  const total = registry.counter("t_total", "Total.");
  registry.advance("a.x", total, 5);
  registry.forget("a.");
  // Forgotten: the same total counts again in full (a new component under the old key).
  registry.advance("a.x", total, 5);
  assert.match(await registry.text(), /^t_total 10$/m);
});

Deno.test("metrics registry: histograms use the latency buckets; a layer composes once", () => {
  const registry = new MetricsRegistry();
  const h = withInstruments(registry, { h: registry.histogram("t_seconds", "Seconds.") });
  assert.equal(h, registry, "the registry itself carries the instruments");
  assert.throws(
    () => withInstruments(registry, { h: registry.gauge("t_other", "Other.") }),
    (e: Error) => e instanceof TypeError && /already has "h"/.test(e.message),
  );
  assert.throws(() => registry.counter("t_seconds", "Again."), /already been registered/);
});
