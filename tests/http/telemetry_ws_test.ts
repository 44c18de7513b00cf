/**
 * The telemetry WebSocket over real sockets: full frame first, deltas of only the changed leaves
 * while the simulated robot drives (sensor streams -> bus -> aggregator -> hub), applyFrame on
 * the client reproducing the server's state, a seq gap repaired by {"type":"resync"}, and a
 * client that stops reading losing frames (counted per client in /metrics, then a full frame)
 * while a fast client gets every frame in order.
 */
import assert from "node:assert/strict";
import { CLOSE_GOING_AWAY, CLOSE_UNSUPPORTED, TelemetryHub } from "../../src/http/telemetry_ws.ts";
import { type TelemetryFrame, TelemetryModel } from "../../src/telemetry/mod.ts";
import {
  bounded,
  makeSideRig,
  RawWsClient,
  request,
  type SideRig,
  TelemetryClient,
  until,
} from "./_side_port.ts";
import { sampleValue } from "../_helpers/mod.ts";
import { motionBatch, sampleEvent } from "./_motion.ts";
import { sidePortMetrics } from "../../src/http/mod.ts";

/** Flushes the aggregator until the hub is quiet and `clients` have everything it sent. */
async function settled(rig: SideRig, clients: TelemetryClient[]): Promise<void> {
  for (let i = 0; i < 50; i++) {
    rig.aggregator.flush();
    const target = rig.side.hub.seq;
    for (const c of clients) {
      await c.waitFor((x) => (x.lastSeq ?? -1) >= target, `seq ${target} at the client`);
    }
    if (rig.aggregator.stats.pending === 0 && rig.side.hub.seq === target) return;
  }
  throw new Error("the telemetry never went quiet");
}

/** Every delta in `frames` changes only leaves whose value really changed. */
function assertOnlyChanges(frames: TelemetryFrame[]): number {
  let state: Record<string, unknown> | null = null;
  let deltas = 0;
  for (const frame of frames) {
    if (frame.type === "full") {
      state = structuredClone(frame.state) as unknown as Record<string, unknown>;
      continue;
    }
    assert.ok(state, "a delta after a full frame");
    assert.ok(Object.keys(frame.changes).length > 0, `delta ${frame.seq} changes something`);
    for (const [path, value] of Object.entries(frame.changes)) {
      const parts = path.split(".");
      let o = state as Record<string, unknown>;
      for (const p of parts.slice(0, -1)) o = o[p] as Record<string, unknown>;
      const leaf = parts[parts.length - 1];
      assert.ok(leaf in o, `delta ${frame.seq}: ${path} is a leaf of the state`);
      assert.notDeepEqual(o[leaf], value, `delta ${frame.seq}: ${path} did not change`);
      o[leaf] = value;
    }
    deltas++;
  }
  return deltas;
}

Deno.test("telemetry: full frame first, then deltas of what changed while the robot drives; applyFrame reproduces the server's state", async () => {
  const rig = await makeSideRig({ windowMs: 20 });
  const client = await TelemetryClient.open(rig.wsUrl, { name: "watcher" });
  try {
    await client.waitFor((c) => c.state !== null, "the first frame");
    const first = client.frames[0];
    assert.equal(first.type, "full");
    assert.equal(first.seq, rig.side.hub.seq);
    // Seeded from the runtime: connected to the simulator, the configured speed limit.
    assert.equal(client.state?.connection.status, "connected");
    assert.equal(client.state?.connection.simulated, true);
    assert.equal(client.state?.safety.speed_limit_percent, 50);
    assert.equal(client.state?.pose.y_m, null);

    await bounded(
      rig.runtime.streams.start(["locator", "imu", "speed"], { intervalMs: 50 }),
      "streams to start",
    );
    await bounded(rig.runtime.rvr.driveWithHeading({ speed: 80, headingDeg: 0 }), "the drive");
    await client.waitFor(
      (c) => (c.state?.pose.y_m ?? 0) > 0.05 && (c.state?.speed_mps ?? 0) > 0,
      "the robot to move forward in the telemetry",
    );
    await bounded(rig.runtime.rvr.stop(), "the stop");
    await bounded(rig.runtime.streams.stop(), "streams to stop");
    await settled(rig, [client]);

    assert.deepEqual(client.state, rig.side.hub.state, "the client's state is the server's");
    assert.equal(client.gaps, 0);
    assert.equal(client.frames.filter((f) => f.type === "full").length, 1, "one full frame");
    const deltas = assertOnlyChanges(client.frames);
    assert.ok(deltas >= 3, `several deltas (${deltas})`);
    const seqs = client.frames.map((f) => f.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => first.seq + i), "consecutive seqs");
    const moved = client.frames.filter((f) => f.type === "delta" && "pose.y_m" in f.changes);
    assert.ok(moved.length >= 2, "pose deltas");
    for (const f of moved) {
      assert.ok(
        f.type === "delta" && !("connection.status" in f.changes),
        "unchanged leaves stay out",
      );
    }
    const metrics = await request(`${rig.url}/metrics`);
    assert.equal(sampleValue(metrics.text, "rvr_telemetry_clients"), 1);
    assert.equal(sampleValue(metrics.text, "rvr_telemetry_frames_total", { type: "full" }), 1);
    assert.equal(
      sampleValue(metrics.text, "rvr_telemetry_frames_total", { type: "delta" }),
      client.frames.length - 1,
    );
  } finally {
    await client.close();
    await rig.close();
  }
});

Deno.test("telemetry: a client that misses a delta sees the gap, asks for a resync and gets a full frame; the others see no gap", async () => {
  const rig = await makeSideRig({ windowMs: 1000 });
  const a = await TelemetryClient.open(rig.wsUrl);
  const b = await TelemetryClient.open(rig.wsUrl);
  try {
    await a.waitFor((c) => c.state !== null, "a's first frame");
    await b.waitFor((c) => c.state !== null, "b's first frame");
    const start = rig.side.hub.seq;
    a.skipNext = 1; // a loses the next delta, as if the network had eaten it
    let x = 0;
    const step = () => {
      x += 0.01;
      rig.aggregator.ingest(sampleEvent("locator", { x_m: x, y_m: 2 * x }));
      rig.aggregator.flush(); // the real aggregator path, without waiting for the window
    };
    step(); // start + 1: a skips it
    step(); // start + 2: a sees the gap and sends {"type":"resync"}
    await a.waitFor(
      (c) => c.frames.filter((f) => f.type === "full").length === 2,
      "the full frame",
    );
    const full = a.frames.find((f, i) => i > 0 && f.type === "full") as TelemetryFrame;
    assert.equal(a.gaps, 1);
    assert.equal(a.resyncsSent, 1);
    assert.ok(full.seq >= start + 2, `the full frame shows the latest state (seq ${full.seq})`);
    step();
    step();
    await a.waitFor((c) => c.lastSeq === rig.side.hub.seq, "a to catch up");
    await b.waitFor((c) => c.lastSeq === rig.side.hub.seq, "b to catch up");
    assert.deepEqual(a.state, rig.side.hub.state);
    assert.deepEqual(b.state, rig.side.hub.state);
    assert.equal(b.gaps, 0, "a full frame for one client opens no gap for another");
    assert.deepEqual(b.frames.map((f) => f.seq), [
      start,
      start + 1,
      start + 2,
      start + 3,
      start + 4,
    ]);
    assert.equal(rig.side.hub.stats.resyncs, 1);
    const stats = rig.side.hub.clientStats();
    assert.deepEqual(stats.map((s) => [s.sentFull, s.dropped]), [[2, 0], [1, 0]]);
  } finally {
    await a.close();
    await b.close();
    await rig.close();
  }
});

Deno.test("telemetry: a slow client loses frames (counted in /metrics) and then gets a full frame; a fast client gets every frame in order", async () => {
  const rig = await makeSideRig({ windowMs: 1000 });
  const fast = await TelemetryClient.open(rig.wsUrl, { name: "fast" });
  const slow = await RawWsClient.connect(`${rig.wsUrl}?client=slow`);
  const hub = rig.side.hub;
  try {
    await fast.waitFor((c) => c.state !== null, "the fast client's first frame");
    const [slowFirst] = await slow.readUntil(
      (f) => f.type === "full",
      "the slow client's first frame",
    );
    assert.equal(slowFirst.type, "full");
    const slowStats = () => hub.clientStats().find((s) => s.id.endsWith("-slow"));
    // The slow client reads nothing from now on. Publish in bursts (a burst is synchronous, as at
    // 200 Hz), letting the sockets flush between bursts, until its queue has overflowed.
    let i = 0;
    while ((slowStats()?.dropped ?? 0) === 0) {
      assert.ok(i < 200_000, "the slow client never fell behind");
      for (let k = 0; k < 50; k++) hub.publish(motionBatch(i++));
      const seq = hub.seq;
      await fast.waitFor((c) => c.lastSeq === seq, `the fast client to get seq ${seq}`);
    }
    // A little more while it stays stuck: those frames are dropped too (it awaits a full frame).
    for (let k = 0; k < 20; k++) hub.publish(motionBatch(i++));
    const last = hub.seq;
    await fast.waitFor((c) => c.lastSeq === last, "the fast client to get everything");

    const s = slowStats();
    assert.ok(s && s.dropped > 0 && s.overflows >= 1 && s.awaitingFull, JSON.stringify(s));
    const f = hub.clientStats().find((c) => c.id.endsWith("-fast"));
    assert.equal(f?.dropped, 0);
    assert.equal(fast.gaps, 0);
    const seqs = fast.frames.map((x) => x.seq);
    assert.deepEqual(seqs, seqs.map((_, k) => seqs[0] + k), "every frame, in order");
    assert.equal(seqs.at(-1), last);
    assert.deepEqual(fast.state, hub.state);

    const metrics = await request(`${rig.url}/metrics`);
    assert.equal(
      sampleValue(metrics.text, "rvr_telemetry_ws_dropped_total", { client: s.id }),
      s.dropped,
    );
    assert.equal(
      sampleValue(metrics.text, "rvr_telemetry_ws_dropped_total", { client: f.id }),
      undefined,
    );
    assert.equal(sampleValue(metrics.text, "rvr_telemetry_clients"), 2);

    // The slow client reads again: after the deltas that got through, in order, comes a full
    // frame of the latest state, never a delta with a gap.
    const got = await slow.readUntil(
      (x) => x.type === "full" && x.seq === last,
      "the full frame after the overflow",
      20_000,
    );
    const frames = [slowFirst, ...got];
    for (let k = 1; k < frames.length; k++) {
      const x = frames[k];
      if (x.type === "delta") assert.equal(x.seq, frames[k - 1].seq + 1, `delta ${x.seq} in order`);
    }
    const fulls = frames.filter((x) => x.type === "full");
    assert.equal(fulls.length, 2, "the first frame and the one after the overflow");
    assert.deepEqual((fulls[1] as { state: unknown }).state, hub.state);
    assert.ok(frames.length - 2 < last - slowFirst.seq, "frames were dropped in between");

    // When it goes, its count moves to client="closed" (bounded label set, monotonic sum).
    const dropped = hub.clientStats().find((c) => c.id === s.id)?.dropped;
    slow.close();
    await until(() => hub.clients === 1, (changed) => {
      const timer = setInterval(changed, 5);
      return () => clearInterval(timer);
    }, "the server to notice the slow client left");
    const after = await request(`${rig.url}/metrics`);
    assert.equal(
      sampleValue(after.text, "rvr_telemetry_ws_dropped_total", { client: s.id }),
      undefined,
    );
    assert.equal(
      sampleValue(after.text, "rvr_telemetry_ws_dropped_total", { client: "closed" }),
      dropped,
    );
    assert.equal(sampleValue(after.text, "rvr_telemetry_clients"), 1);
  } finally {
    slow.close();
    await fast.close();
    await rig.close();
  }
});

Deno.test("telemetry: a message other than resync closes the socket with 1003 and says what to send", async () => {
  const rig = await makeSideRig();
  const client = await TelemetryClient.open(rig.wsUrl);
  try {
    await client.waitFor((c) => c.state !== null, "the first frame");
    client.send({ type: "subscribe", topics: ["pose"] });
    const closed = await bounded(client.closed, "the close");
    assert.equal(closed.code, CLOSE_UNSUPPORTED);
    assert.match(closed.reason, /type subscribe.*\{"type":"resync"\}/);
    assert.equal(rig.side.hub.stats.badMessages, 1);
    assert.equal(rig.side.hub.clients, 0);
  } finally {
    await client.close();
    await rig.close();
  }
});

Deno.test("telemetry: closing the side port closes its clients (1001)", async () => {
  const rig = await makeSideRig();
  const client = await TelemetryClient.open(rig.wsUrl);
  try {
    await client.waitFor((c) => c.state !== null, "the first frame");
    await rig.side.close();
    const closed = await bounded(client.closed, "the close");
    assert.equal(closed.code, CLOSE_GOING_AWAY);
    assert.equal(rig.side.hub.clients, 0);
    assert.equal(rig.side.hub.publish(motionBatch(1)), null, "a closed hub publishes nothing");
  } finally {
    await client.close();
    await rig.close();
  }
});

Deno.test("TelemetryHub: bad options are refused; an unchanged batch makes no frame", () => {
  const metrics = sidePortMetrics();
  const model = new TelemetryModel();
  assert.throws(() => new TelemetryHub({ model, metrics, queueSize: 0 }), /queueSize .* got 0/);
  assert.throws(
    () => new TelemetryHub({ model, metrics, highWaterBytes: -1 }),
    /highWaterBytes .* got -1/,
  );
  assert.throws(() => new TelemetryHub({ model, metrics, drainIntervalMs: 0 }), /drainIntervalMs/);
  const hub = new TelemetryHub({ model, metrics });
  try {
    const start = hub.seq;
    const frame = hub.publish(motionBatch(7));
    assert.equal(frame?.type, "delta");
    assert.equal(frame?.seq, start + 1);
    assert.equal(hub.publish(motionBatch(7)), null, "same values: nothing to send");
    assert.equal(hub.seq, start + 1);
    assert.equal(hub.state.pose.x_m, Math.round(Math.sin(7 / 200) * 1e4) / 1e4);
    assert.throws(
      () => new TelemetryHub({ model, metrics }),
      /needs a model of its own that has made no frame yet \(this one is at seq 2\)/,
      "the model is the hub's one state store: two hubs cannot share it",
    );
  } finally {
    hub.close();
  }
});
