import assert from "node:assert/strict";
import { resetSync } from "@logtape/logtape";
import { type BusEvent, EventBus } from "../../src/core/mod.ts";
import { captureLogs, settle } from "../_helpers/mod.ts";

interface Topics {
  sample: { n: number };
  state: { status: string };
  safety: { kind: "estop"; reason: string };
}

Deno.test("EventBus", async (t) => {
  await t.step(
    "delivers to many subscribers asynchronously, in order, never inside publish",
    async () => {
      const bus = new EventBus<Topics>();
      const a: number[] = [];
      const b: number[] = [];
      bus.subscribe("sample", (e) => {
        a.push(e.payload.n);
      });
      bus.subscribe("sample", async (e) => {
        await Promise.resolve();
        b.push(e.payload.n);
      });
      for (let n = 1; n <= 5; n++) bus.publish("sample", { n });
      assert.deepEqual(a, [], "nothing delivered synchronously");
      await settle();
      assert.deepEqual(a, [1, 2, 3, 4, 5]);
      assert.deepEqual(b, [1, 2, 3, 4, 5]);
      const s = bus.stats;
      assert.equal(s.published, 5);
      assert.deepEqual(s.publishedByTopic, { sample: 5 });
      assert.equal(s.delivered, 10);
      assert.equal(s.subscribers, 2);
      bus.close();
    },
  );

  await t.step(
    "events carry topic, seq and publishedAt; other topics are not delivered",
    async () => {
      const bus = new EventBus<Topics>();
      const got: BusEvent<Topics, "state" | "safety">[] = [];
      bus.subscribe(["state", "safety"], (e) => {
        got.push(e);
      });
      bus.publish("sample", { n: 1 });
      bus.publish("state", { status: "connected" });
      bus.publish("safety", { kind: "estop", reason: "operator" });
      await settle();
      assert.deepEqual(got.map((e) => [e.topic, e.seq]), [["state", 2], ["safety", 3]]);
      const last = got[1];
      if (last.topic === "safety") assert.equal(last.payload.reason, "operator");
      else assert.fail("expected a safety event");
      assert.equal(typeof last.publishedAt, "number");
      bus.close();
    },
  );

  await t.step(
    "a full buffer drops the oldest event and counts it, per subscriber and in total",
    async () => {
      const bus = new EventBus<Topics>({ bufferSize: 3 });
      const small: number[] = [];
      const big: number[] = [];
      const smallSub = bus.subscribe("sample", (e) => {
        small.push(e.payload.n);
      });
      const bigSub = bus.subscribe("sample", (e) => {
        big.push(e.payload.n);
      }, { bufferSize: 10 });
      for (let n = 1; n <= 5; n++) bus.publish("sample", { n });
      assert.deepEqual(smallSub.stats, { delivered: 0, dropped: 2, errors: 0, buffered: 3 });
      await settle();
      assert.deepEqual(small, [3, 4, 5]);
      assert.deepEqual(big, [1, 2, 3, 4, 5]);
      assert.equal(smallSub.stats.dropped, 2);
      assert.equal(bigSub.stats.dropped, 0);
      assert.equal(bus.stats.dropped, 2);
      bus.close();
    },
  );

  await t.step("a slow subscriber loses only its own oldest events", async () => {
    const bus = new EventBus<Topics>({ bufferSize: 2 });
    const gate = Promise.withResolvers<void>();
    const slow: number[] = [];
    const fast: number[] = [];
    const slowSub = bus.subscribe("sample", async (e) => {
      slow.push(e.payload.n);
      if (e.payload.n === 1) await gate.promise;
    }, { name: "slow" });
    bus.subscribe("sample", (e) => {
      fast.push(e.payload.n);
    }, { bufferSize: 100 });
    bus.publish("sample", { n: 1 });
    await settle(); // the slow one is now stuck in event 1
    for (let n = 2; n <= 10; n++) {
      bus.publish("sample", { n });
      if (n % 3 === 0) await settle();
    }
    assert.deepEqual(slow, [1]);
    assert.equal(slowSub.stats.buffered, 2);
    gate.resolve();
    await settle();
    assert.deepEqual(slow, [1, 9, 10]);
    assert.equal(slowSub.stats.dropped, 7);
    assert.deepEqual(fast, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    bus.close();
  });

  await t.step(
    "a throwing subscriber is counted and disturbs neither the publisher nor others",
    async () => {
      const bus = new EventBus<Topics>();
      const good: number[] = [];
      const seenByBad: number[] = [];
      const bad = bus.subscribe("sample", (e) => {
        seenByBad.push(e.payload.n);
        throw new Error("subscriber bug");
      });
      const rejecting = bus.subscribe("sample", () => Promise.reject(new Error("async bug")));
      bus.subscribe("sample", (e) => {
        good.push(e.payload.n);
      });
      for (let n = 1; n <= 3; n++) assert.doesNotThrow(() => bus.publish("sample", { n }));
      await settle();
      assert.deepEqual(good, [1, 2, 3]);
      assert.deepEqual(seenByBad, [1, 2, 3], "it keeps receiving after throwing");
      assert.equal(bad.stats.errors, 3);
      assert.equal(rejecting.stats.errors, 3);
      assert.equal(bus.stats.subscriberErrors, 6);
      bus.close();
    },
  );

  await t.step("subscriber errors are logged under rvr.core, rate-limited", async () => {
    const records = captureLogs(["rvr", "core"]);
    try {
      const bus = new EventBus<Topics>();
      bus.subscribe("sample", () => {
        throw new Error("subscriber bug");
      }, { name: "buggy" });
      for (let n = 1; n <= 12; n++) bus.publish("sample", { n });
      await settle();
      bus.close();
      const errors = records.filter((r) => r.level === "error");
      assert.deepEqual(errors.map((r) => r.properties.errors), [1, 10], "the 1st and the 10th");
      assert.equal(errors[0].properties.name, "buggy");
      assert.equal((errors[0].properties.error as Error).message, "subscriber bug");
    } finally {
      resetSync();
    }
  });

  await t.step("unsubscribe and abort stop delivery at once", async () => {
    const bus = new EventBus<Topics>();
    const a: number[] = [];
    const b: number[] = [];
    const subA = bus.subscribe("sample", (e) => {
      a.push(e.payload.n);
    });
    const ac = new AbortController();
    bus.subscribe("sample", (e) => {
      b.push(e.payload.n);
    }, { signal: ac.signal });
    bus.publish("sample", { n: 1 });
    await settle();
    bus.publish("sample", { n: 2 });
    subA.unsubscribe();
    ac.abort();
    bus.publish("sample", { n: 3 });
    await settle();
    assert.deepEqual(a, [1]);
    assert.deepEqual(b, [1]);
    assert.equal(bus.stats.subscribers, 0);
    const pre = bus.subscribe("sample", () => {}, { signal: AbortSignal.abort() });
    assert.equal(pre.closed, true);
    assert.equal(bus.stats.subscribers, 0);
    bus.close();
  });

  await t.step("close delivers what is buffered; later publishes are counted", async () => {
    const bus = new EventBus<Topics>();
    const cb: number[] = [];
    const sub = bus.subscribe("sample", (e) => {
      cb.push(e.payload.n);
    });
    bus.publish("sample", { n: 1 });
    bus.publish("sample", { n: 2 });
    bus.close();
    bus.publish("sample", { n: 3 });
    assert.equal(sub.closed, false, "still delivering what was buffered");
    await settle();
    assert.deepEqual(cb, [1, 2]);
    assert.equal(sub.closed, true);
    assert.equal(bus.stats.publishedAfterClose, 1);
    assert.equal(bus.closed, true);
    const late = bus.subscribe("sample", () => {});
    assert.equal(late.closed, true, "a subscription after close is closed at once");
  });

  await t.step("bad arguments throw a clear error", () => {
    assert.throws(
      () => new EventBus<Topics>({ bufferSize: 0 }),
      /bufferSize must be an integer >= 1, got 0/,
    );
    const bus = new EventBus<Topics>();
    assert.throws(() => bus.subscribe([], () => {}), /one or more topic names/);
    assert.throws(() => bus.subscribe("sample", "x" as unknown as () => void), /callback function/);
    bus.close();
  });
});
