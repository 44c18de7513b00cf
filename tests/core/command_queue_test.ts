import assert from "node:assert/strict";
import { resetSync } from "@logtape/logtape";
import {
  type Command,
  CommandQueue,
  CommandTimeoutError,
  isSuperseded,
  QueueClosedError,
  type QueueEvent,
  QueueFullError,
  Superseded,
} from "../../src/core/mod.ts";
import { captureLogs, settle, withClock } from "../_helpers/mod.ts";

/** An executor whose calls are recorded and settled by hand. */
function manual<T = string>() {
  const calls: {
    name: string;
    signal: AbortSignal;
    resolve: (v: T) => void;
    reject: (e: unknown) => void;
  }[] = [];
  let running = 0;
  let maxRunning = 0;
  const executor = (cmd: Command, signal: AbortSignal): Promise<T> => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    calls.push({ name: cmd.name, signal, resolve, reject });
    return promise.finally(() => running--);
  };
  return {
    executor,
    calls,
    names: () => calls.map((c) => c.name),
    get maxRunning() {
      return maxRunning;
    },
  };
}

/** Records the start order and resolves with the command name at once. */
function instant() {
  const order: string[] = [];
  const executor = (cmd: Command): Promise<string> => {
    order.push(cmd.name);
    return Promise.resolve(cmd.name);
  };
  return { executor, order };
}

/** Resolves after `ms` of (fake) time unless aborted. */
function timed(ms: number) {
  return (cmd: Command, signal: AbortSignal): Promise<string> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => resolve(cmd.name), ms);
      signal.addEventListener("abort", () => {
        clearTimeout(t);
        reject(signal.reason);
      }, { once: true });
    });
}

const q = (name: string): Command => ({ name, kind: "query" });
const mv = (name: string, supersedeKey?: string): Command => ({
  name,
  kind: "movement",
  supersedeKey,
});

/** This test's rejection of a command an emergency cancels: the queue leaves it to the caller. */
class Cancelled extends Error {
  constructor(readonly commandName: string) {
    super("cancelled by emergency stop");
  }
}
/** Cancels queued movement, keeps the rest (what the robot layer asks of an e-stop). */
const cancelMovement = (c: Command) => c.kind === "movement" ? new Cancelled(c.name) : undefined;
const cancelNone = () => undefined;

Deno.test("CommandQueue", async (t) => {
  await t.step("runs queued commands by priority: emergency > high > normal > low", async () => {
    const queue = new CommandQueue();
    const { executor, order } = instant();
    const done = [
      queue.enqueue(q("low"), executor, { priority: "low" }),
      queue.enqueue(q("normal"), executor),
      queue.enqueue(q("high"), executor, { priority: "high" }),
      queue.enqueue(q("top"), executor, { priority: "emergency" }),
    ];
    assert.deepEqual(await Promise.all(done), ["low", "normal", "high", "top"]);
    assert.deepEqual(order, ["top", "high", "normal", "low"]);
  });

  await t.step(
    "a later higher-priority command overtakes queued ones, not the running one",
    async () => {
      const queue = new CommandQueue();
      const m = manual();
      const a = queue.enqueue(q("a"), m.executor, { priority: "low" });
      await settle();
      const b = queue.enqueue(q("b"), m.executor, { priority: "low" });
      const c = queue.enqueue(q("c"), m.executor, { priority: "high" });
      await settle();
      assert.deepEqual(m.names(), ["a"]);
      m.calls[0].resolve("A");
      await settle();
      assert.deepEqual(m.names(), ["a", "c"]);
      m.calls[1].resolve("C");
      await settle();
      m.calls[2].resolve("B");
      assert.deepEqual(await Promise.all([a, b, c]), ["A", "B", "C"]);
      assert.deepEqual(m.names(), ["a", "c", "b"]);
    },
  );

  await t.step("is FIFO within a priority", async () => {
    const queue = new CommandQueue();
    const { executor, order } = instant();
    const names = ["n1", "n2", "n3", "n4", "n5", "n6"];
    await Promise.all(names.map((n) => queue.enqueue(q(n), executor)));
    assert.deepEqual(order, names);
  });

  await t.step("runs one command at a time", async () => {
    const queue = new CommandQueue();
    const m = manual();
    const all = ["a", "b", "c"].map((n) => queue.enqueue(q(n), m.executor));
    // Followed at once: "b" rejects while the test lets the queue run.
    const outcomes = Promise.allSettled(all);
    await settle();
    assert.deepEqual(m.names(), ["a"]);
    assert.equal(queue.stats.running, 1);
    assert.equal(queue.stats.runningCommand, "a");
    assert.equal(queue.depth, 2);
    m.calls[0].resolve("1");
    await settle();
    assert.deepEqual(m.names(), ["a", "b"]);
    m.calls[1].reject(new Error("boom"));
    await settle();
    m.calls[2].resolve("3");
    const results = await outcomes;
    assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
    assert.equal(m.maxRunning, 1);
    const s = queue.stats;
    assert.equal(s.outcomes.completed, 2);
    assert.equal(s.outcomes.failed, 1);
    assert.equal(s.running, 0);
  });

  await t.step("shared commands run together, up to maxShared, in order", async () => {
    const queue = new CommandQueue({ maxShared: 2 });
    const m = manual();
    const shared = { shared: true };
    const all = ["s1", "s2", "s3"].map((n) => queue.enqueue(q(n), m.executor, shared));
    await settle();
    assert.deepEqual(m.names(), ["s1", "s2"], "two at once, the third waits for a free place");
    assert.equal(queue.stats.running, 2);
    assert.equal(queue.stats.runningCommand, "s1");
    m.calls[1].resolve("S2");
    await settle();
    assert.deepEqual(m.names(), ["s1", "s2", "s3"]);
    m.calls[0].resolve("S1");
    m.calls[2].resolve("S3");
    assert.deepEqual(await Promise.all(all), ["S1", "S2", "S3"]);
    assert.equal(m.maxRunning, 2);
  });

  await t.step("an ordinary command runs alone: nothing shared passes it either way", async () => {
    const queue = new CommandQueue();
    const m = manual();
    const shared = { shared: true };
    const s1 = queue.enqueue(q("s1"), m.executor, shared);
    const move = queue.enqueue(mv("move"), m.executor);
    const s2 = queue.enqueue(q("s2"), m.executor, shared);
    await settle();
    assert.deepEqual(m.names(), ["s1"], "the ordinary command waits for the shared one");
    m.calls[0].resolve("S1");
    await settle();
    assert.deepEqual(m.names(), ["s1", "move"], "the shared one behind it does not overtake");
    assert.equal(queue.stats.running, 1);
    const high = queue.enqueue(q("high"), m.executor, { shared: true, priority: "high" });
    await settle();
    assert.deepEqual(m.names(), ["s1", "move"], "not beside an ordinary one, whatever priority");
    m.calls[1].resolve("MOVE");
    await settle();
    assert.deepEqual(m.names(), ["s1", "move", "high", "s2"]);
    m.calls[2].resolve("HIGH");
    m.calls[3].resolve("S2");
    assert.deepEqual(await Promise.all([s1, move, s2, high]), ["S1", "MOVE", "S2", "HIGH"]);
  });

  await t.step("emergency overtakes shared commands in flight", async () => {
    const queue = new CommandQueue();
    const m = manual();
    const a = queue.enqueue(q("a"), m.executor, { shared: true });
    const b = queue.enqueue(q("b"), m.executor, { shared: true });
    const drive = queue.enqueue(mv("drive"), m.executor);
    await settle();
    assert.deepEqual(m.names(), ["a", "b"]);
    let started = false;
    const estop = queue.emergency({ name: "estop", kind: "safety" }, () => {
      started = true;
      return Promise.resolve("stopped");
    }, { cancel: cancelMovement });
    assert.equal(started, true);
    await assert.rejects(drive, Cancelled);
    assert.equal(await estop, "stopped");
    m.calls[0].resolve("A");
    m.calls[1].resolve("B");
    assert.deepEqual(await Promise.all([a, b]), ["A", "B"]);
  });

  await t.step("a synchronously throwing executor fails its command only", async () => {
    const queue = new CommandQueue();
    const boom = () => {
      throw new Error("sync boom");
    };
    const { executor, order } = instant();
    const bad = queue.enqueue(q("bad"), boom);
    const good = queue.enqueue(q("good"), executor);
    await assert.rejects(bad, /sync boom/);
    assert.equal(await good, "good");
    assert.deepEqual(order, ["good"]);
  });

  await t.step("the timeout covers waiting plus running", () =>
    withClock(async (clock) => {
      const queue = new CommandQueue();
      const first = queue.enqueue(q("first"), timed(80));
      let signal: AbortSignal | undefined;
      const second = queue.enqueue(q("second"), (cmd, s) => {
        signal = s;
        return timed(1000)(cmd, s);
      }, { timeoutMs: 100 });
      let settled = false;
      second.then(() => (settled = true), () => (settled = true));
      await clock.tickAsync(80);
      assert.equal(await first, "first");
      assert.ok(signal, "second started after first finished");
      await clock.tickAsync(19);
      assert.equal(settled, false, "still running at 99 ms");
      await clock.tickAsync(1);
      const error = await second.then(() => undefined, (e) => e);
      assert.ok(error instanceof CommandTimeoutError);
      assert.equal(error.name, "CommandTimeoutError");
      assert.equal(error.commandName, "second");
      assert.equal(error.timeoutMs, 100);
      assert.equal(error.phase, "running");
      assert.match(error.message, /"second" timed out after 100 ms/);
      assert.equal(signal?.aborted, true, "the running executor gets the abort");
      assert.equal(signal?.reason, error);
      assert.equal(queue.stats.outcomes.timed_out, 1);
    }));

  await t.step(
    "a command that times out while queued never runs",
    () =>
      withClock(async (clock) => {
        const queue = new CommandQueue({ defaultTimeoutMs: 50 });
        const m = manual();
        const blocker = queue.enqueue(q("blocker"), m.executor, { timeoutMs: Infinity });
        const late = queue.enqueue(q("late"), m.executor).then(() => undefined, (e) => e);
        await clock.tickAsync(50);
        const error = await late;
        assert.ok(error instanceof CommandTimeoutError);
        assert.equal(error.phase, "queued");
        assert.equal(error.timeoutMs, 50);
        assert.equal(queue.depth, 0);
        m.calls[0].resolve("ok");
        assert.equal(await blocker, "ok");
        await settle();
        assert.deepEqual(m.names(), ["blocker"]);
      }),
  );

  await t.step(
    "selfTimed: timed only while it waits; a command that starts at once costs no timer",
    () =>
      withClock(async (clock) => {
        const queue = new CommandQueue();
        const m = manual();
        const first = queue.enqueue(q("first"), m.executor, { timeoutMs: 100, selfTimed: true });
        await settle();
        assert.deepEqual(m.names(), ["first"], "started at once");
        assert.equal(clock.countTimers(), 0, "no timer of the queue's for a command that ran");
        // Behind it: they wait, so the queue times them, each from its own enqueue.
        await clock.tickAsync(40);
        let secondSettled = false;
        const second = queue.enqueue(q("second"), m.executor, { timeoutMs: 100, selfTimed: true })
          .then(() => undefined, (e) => e).finally(() => (secondSettled = true));
        await clock.tickAsync(20);
        const third = queue.enqueue(q("third"), m.executor, { timeoutMs: 100, selfTimed: true });
        await settle();
        assert.equal(clock.countTimers(), 2, "the two waiting ones are timed");
        await clock.tickAsync(79);
        assert.equal(secondSettled, false, "still waiting at 99 ms of its budget");
        await clock.tickAsync(1);
        const error = await second;
        assert.ok(error instanceof CommandTimeoutError);
        assert.equal(error.phase, "queued");
        assert.equal(error.timeoutMs, 100);
        // The first is running past its budget: the queue left its time to it.
        assert.equal(m.calls[0].signal.aborted, false);
        m.calls[0].resolve("done");
        assert.equal(await first, "done");
        await settle();
        assert.deepEqual(m.names(), ["first", "third"], "the third started in its budget");
        assert.equal(clock.countTimers(), 0, "its wait timer went when it started");
        await clock.tickAsync(1000);
        assert.equal(m.calls[1].signal.aborted, false, "and the queue does not time it out");
        m.calls[1].resolve("ok");
        assert.equal(await third, "ok");
      }),
  );

  await t.step("a full queue rejects at once with QueueFullError and drops nothing", async () => {
    const queue = new CommandQueue({ capacity: 3 });
    const m = manual();
    const running = queue.enqueue(q("running"), m.executor);
    await settle();
    const queued = ["a", "b", "c"].map((n) => queue.enqueue(q(n), m.executor));
    assert.equal(queue.depth, 3);
    const error = await queue.enqueue(q("overflow"), m.executor).then(() => undefined, (e) => e);
    assert.ok(error instanceof QueueFullError);
    assert.equal(error.capacity, 3);
    assert.equal(error.depth, 3);
    assert.equal(error.commandName, "overflow");
    assert.match(error.message, /full \(3 of 3 queued\); "overflow" was refused\. Wait/);
    assert.equal(queue.stats.outcomes.rejected_full, 1);
    // Every accepted command still runs.
    for (let i = 0; i < 4; i++) {
      m.calls[i].resolve(m.calls[i].name);
      await settle();
    }
    assert.deepEqual(await Promise.all([running, ...queued]), ["running", "a", "b", "c"]);
    assert.equal(queue.stats.outcomes.completed, 4);
  });

  await t.step("the default capacity is 100", async () => {
    const queue = new CommandQueue();
    const m = manual();
    const blocker = queue.enqueue(q("blocker"), m.executor);
    await settle();
    const queued = Array.from({ length: 100 }, (_, i) => queue.enqueue(q(`c${i}`), m.executor));
    await assert.rejects(queue.enqueue(q("c100"), m.executor), QueueFullError);
    queue.close("test over");
    await assert.rejects(blocker, QueueClosedError);
    const results = await Promise.allSettled(queued);
    assert.ok(
      results.every((r) => r.status === "rejected" && r.reason instanceof QueueClosedError),
    );
  });

  await t.step("aborting a queued command removes it; it never runs", async () => {
    const queue = new CommandQueue();
    const m = manual();
    const blocker = queue.enqueue(q("blocker"), m.executor);
    const ac = new AbortController();
    const victim = queue.enqueue(q("victim"), m.executor, { signal: ac.signal });
    const after = queue.enqueue(q("after"), m.executor);
    await settle();
    const reason = new Error("user cancelled");
    ac.abort(reason);
    await assert.rejects(victim, (e) => e === reason);
    assert.equal(queue.depth, 1);
    m.calls[0].resolve("b");
    await settle();
    m.calls[1].resolve("a");
    assert.deepEqual(await Promise.all([blocker, after]), ["b", "a"]);
    assert.deepEqual(m.names(), ["blocker", "after"]);
    assert.equal(queue.stats.outcomes.cancelled, 1);
  });

  await t.step("aborting a running command aborts its executor and moves on", async () => {
    const queue = new CommandQueue();
    const m = manual();
    const ac = new AbortController();
    const running = queue.enqueue(q("running"), m.executor, { signal: ac.signal });
    const next = queue.enqueue(q("next"), m.executor);
    await settle();
    const reason = new Error("stop it");
    ac.abort(reason);
    assert.equal(m.calls[0].signal.aborted, true);
    assert.equal(m.calls[0].signal.reason, reason);
    await assert.rejects(running, (e) => e === reason);
    await settle();
    assert.deepEqual(m.names(), ["running", "next"]);
    m.calls[0].reject(reason); // a late settlement of the aborted executor is ignored
    m.calls[1].resolve("n");
    assert.equal(await next, "n");
    assert.equal(queue.stats.outcomes.cancelled, 1);
    assert.equal(queue.stats.outcomes.failed, 0);
  });

  await t.step("an already aborted signal rejects at once", async () => {
    const queue = new CommandQueue();
    const { executor, order } = instant();
    const reason = new Error("too late");
    await assert.rejects(
      queue.enqueue(q("x"), executor, { signal: AbortSignal.abort(reason) }),
      (e) => e === reason,
    );
    assert.deepEqual(order, []);
  });

  await t.step("emergency runs at once while a command awaits its reply", async () => {
    const queue = new CommandQueue();
    const m = manual();
    const inFlight = queue.enqueue(q("get_battery_percentage"), m.executor);
    await settle();
    assert.deepEqual(m.names(), ["get_battery_percentage"]);
    let started = false;
    const estop = queue.emergency({ name: "estop", kind: "safety" }, () => {
      started = true;
      return Promise.resolve("stopped");
    }, { cancel: cancelMovement });
    assert.equal(started, true, "the executor ran synchronously inside emergency()");
    assert.equal(await estop, "stopped");
    m.calls[0].resolve("87");
    assert.equal(await inFlight, "87", "the in-flight command is left to finish");
    assert.equal(queue.stats.emergencies, 1);
  });

  await t.step("emergency rejects what its cancel picks; the others survive", async () => {
    const queue = new CommandQueue();
    const m = manual();
    const events: QueueEvent[] = [];
    queue.addListener((e) => events.push(e));
    const inFlight = queue.enqueue(mv("drive_in_flight"), m.executor);
    await settle();
    const drive1 = queue.enqueue(mv("drive1"), m.executor);
    const query = queue.enqueue(q("get_battery_percentage"), m.executor);
    const leds = queue.enqueue({ name: "set_all_leds", kind: "io" }, m.executor, {
      priority: "low",
    });
    const picked = queue.enqueue(
      { name: "reset_locator", kind: "config" },
      m.executor,
      { priority: "high" },
    );
    // The caller decides by anything it likes (here a config command too), and with what error.
    const asked: string[] = [];
    const given = new Map<string, Error>();
    const cancel = (c: Command) => {
      asked.push(c.name);
      const error = c.kind === "movement" || c.name === "reset_locator"
        ? new Cancelled(c.name)
        : undefined;
      if (error) given.set(c.name, error);
      return error;
    };
    const estop = queue.emergency(
      { name: "estop", kind: "safety" },
      () => Promise.resolve("ok"),
      { cancel },
    );
    assert.deepEqual(
      asked,
      ["reset_locator", "drive1", "get_battery_percentage", "set_all_leds"],
      "asked once about each queued command, in line order, never about the running one",
    );
    for (const [p, name] of [[drive1, "drive1"], [picked, "reset_locator"]] as const) {
      const error = await p.then(() => undefined, (e) => e);
      assert.ok(error instanceof Cancelled);
      assert.equal(error, given.get(name), "rejected with the very error cancel returned");
      assert.equal(error.message, "cancelled by emergency stop");
      assert.equal(error.commandName, name);
    }
    assert.equal(await estop, "ok");
    assert.equal(queue.depth, 2);
    assert.equal(queue.stats.outcomes.emergency_cancelled, 2);
    m.calls[0].resolve("done");
    assert.equal(await inFlight, "done");
    await settle();
    m.calls[1].resolve("90");
    await settle();
    m.calls[2].resolve("lit");
    assert.deepEqual(await Promise.all([query, leds]), ["90", "lit"]);
    assert.deepEqual(m.names(), ["drive_in_flight", "get_battery_percentage", "set_all_leds"]);
    const started = events.filter((e) => e.type === "started").map((e) => e.command.name);
    assert.deepEqual(started, [
      "drive_in_flight",
      "estop",
      "get_battery_percentage",
      "set_all_leds",
    ]);
  });

  await t.step("emergency is never refused: full or closed queue", async () => {
    const queue = new CommandQueue({ capacity: 1 });
    const m = manual();
    const blocker = queue.enqueue(q("blocker"), m.executor);
    await settle();
    const queued = queue.enqueue(q("queued"), m.executor);
    assert.equal(
      await queue.emergency({ name: "estop", kind: "safety" }, () => Promise.resolve(1), {
        cancel: cancelMovement,
      }),
      1,
    );
    queue.close("shutting down");
    await assert.rejects(blocker, QueueClosedError);
    await assert.rejects(queued, QueueClosedError);
    assert.equal(
      await queue.emergency({ name: "estop", kind: "safety" }, () => Promise.resolve(2), {
        cancel: cancelMovement,
      }),
      2,
    );
  });

  await t.step("emergency needs a cancel; it throws before anything runs", async () => {
    const queue = new CommandQueue();
    const m = manual();
    const queued = queue.enqueue(mv("drive"), m.executor);
    let ran = false;
    const run = () => {
      ran = true;
      return Promise.resolve("stopped");
    };
    for (const options of [undefined, {}, { cancel: "movement" }]) {
      assert.throws(
        () => queue.emergency({ name: "estop", kind: "safety" }, run, options as never),
        (e: unknown) =>
          e instanceof TypeError &&
          /"estop" needs options\.cancel, \(command\) => Error \| undefined.*got (undefined|string)\. Pass \(\) => undefined to cancel none\./
            .test(e.message),
      );
    }
    assert.equal(ran, false);
    assert.equal(queue.stats.emergencies, 0);
    assert.equal(queue.depth, 1, "the queued command is untouched");
    await settle();
    m.calls[0].resolve("moved");
    assert.equal(await queued, "moved");
  });

  await t.step("a cancel that throws or returns a non-error still cancels, logged", async () => {
    const records = captureLogs(["rvr", "core"]);
    try {
      const queue = new CommandQueue();
      const m = manual();
      const blocker = queue.enqueue(q("blocker"), m.executor);
      await settle();
      const thrownAt = queue.enqueue(mv("drive1"), m.executor);
      const oddAt = queue.enqueue(mv("drive2"), m.executor);
      const kept = queue.enqueue(q("get_battery_percentage"), m.executor);
      const bug = new Error("cancel bug");
      const estop = queue.emergency({ name: "estop", kind: "safety" }, () => Promise.resolve(1), {
        cancel: (c) => {
          if (c.name === "drive1") throw bug;
          return (c.name === "drive2" ? true : undefined) as Error | undefined;
        },
      });
      assert.equal(await estop, 1);
      assert.equal(await thrownAt.then(() => undefined, (e) => e), bug);
      const odd = await oddAt.then(() => undefined, (e) => e);
      assert.ok(odd instanceof TypeError);
      assert.match(
        odd.message,
        /cancel of emergency command "estop" returned true for "drive2"; return an Error to reject it or undefined to keep it\./,
      );
      assert.equal(queue.stats.outcomes.emergency_cancelled, 2);
      const errors = records.filter((r) => r.level === "error");
      assert.deepEqual(errors.map((r) => r.properties.command), ["drive1", "drive2"]);
      assert.deepEqual(errors.map((r) => r.properties.error), [bug, odd]);
      m.calls[0].resolve("b");
      assert.equal(await blocker, "b");
      await settle();
      m.calls[1].resolve("87");
      assert.equal(await kept, "87");
      assert.deepEqual(m.names(), ["blocker", "get_battery_percentage"]);
    } finally {
      resetSync();
    }
  });

  await t.step("emergency has its own timeout", () =>
    withClock(async (clock) => {
      const queue = new CommandQueue();
      const p = queue.emergency({ name: "estop", kind: "safety" }, timed(1000), {
        timeoutMs: 200,
        cancel: cancelNone,
      }).then(() => undefined, (e) => e);
      await clock.tickAsync(200);
      const error = await p;
      assert.ok(error instanceof CommandTimeoutError);
      assert.equal(error.commandName, "estop");
      assert.equal(error.timeoutMs, 200);
      assert.equal(queue.stats.running, 0);
    }));

  await t.step("a newer command supersedes a queued one with the same key", async () => {
    const queue = new CommandQueue();
    const m = manual();
    const running = queue.enqueue(mv("drive0", "drive"), m.executor);
    await settle();
    const d1 = queue.enqueue(mv("drive1", "drive"), m.executor);
    const other = queue.enqueue(q("other"), m.executor);
    const d2 = queue.enqueue(mv("drive2", "drive"), m.executor);
    const r1 = await d1;
    assert.ok(isSuperseded(r1));
    assert.ok(r1 instanceof Superseded);
    assert.equal(r1.superseded, true);
    assert.equal(r1.commandName, "drive1");
    assert.equal(r1.byCommandName, "drive2");
    assert.equal(r1.supersedeKey, "drive");
    assert.equal(queue.depth, 2, "depth did not grow");
    // The running one with the same key is not superseded.
    m.calls[0].resolve("d0");
    assert.equal(await running, "d0");
    await settle();
    // drive2 took drive1's place in line, ahead of "other".
    assert.deepEqual(m.names(), ["drive0", "drive2"]);
    m.calls[1].resolve("d2");
    await settle();
    m.calls[2].resolve("o");
    assert.equal(await d2, "d2");
    assert.equal(await other, "o");
    assert.equal(queue.stats.outcomes.superseded, 1);
  });

  await t.step("a burst of steering updates leaves one queued command", async () => {
    const queue = new CommandQueue({ capacity: 2 });
    const m = manual();
    const blocker = queue.enqueue(q("blocker"), m.executor);
    await settle();
    const burst = Array.from(
      { length: 50 },
      (_, i) => queue.enqueue(mv(`drive${i}`, "drive"), m.executor),
    );
    assert.equal(queue.depth, 1);
    const filler = queue.enqueue(q("filler"), m.executor);
    // Full now, but a superseding command replaces rather than grows.
    burst.push(queue.enqueue(mv("drive50", "drive"), m.executor));
    assert.equal(queue.depth, 2);
    const results = await Promise.all(burst.slice(0, 50));
    assert.ok(results.every(isSuperseded));
    m.calls[0].resolve("b");
    await settle();
    assert.equal(await blocker, "b");
    assert.deepEqual(m.names(), ["blocker", "drive50"]);
    queue.close("done");
    await assert.rejects(burst[50], QueueClosedError);
    await assert.rejects(filler, QueueClosedError);
  });

  await t.step("supersession across priorities moves the command to its own lane", async () => {
    const queue = new CommandQueue();
    const { executor, order } = instant();
    const m = manual();
    const blocker = queue.enqueue(q("blocker"), m.executor);
    await settle();
    const low = queue.enqueue(mv("d_low", "drive"), executor, { priority: "low" });
    const other = queue.enqueue(q("other"), executor);
    const high = queue.enqueue(mv("d_high", "drive"), executor, { priority: "high" });
    assert.ok(isSuperseded(await low));
    m.calls[0].resolve("x");
    assert.equal(await blocker, "x");
    assert.equal(await high, "d_high");
    assert.equal(await other, "other");
    assert.deepEqual(order, ["d_high", "other"]);
  });

  await t.step("close rejects queued and running commands and refuses new ones", async () => {
    const queue = new CommandQueue();
    const m = manual();
    const running = queue.enqueue(q("running"), m.executor);
    await settle();
    const queued = queue.enqueue(q("queued"), m.executor);
    queue.close("robot disconnected");
    queue.close("again"); // idempotent
    assert.equal(m.calls[0].signal.aborted, true);
    for (const p of [running, queued]) {
      const error = await p.then(() => undefined, (e) => e);
      assert.ok(error instanceof QueueClosedError);
      assert.equal(error.reason, "robot disconnected");
    }
    const error = await queue.enqueue(q("new"), m.executor).then(() => undefined, (e) => e);
    assert.ok(error instanceof QueueClosedError);
    assert.match(
      error.message,
      /"new" was not completed: the command queue is closed \(robot disconnected\)/,
    );
    assert.equal(queue.stats.closed, true);
    assert.equal(queue.stats.outcomes.closed, 2);
    assert.equal(queue.stats.outcomes.rejected_closed, 1);
  });

  await t.step(
    "stats and events report depth, wait and run durations",
    () =>
      withClock(async (clock) => {
        const events: QueueEvent[] = [];
        const queue = new CommandQueue({ onEvent: (e) => events.push(e) });
        const a = queue.enqueue(q("a"), timed(30));
        const b = queue.enqueue(q("b"), timed(20), { priority: "low" });
        assert.deepEqual(queue.stats.depthByPriority, { emergency: 0, high: 0, normal: 1, low: 1 });
        assert.equal(queue.stats.peakDepth, 2);
        await clock.tickAsync(50);
        assert.deepEqual(await Promise.all([a, b]), ["a", "b"]);
        const finished = events.filter((e) => e.type === "finished");
        assert.deepEqual(
          finished.map((e) => [e.command.name, e.outcome, e.waitMs, e.runMs]),
          [["a", "completed", 0, 30], ["b", "completed", 30, 20]],
        );
        const started = events.filter((e) => e.type === "started");
        assert.deepEqual(started.map((e) => [e.command.name, e.waitMs]), [["a", 0], ["b", 30]]);
        const enqueued = events.filter((e) => e.type === "enqueued");
        assert.deepEqual(enqueued.map((e) => e.depth), [1, 2]);
        const s = queue.stats;
        assert.equal(s.enqueued, 2);
        assert.equal(s.depth, 0);
        assert.equal(s.outcomes.completed, 2);
      }),
  );

  await t.step("a throwing listener is counted and does not disturb the queue", async () => {
    const queue = new CommandQueue();
    const remove = queue.addListener(() => {
      throw new Error("listener bug");
    });
    const { executor } = instant();
    assert.equal(await queue.enqueue(q("a"), executor), "a");
    assert.ok(queue.stats.listenerErrors >= 3);
    remove();
    const before = queue.stats.listenerErrors;
    await queue.enqueue(q("b"), executor);
    assert.equal(queue.stats.listenerErrors, before);
  });

  await t.step("bad arguments throw at once with a clear error", () => {
    assert.throws(
      () => new CommandQueue({ capacity: 0 }),
      /capacity must be an integer >= 1, got 0/,
    );
    assert.throws(() => new CommandQueue({ defaultTimeoutMs: -1 }), RangeError);
    assert.throws(() => new CommandQueue({ maxShared: 0 }), /maxShared must be an integer >= 1/);
    const queue = new CommandQueue();
    const { executor } = instant();
    assert.throws(
      () => queue.enqueue({ name: "x", kind: "moving" as "movement" }, executor),
      /kind moving; use one of movement/,
    );
    assert.throws(() => queue.enqueue({ name: "", kind: "query" }, executor), TypeError);
    assert.throws(
      () => queue.enqueue(q("x"), executor, { priority: "urgent" as "high" }),
      /priority urgent; use one of emergency, high, normal, low/,
    );
    assert.throws(
      () => queue.enqueue(q("x"), executor, { timeoutMs: 0 }),
      /timeoutMs of command "x"/,
    );
    assert.throws(
      () => queue.enqueue(q("x"), "nope" as unknown as typeof executor),
      /executor function/,
    );
    assert.throws(() => queue.enqueue(mv("x", ""), executor), /supersedeKey/);
  });
});
