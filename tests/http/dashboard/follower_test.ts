/**
 * src/http/dashboard/follower.ts, the page's side of the telemetry protocol, in Deno: it follows
 * the frames of the codec's DeltaEncoder (the server's model makes the same; JSON round trip),
 * refuses gaps and stale deltas and asks for a full frame once per RESYNC_RETRY_MS, and names
 * malformed frames.
 */
import assert from "node:assert/strict";
import { RESYNC_RETRY_MS, TelemetryFollower } from "../../../src/http/dashboard/follower.ts";
import {
  DeltaEncoder,
  emptyTelemetryState,
  type TelemetryFrame,
  type TelemetryState,
} from "../../../src/telemetry/mod.ts";

/** A follower with a hand-set clock that records every request for a full frame. */
function follower() {
  const asked: string[] = [];
  let now = 1_000;
  const f = new TelemetryFollower({ requestFullFrame: (why) => asked.push(why), now: () => now });
  return { f, asked, advance: (ms: number) => now += ms };
}

const wire = (frame: TelemetryFrame | null): unknown => JSON.parse(JSON.stringify(frame));

function states(): TelemetryState[] {
  const out: TelemetryState[] = [];
  for (let i = 0; i < 5; i++) {
    const s = emptyTelemetryState();
    s.pose.x_m = i / 10;
    s.battery.percent = 80 - (i >> 1);
    s.updated_at = 1000 + i;
    out.push(s);
  }
  return out;
}

Deno.test("TelemetryFollower", async (t) => {
  await t.step("follows a full frame and its deltas to the server's state", () => {
    const enc = new DeltaEncoder();
    const { f, asked } = follower();
    assert.equal(f.state, null);
    const all = states();
    for (const [i, s] of all.entries()) {
      const out = f.receive(wire(enc.next(s, 5000 + i)));
      assert.equal(out.kind, i === 0 ? "full" : "delta");
      if (out.kind === "delta") {
        assert.equal(out.at, 5000 + i);
        assert.deepEqual(Object.keys(out.changes ?? {}).sort(), [
          ...(i % 2 === 0 ? ["battery.percent"] : []),
          "pose.x_m",
          "updated_at",
        ]);
      }
      assert.deepEqual(f.state, s);
      assert.equal(f.seq, i + 1);
    }
    assert.deepEqual(f.stats, {
      frames: 5,
      full: 1,
      delta: 4,
      resyncs: 0,
      gaps: 0,
      errors: 0,
      connects: 0,
    });
    assert.deepEqual(asked, []);
  });

  await t.step("a gap is not applied; it asks once per RESYNC_RETRY_MS until a full frame", () => {
    const enc = new DeltaEncoder();
    const { f, asked, advance } = follower();
    const [s1, s2, s3, s4] = states();
    f.receive(wire(enc.next(s1, 1)));
    enc.next(s2, 2); // lost
    const d3 = wire(enc.next(s3, 3));
    assert.deepEqual(f.receive(d3), { kind: "gap", why: "seq 3 after 1" });
    assert.deepEqual(f.state, s1, "the state is untouched");
    assert.equal(f.awaitingFull, true);
    const d4 = wire(enc.next(s4, 4));
    assert.equal(f.receive(d4).kind, "gap");
    assert.equal(asked.length, 1, "asked once");
    advance(RESYNC_RETRY_MS);
    assert.equal(f.receive(d4).kind, "gap");
    assert.deepEqual(asked, ["seq 3 after 1", "seq 4 after 1"], "asked again after the wait");
    assert.deepEqual(f.receive(wire(enc.lastFull())), { kind: "full", at: 4, changes: null });
    assert.deepEqual(f.state, s4);
    assert.equal(f.awaitingFull, false);
    assert.deepEqual([f.stats.gaps, f.stats.resyncs, f.stats.full], [3, 2, 2]);
  });

  await t.step("a delta naming a path the state lacks, or before any full frame, is a gap", () => {
    const { f, asked } = follower();
    assert.deepEqual(f.receive({ type: "delta", seq: 1, at: 1, changes: {} }), {
      kind: "gap",
      why: "delta before any full frame",
    });
    f.receive({ type: "full", seq: 1, at: 1, state: emptyTelemetryState() });
    const out = f.receive({ type: "delta", seq: 2, at: 2, changes: { "pose.z_m": 1 } });
    assert.equal(out.kind, "gap");
    assert.match(asked[1], /changes pose.z_m, which the base state does not have/);
    assert.equal(f.seq, 1);
  });

  await t.step("a new socket needs a full frame first", () => {
    const enc = new DeltaEncoder();
    const { f } = follower();
    const [s1, s2] = states();
    f.receive(wire(enc.next(s1, 1)));
    f.reset();
    assert.equal(f.seq, null);
    assert.deepEqual(f.state, s1, "kept for display");
    assert.equal(f.receive(wire(enc.next(s2, 2))).kind, "gap");
  });

  await t.step("malformed frames are TypeErrors naming them; nothing changes", () => {
    const { f } = follower();
    assert.throws(() => f.receive("hello"), /without a numeric seq: "hello"/);
    assert.throws(() => f.receive({ type: "full", seq: 1 }), /Full frame 1 has no state object/);
    assert.throws(() => f.receive({ type: "nope", seq: 2 }), /Unknown telemetry frame type "nope"/);
    f.receive({ type: "full", seq: 3, at: 1, state: emptyTelemetryState() });
    assert.throws(
      () => f.receive({ type: "delta", seq: 4, at: 1, changes: 5 }),
      /Delta frame 4 has no changes object/,
    );
    assert.equal(f.seq, 3);
    assert.deepEqual(f.state, emptyTelemetryState());
  });
});
