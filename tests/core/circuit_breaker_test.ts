import assert from "node:assert/strict";
import {
  CircuitBreaker,
  CircuitOpenError,
  type CircuitState,
  type CircuitTransition,
  TimeoutError,
} from "../../src/core/mod.ts";
import { settle, withClock } from "../_helpers/mod.ts";

const fail = (message = "no reply") => () => Promise.reject(new Error(message));
const ok = <T>(value: T) => () => Promise.resolve(value);

async function failTimes(breaker: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await assert.rejects(breaker.execute(fail(`failure ${i + 1}`)));
}

/** A probe whose calls are settled by hand. */
function manualProbe() {
  const calls: { signal: AbortSignal; resolve: () => void; reject: (e: unknown) => void }[] = [];
  const probe = (signal: AbortSignal): Promise<unknown> => {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    calls.push({ signal, resolve, reject });
    return promise;
  };
  return { probe, calls };
}

/** The state, read through a call so earlier assertions do not narrow its type. */
function stateOf(breaker: CircuitBreaker): CircuitState {
  return breaker.state;
}

Deno.test("CircuitBreaker", async (t) => {
  await t.step(
    "opens after 5 consecutive failures (default); a success resets the count",
    () =>
      withClock(async () => {
        const transitions: CircuitTransition[] = [];
        const breaker = new CircuitBreaker({
          name: "link",
          onTransition: (tr) => transitions.push(tr),
        });
        try {
          await failTimes(breaker, 4);
          assert.equal(breaker.stats.consecutiveFailures, 4);
          assert.equal(await breaker.execute(ok(1)), 1);
          assert.equal(breaker.stats.consecutiveFailures, 0);
          await failTimes(breaker, 4);
          assert.equal(breaker.state.name, "closed");
          await failTimes(breaker, 1);
          assert.equal(breaker.state.name, "open");
          assert.equal(transitions.length, 1);
          assert.equal(transitions[0].from, "closed");
          assert.equal(transitions[0].to, "open");
          assert.match(transitions[0].reason, /^5 consecutive failures; last: Error: failure 1$/);
          assert.equal(breaker.stats.failures, 9);
          assert.equal(breaker.stats.opens, 1);
        } finally {
          breaker.dispose();
        }
      }),
  );

  await t.step(
    "while open, execute fails at once with CircuitOpenError carrying retryInMs",
    () =>
      withClock(async (clock) => {
        const breaker = new CircuitBreaker({ name: "link" });
        try {
          await failTimes(breaker, 5);
          let called = false;
          const run = () => breaker.execute(() => (called = true, Promise.resolve()));
          let error = await run().then(() => undefined, (e) => e);
          assert.ok(error instanceof CircuitOpenError);
          assert.equal(error.retryInMs, 30_000);
          assert.equal(error.nextProbeAt, 30_000);
          await clock.tickAsync(10_000);
          error = await run().then(() => undefined, (e) => e);
          assert.ok(error instanceof CircuitOpenError);
          assert.equal(error.retryInMs, 20_000);
          assert.match(
            error.message,
            /^Circuit "link" is open \(5 consecutive failures; last: Error: failure 5\); the next probe is in 20000 ms \(at 1970-01-01T00:00:30\.000Z\)\. Retry after that/,
          );
          assert.equal(called, false);
          assert.equal(breaker.stats.rejected, 2);
        } finally {
          breaker.dispose();
        }
      }),
  );

  await t.step("the failure predicate decides what counts", () =>
    withClock(async () => {
      class RobotAnswered extends Error {}
      const breaker = new CircuitBreaker({ isFailure: (e) => !(e instanceof RobotAnswered) });
      try {
        for (let i = 0; i < 10; i++) {
          await assert.rejects(
            breaker.execute(() => Promise.reject(new RobotAnswered("bad param"))),
          );
        }
        assert.equal(breaker.state.name, "closed");
        await failTimes(breaker, 4);
        await assert.rejects(breaker.execute(() => Promise.reject(new RobotAnswered("x"))));
        assert.equal(breaker.stats.consecutiveFailures, 0, "a non-failure error resets the count");
        assert.equal(breaker.stats.successes, 11);
      } finally {
        breaker.dispose();
      }
    }));

  await t.step(
    "half-open runs exactly one probe; success closes",
    () =>
      withClock(async (clock) => {
        const transitions: CircuitTransition[] = [];
        const { probe, calls } = manualProbe();
        const breaker = new CircuitBreaker({ probe, onTransition: (tr) => transitions.push(tr) });
        try {
          await failTimes(breaker, 5);
          await clock.tickAsync(29_999);
          assert.equal(calls.length, 0);
          await clock.tickAsync(1);
          assert.equal(calls.length, 1);
          assert.deepEqual(breaker.state, { name: "half_open", since: 30_000, probing: true });
          // Other calls fail fast while the probe runs; no second probe.
          const error = await breaker.execute(ok(1)).then(() => undefined, (e) => e);
          assert.ok(error instanceof CircuitOpenError);
          assert.equal(error.retryInMs, 5000, "until the probe's deadline");
          assert.match(
            error.message,
            /probing whether the link recovered\); a probe is running and decides within 5000 ms/,
          );
          await clock.tickAsync(1000);
          assert.equal(calls.length, 1);
          calls[0].resolve();
          await settle();
          assert.equal(breaker.state.name, "closed");
          assert.equal(await breaker.execute(ok("back")), "back");
          assert.deepEqual(
            transitions.map((tr) => [tr.from, tr.to, tr.reason]),
            [
              ["closed", "open", "5 consecutive failures; last: Error: failure 5"],
              ["open", "half_open", "open for 30000 ms; probing"],
              ["half_open", "closed", "probe succeeded"],
            ],
          );
          assert.equal(breaker.stats.probesSucceeded, 1);
        } finally {
          breaker.dispose();
        }
      }),
  );

  await t.step(
    "a failed probe re-opens with the open time doubled up to the cap; success resets",
    () =>
      withClock(async (clock) => {
        const { probe, calls } = manualProbe();
        const opens: number[] = [];
        const breaker = new CircuitBreaker({
          probe,
          onTransition: (tr) => {
            if (tr.state.name === "open") opens.push(tr.state.openMs);
          },
        });
        try {
          await failTimes(breaker, 5);
          for (let i = 0; i < 5; i++) {
            const state = stateOf(breaker);
            assert.equal(state.name, "open");
            await clock.tickAsync(state.openMs);
            calls[calls.length - 1].reject(new Error("echo lost"));
            await settle();
          }
          assert.deepEqual(opens, [30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
          const s = stateOf(breaker);
          assert.equal(s.name, "open");
          assert.equal(s.opens, 6);
          assert.equal(s.reason, "probe failed: Error: echo lost");
          assert.equal(breaker.stats.probesFailed, 5);
          await clock.tickAsync(300_000);
          calls[calls.length - 1].resolve();
          await settle();
          assert.equal(breaker.state.name, "closed");
          await failTimes(breaker, 5);
          assert.equal(opens.at(-1), 30_000, "backoff reset after closing");
        } finally {
          breaker.dispose();
        }
      }),
  );

  await t.step(
    "a probe that never answers times out and counts as a failure",
    () =>
      withClock(async (clock) => {
        const { probe, calls } = manualProbe();
        const breaker = new CircuitBreaker({ probe, openMs: 1000, probeTimeoutMs: 500 });
        try {
          await failTimes(breaker, 5);
          await clock.tickAsync(1000);
          assert.equal(calls.length, 1);
          await clock.tickAsync(500);
          assert.equal(calls[0].signal.aborted, true);
          assert.ok(calls[0].signal.reason instanceof TimeoutError);
          const s = stateOf(breaker);
          assert.equal(s.name, "open");
          assert.equal(s.openMs, 2000);
          assert.match(
            s.reason,
            /probe failed: TimeoutError: Probe of circuit "circuit" got no answer within 500 ms/,
          );
        } finally {
          breaker.dispose();
        }
      }),
  );

  await t.step(
    "without a probe function the first call after the open time is the probe",
    () =>
      withClock(async (clock) => {
        const breaker = new CircuitBreaker({ openMs: 1000 });
        try {
          await failTimes(breaker, 5);
          await clock.tickAsync(1000);
          assert.deepEqual(breaker.state, { name: "half_open", since: 1000, probing: false });
          const { promise, resolve } = Promise.withResolvers<string>();
          const probeCall = breaker.execute(() => promise);
          await assert.rejects(breaker.execute(ok("second")), CircuitOpenError);
          resolve("first");
          assert.equal(await probeCall, "first");
          assert.equal(breaker.state.name, "closed");
          // A failing probe call re-opens and its error reaches the caller.
          await failTimes(breaker, 5);
          const reopened = stateOf(breaker);
          assert.equal(reopened.name, "open");
          assert.equal(reopened.openMs, 1000, "the close reset the backoff");
          await clock.tickAsync(1000);
          await assert.rejects(breaker.execute(fail("still down")), /still down/);
          const s = stateOf(breaker);
          assert.equal(s.name, "open");
          assert.equal(s.openMs, 2000);
          assert.equal(s.reason, "probe failed: Error: still down");
        } finally {
          breaker.dispose();
        }
      }),
  );

  await t.step("bypass runs while open and records nothing", () =>
    withClock(async () => {
      const breaker = new CircuitBreaker();
      try {
        await failTimes(breaker, 5);
        assert.equal(await breaker.bypass(ok("estop sent")), "estop sent");
        await assert.rejects(breaker.bypass(fail("wire down")), /wire down/);
        assert.equal(breaker.state.name, "open");
        assert.equal(breaker.stats.bypassed, 2);
        assert.equal(breaker.stats.failures, 5);
      } finally {
        breaker.dispose();
      }
    }));

  await t.step(
    "outcomes of calls that straddle a transition are ignored",
    () =>
      withClock(async () => {
        const breaker = new CircuitBreaker();
        try {
          const { promise, resolve } = Promise.withResolvers<string>();
          const slow = breaker.execute(() => promise);
          await failTimes(breaker, 5);
          resolve("late success");
          assert.equal(await slow, "late success");
          assert.equal(breaker.state.name, "open", "a late success does not close the circuit");
          assert.equal(breaker.stats.stale, 1);
        } finally {
          breaker.dispose();
        }
      }),
  );

  await t.step(
    "reset closes at once; a throwing listener is counted only",
    () =>
      withClock(async (clock) => {
        const breaker = new CircuitBreaker({
          onTransition: () => {
            throw new Error("listener bug");
          },
        });
        try {
          await failTimes(breaker, 5);
          breaker.reset("reconnected");
          assert.equal(breaker.state.name, "closed");
          await clock.tickAsync(60_000); // the cleared open timer never fires
          assert.equal(breaker.state.name, "closed");
          assert.equal(breaker.stats.listenerErrors, 2);
          assert.equal(await breaker.execute(ok(7)), 7);
        } finally {
          breaker.dispose();
        }
      }),
  );

  await t.step(
    "dispose aborts a running probe and leaves no timer behind",
    () =>
      withClock(async (clock) => {
        const { probe, calls } = manualProbe();
        const breaker = new CircuitBreaker({ probe, openMs: 100 });
        await failTimes(breaker, 5);
        await clock.tickAsync(100);
        assert.equal(calls.length, 1);
        breaker.dispose();
        assert.equal(calls[0].signal.aborted, true);
        await settle();
        assert.equal(clock.countTimers(), 0);
        assert.equal(breaker.stats.stale, 1, "the aborted probe's outcome is ignored");
        const opened = new CircuitBreaker({ openMs: 100 });
        await failTimes(opened, 5);
        assert.equal(clock.countTimers(), 1);
        opened.dispose();
        assert.equal(clock.countTimers(), 0);
      }),
  );

  await t.step("bad options throw a clear RangeError", () => {
    assert.throws(
      () => new CircuitBreaker({ failureThreshold: 0 }),
      /failureThreshold must be an integer >= 1, got 0/,
    );
    assert.throws(
      () => new CircuitBreaker({ openMs: -5 }),
      /openMs must be a finite number > 0, got -5/,
    );
    assert.throws(
      () => new CircuitBreaker({ openMs: 1000, maxOpenMs: 10 }),
      /maxOpenMs must be finite and >= openMs/,
    );
    assert.throws(() => new CircuitBreaker({ backoffFactor: 0.5 }), /backoffFactor/);
  });
});
