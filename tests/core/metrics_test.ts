import assert from "node:assert/strict";
import { Metrics } from "../../src/core/metrics.ts";

Deno.test("metrics: at least 30 own metrics plus process metrics, as Prometheus text", async () => {
  const m = new Metrics();
  const text = await m.text();
  const own = new Set(
    [...text.matchAll(/^# TYPE (rvr_\S+) /gm)].map((x) => x[1]).filter((n) =>
      !n.startsWith("rvr_process_") && !n.startsWith("rvr_nodejs_")
    ),
  );
  assert.ok(own.size >= 30, `${own.size} own metrics`);
  assert.match(text, /^# TYPE rvr_process_cpu_seconds_total counter$/m);
  for (const name of own) assert.match(name, /^rvr_[a-z_]+$/);
  assert.equal(m.contentType.startsWith("text/plain"), true);
});

Deno.test("metrics: collectors run before each scrape and advance counters by deltas", async () => {
  const m = new Metrics({ processMetrics: false });
  let total = 0;
  const off = m.addCollector(() => {
    m.advance("link.bytes.in", m.linkBytesTotal, total, { direction: "in" });
    m.linkPendingRequests.set(total % 3);
  });
  total = 10;
  assert.match(await m.text(), /rvr_link_bytes_total\{direction="in"\} 10\n/);
  total = 25;
  assert.match(await m.text(), /rvr_link_bytes_total\{direction="in"\} 25\n/);
  assert.match(await m.text(), /rvr_link_pending_requests 1\n/);
  // A new link starts from zero again: its total counts on top, nothing is lost or doubled.
  total = 4;
  assert.match(await m.text(), /rvr_link_bytes_total\{direction="in"\} 29\n/);
  off();
  total = 100;
  assert.match(await m.text(), /rvr_link_bytes_total\{direction="in"\} 29\n/);
});
