import assert from "node:assert/strict";
import fc from "fast-check";
import { applyFrame, DeltaEncoder, type TelemetryFrame } from "../../src/telemetry/json_delta.ts";
import { emptyTelemetryState, type TelemetryState } from "../../src/telemetry/state.ts";

/** What a client gets after the frame went over the wire as JSON text. */
function wire<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}

Deno.test("DeltaEncoder and applyFrame", async (t) => {
  await t.step("full frame first, then deltas of changed leaves, null when unchanged", () => {
    const enc = new DeltaEncoder();
    assert.equal(enc.seq, 0);
    assert.equal(enc.lastFull(), null);
    const s0 = emptyTelemetryState();
    const f1 = enc.next(s0, 100);
    assert.deepEqual(f1, { type: "full", seq: 1, at: 100, state: s0 });
    const s1 = emptyTelemetryState();
    s1.pose.x_m = 0.5;
    s1.safety.estop = true;
    s1.updated_at = 101;
    const f2 = enc.next(s1, 101);
    assert.deepEqual(f2, {
      type: "delta",
      seq: 2,
      at: 101,
      changes: { "safety.estop": true, "pose.x_m": 0.5, "updated_at": 101 },
    });
    assert.equal(enc.next(structuredClone(s1), 102), null, "nothing changed: no frame, no seq");
    assert.equal(enc.seq, 2);
    const f3 = enc.full(s1, 103);
    assert.deepEqual(f3, { type: "full", seq: 3, at: 103, state: s1 });
    assert.deepEqual(enc.lastFull(), { type: "full", seq: 3, at: 103, state: s1 });
    s1.pose.x_m = 0.25;
    const f4 = enc.next(s1, 104);
    assert.deepEqual(f4, { type: "delta", seq: 4, at: 104, changes: { "pose.x_m": 0.25 } });
    const last = enc.lastFull();
    assert.equal(last?.seq, 4, "lastFull takes no new number");
    assert.equal(enc.seq, 4);
    // Replaying the frames rebuilds the state.
    let client = applyFrame(null, wire(f1 as TelemetryFrame));
    client = applyFrame(client, wire(f2 as TelemetryFrame));
    client = applyFrame(client, wire(f4 as TelemetryFrame));
    assert.deepEqual(client, s1);
  });

  await t.step("frames are copies: mutating the state later does not change them", () => {
    const enc = new DeltaEncoder();
    const s = emptyTelemetryState();
    const f = enc.next(s, 1);
    s.pose.x_m = 3;
    assert.equal(f?.type === "full" && f.state.pose.x_m, null);
    assert.equal(enc.lastFull()?.type === "full" && enc.lastFull()?.seq, 1);
    assert.deepEqual(enc.next(s, 2), { type: "delta", seq: 2, at: 2, changes: { "pose.x_m": 3 } });
  });

  await t.step("a state whose shape changed is sent full", () => {
    const enc = new DeltaEncoder();
    enc.next(emptyTelemetryState(), 1);
    const odd = { ...emptyTelemetryState(), extra: { a: 1 } } as unknown as TelemetryState;
    assert.equal(enc.next(odd, 2)?.type, "full");
    const fewer = emptyTelemetryState() as unknown as Record<string, unknown>;
    delete fewer.ambient_lux;
    fewer.other = null;
    assert.equal(enc.next(fewer as unknown as TelemetryState, 3)?.type, "full");
  });

  await t.step("bad input is refused with a clear message", () => {
    const enc = new DeltaEncoder();
    assert.throws(
      () => enc.next({ "a.b": 1 } as unknown as TelemetryState, 1),
      /key "a.b" cannot be a dotted path segment/,
    );
    assert.throws(() => enc.next(emptyTelemetryState(), NaN), /finite epoch ms, got NaN/);
    assert.throws(
      () => applyFrame(null, { type: "delta", seq: 5, at: 1, changes: { "pose.x_m": 1 } }),
      /Delta frame 5 needs a base state and there is none: ask for a full frame/,
    );
    const base = emptyTelemetryState();
    assert.throws(
      () => applyFrame(base, { type: "delta", seq: 6, at: 1, changes: { "pose.z_m": 1 } }),
      /Delta frame 6 changes pose.z_m, which the base state does not have/,
    );
    assert.throws(
      () => applyFrame(base, { type: "delta", seq: 7, at: 1, changes: { "power.x": 1 } }),
      /power is not an object in the base state/,
    );
    assert.throws(
      () => applyFrame(base, { type: "delta", seq: 8, at: 1, changes: { "__proto__.x": 1 } }),
      /does not have/,
    );
    assert.throws(
      () => applyFrame(base, { type: "nope", seq: 9 } as unknown as TelemetryFrame),
      /Unknown telemetry frame type "nope" \(seq 9\)/,
    );
    assert.deepEqual(base, emptyTelemetryState(), "applyFrame never modifies its input");
  });

  await t.step(
    "property: frames over JSON rebuild every state exactly, across lost frames answered by full frames",
    () => {
      const template = emptyTelemetryState() as unknown as Record<string, unknown>;
      const paths: string[][] = [];
      for (const [k, v] of Object.entries(template)) {
        if (typeof v === "object" && v !== null) {
          for (const k2 of Object.keys(v)) paths.push([k, k2]);
        } else paths.push([k]);
      }
      const leaf = fc.oneof(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer(),
        fc.constant(null),
        fc.boolean(),
        fc.string(),
      );
      const step = fc.record({
        edits: fc.array(fc.tuple(fc.nat({ max: paths.length - 1 }), leaf), { maxLength: 6 }),
        delivered: fc.boolean(),
        resync: fc.constantFrom("lastFull", "full"),
      });
      fc.assert(
        fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
          const enc = new DeltaEncoder();
          let state = emptyTelemetryState();
          // A client that loses frames and resyncs, and one that receives every broadcast frame.
          let lossy: TelemetryState | null = null;
          let lossySeq = 0;
          let follower: TelemetryState | null = null;
          let followerSeq = 0;
          const follow = (frame: TelemetryFrame) => {
            assert.equal(frame.seq, followerSeq + 1, "broadcast frames are numbered without gaps");
            follower = applyFrame(follower, wire(frame));
            followerSeq = frame.seq;
          };
          steps.forEach(({ edits, delivered, resync }, i) => {
            state = structuredClone(state);
            for (const [p, value] of edits) {
              const path = paths[p];
              if (path.length === 1) (state as unknown as Record<string, unknown>)[path[0]] = value;
              else {
                (state as unknown as Record<string, Record<string, unknown>>)[path[0]][path[1]] =
                  value;
              }
            }
            const expected = wire(state);
            const frame = enc.next(state, i + 1);
            if (frame === null) {
              if (follower !== null) assert.deepEqual(follower, expected);
              if (lossy !== null && lossySeq === enc.seq) assert.deepEqual(lossy, expected);
              return;
            }
            follow(frame);
            assert.deepEqual(follower, expected, "the follower has every state");
            if (!delivered) return;
            const got = wire(frame);
            if (got.seq === lossySeq + 1) {
              lossy = applyFrame(lossy, got);
              lossySeq = got.seq;
            } else {
              // Gap: the client asks for a full frame.
              const answer = resync === "lastFull"
                ? enc.lastFull() as TelemetryFrame
                : enc.full(state, i + 1);
              if (resync === "full") follow(answer); // a full() frame is broadcast
              lossy = applyFrame(null, wire(answer));
              lossySeq = answer.seq;
            }
            assert.deepEqual(lossy, expected, "the lossy client is back in step");
            assert.equal(lossySeq, enc.seq);
          });
        }),
        { numRuns: 300 },
      );
    },
  );
});
