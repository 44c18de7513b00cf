import assert from "node:assert/strict";
import { backoff, delay, TimeoutError, withTimeout } from "../../src/core/mod.ts";
import { withClock } from "../_helpers/mod.ts";

/** Settles-or-not probe: the promise's outcome so far, without awaiting it. */
function track<T>(p: Promise<T>) {
  const s: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (value) => Object.assign(s, { done: true, value }),
    (error) => Object.assign(s, { done: true, error }),
  );
  return s;
}

Deno.test("delay", async (t) => {
  await t.step("resolves after ms, not before", () =>
    withClock(async (clock) => {
      const s = track(delay(100));
      await clock.tickAsync(99);
      assert.equal(s.done, false);
      await clock.tickAsync(1);
      assert.equal(s.done, true);
      assert.equal(s.error, undefined);
    }));

  await t.step(
    "aborting rejects with the reason and clears the timer",
    () =>
      withClock(async (clock) => {
        const ac = new AbortController();
        const s = track(delay(1000, { signal: ac.signal }));
        await clock.tickAsync(10);
        const reason = new Error("stop waiting");
        ac.abort(reason);
        await clock.tickAsync(0);
        assert.equal(s.error, reason);
        assert.equal(clock.countTimers(), 0);
      }),
  );

  await t.step(
    "an aborted signal rejects at once; without a reason with an AbortError",
    async () => {
      await assert.rejects(delay(10, { signal: AbortSignal.abort("why") }), (e) => e === "why");
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(delay(10, { signal: ac.signal }), { name: "AbortError" });
    },
  );

  await t.step("bad ms throws RangeError", () => {
    assert.throws(() => delay(-1), /delay ms must be a finite number >= 0, got -1/);
    assert.throws(() => delay(Infinity), RangeError);
    assert.throws(() => delay(NaN), RangeError);
  });
});

Deno.test("withTimeout", async (t) => {
  await t.step(
    "settles like the operation when in time, and clears its timer",
    () =>
      withClock(async (clock) => {
        const ok = track(withTimeout(delay(50).then(() => "v"), 100));
        await clock.tickAsync(50);
        assert.equal(ok.value, "v");
        assert.equal(clock.countTimers(), 0);
        const failing = track(withTimeout(Promise.reject(new Error("inner")), 100));
        await clock.tickAsync(0);
        assert.match(String(failing.error), /inner/);
        assert.equal(clock.countTimers(), 0);
      }),
  );

  await t.step(
    "rejects with TimeoutError at the deadline and aborts the operation's signal",
    () =>
      withClock(async (clock) => {
        let inner: AbortSignal | undefined;
        const s = track(
          withTimeout(
            (signal) => {
              inner = signal;
              return new Promise<never>(() => {});
            },
            200,
            { message: "Echo got no reply within 200 ms; check the cable." },
          ),
        );
        await clock.tickAsync(199);
        assert.equal(s.done, false);
        await clock.tickAsync(1);
        assert.ok(s.error instanceof TimeoutError);
        assert.equal(s.error.name, "TimeoutError");
        assert.equal(s.error.timeoutMs, 200);
        assert.equal(s.error.message, "Echo got no reply within 200 ms; check the cable.");
        assert.equal(inner?.aborted, true);
        assert.equal(inner?.reason, s.error);
      }),
  );

  await t.step("the default message names the budget", () =>
    withClock(async (clock) => {
      const s = track(withTimeout(new Promise<never>(() => {}), 30));
      await clock.tickAsync(30);
      assert.match(
        String((s.error as Error).message),
        /timed out after 30 ms; retry, or allow more time/,
      );
    }));

  await t.step(
    "the caller's abort rejects with its reason and reaches the operation",
    () =>
      withClock(async (clock) => {
        const ac = new AbortController();
        let inner: AbortSignal | undefined;
        const s = track(withTimeout(
          (signal) => {
            inner = signal;
            return new Promise<never>(() => {});
          },
          1000,
          { signal: ac.signal },
        ));
        ac.abort("user cancelled");
        await clock.tickAsync(0);
        assert.equal(s.error, "user cancelled");
        assert.equal(inner?.reason, "user cancelled");
        assert.equal(clock.countTimers(), 0);
      }),
  );

  await t.step(
    "Infinity means no deadline; a throwing operation rejects",
    () =>
      withClock(async (clock) => {
        const s = track(withTimeout(new Promise<never>(() => {}), Infinity));
        assert.equal(clock.countTimers(), 0);
        await clock.tickAsync(1e9);
        assert.equal(s.done, false);
        await assert.rejects(
          withTimeout(() => {
            throw new Error("sync");
          }, 10),
          /sync/,
        );
        assert.equal(clock.countTimers(), 0);
        assert.throws(() => withTimeout(Promise.resolve(1), -5), /timeoutMs must be a number >= 0/);
      }),
  );
});

Deno.test("backoff", async (t) => {
  const take = (it: Iterator<number>, n: number) =>
    Array.from({ length: n }, () => it.next().value);

  await t.step("grows by factor from initialMs and is capped at maxMs", () => {
    assert.deepEqual(take(backoff(), 5), [100, 200, 400, 800, 1600]);
    assert.deepEqual(
      take(backoff({ initialMs: 30_000, factor: 2, maxMs: 300_000 }), 7),
      [30_000, 60_000, 120_000, 240_000, 300_000, 300_000, 300_000],
    );
    assert.deepEqual(take(backoff({ initialMs: 5, factor: 1, maxMs: 5 }), 3), [5, 5, 5]);
  });

  await t.step("jitter is off by default and shortens by at most the fraction when on", () => {
    const values = [0, 0.5, 0.999];
    let i = 0;
    const it = backoff({ initialMs: 100, jitter: 0.5, random: () => values[i++] });
    assert.deepEqual(take(it, 3), [100, 150, 400 * (1 - 0.5 * 0.999)]);
  });

  await t.step("is iterable and bad options throw RangeError", () => {
    let n = 0;
    for (const ms of backoff({ initialMs: 1 })) {
      assert.equal(ms, 2 ** n);
      if (++n === 4) break;
    }
    assert.throws(() => backoff({ initialMs: 0 }), /initialMs must be a finite number > 0, got 0/);
    assert.throws(
      () => backoff({ initialMs: 10, maxMs: 5 }),
      /maxMs must be finite and >= initialMs/,
    );
    assert.throws(() => backoff({ factor: 0.5 }), /factor must be a finite number >= 1/);
    assert.throws(() => backoff({ jitter: 2 }), /jitter must be between 0 and 1/);
  });
});
