import assert from "node:assert/strict";
import { EventBus, IllegalTransitionError } from "../../src/core/mod.ts";
import { withClock } from "../_helpers/mod.ts";
import {
  CONNECTION_STATUSES,
  CONNECTION_TRANSITIONS,
  type ConnectionStatus,
  type StateChange,
  StateStore,
} from "../../src/robot/mod.ts";

/** Fake wall time starts at 1 000 000 ms: the timestamps asserted below count from there. */
const START = { now: 1_000_000 };

Deno.test("StateStore", async (t) => {
  await t.step("starts disconnected, power unknown, safe, not streaming", () => {
    const state = new StateStore();
    assert.equal(state.connection.status, "disconnected");
    assert.equal(state.connection.attempt, 0);
    assert.equal(state.power.status, "unknown");
    assert.equal(state.safety.estopLatched, false);
    assert.equal(state.safety.batteryState, "unknown");
    assert.equal(state.safety.batteryCritical, false);
    assert.deepEqual(state.sensors.activeStreams, []);
    assert.ok(Object.isFrozen(state.snapshot));
  });

  await t.step(
    "every pair outside the table throws IllegalTransitionError naming from, to, allowed",
    () => {
      // Walk to each status along legal paths, then try every target.
      const pathTo: Record<ConnectionStatus, ConnectionStatus[]> = {
        disconnected: [],
        connecting: ["connecting"],
        connected: ["connecting", "connected"],
        reconnecting: ["connecting", "connected", "reconnecting"],
        error: ["connecting", "error"],
      };
      let legal = 0;
      let illegal = 0;
      for (const from of CONNECTION_STATUSES) {
        for (const to of CONNECTION_STATUSES) {
          const state = new StateStore();
          for (const step of pathTo[from]) state.transition(step);
          assert.equal(state.connection.status, from);
          const allowed = CONNECTION_TRANSITIONS[from];
          if (allowed.includes(to)) {
            assert.equal(state.canTransition(to), true);
            state.transition(to);
            assert.equal(state.connection.status, to);
            legal++;
          } else {
            assert.equal(state.canTransition(to), false);
            const error = (() => {
              try {
                state.transition(to);
              } catch (e) {
                return e;
              }
              return undefined;
            })();
            assert.ok(error instanceof IllegalTransitionError, `${from} -> ${to} must throw`);
            assert.equal(error.from, from);
            assert.equal(error.to, to);
            assert.deepEqual(error.allowed, allowed);
            assert.ok(error.message.includes(`"${from}" -> "${to}"`));
            for (const target of allowed) assert.ok(error.message.includes(`"${target}"`));
            assert.equal(state.connection.status, from, "state unchanged");
            illegal++;
          }
        }
      }
      assert.equal(legal, 14);
      assert.equal(illegal, 11);
    },
  );

  await t.step("the message of an illegal transition says what to do", () => {
    const state = new StateStore();
    assert.throws(
      () => state.transition("connected"),
      {
        name: "IllegalTransitionError",
        message:
          'Illegal connection transition "disconnected" -> "connected"; from "disconnected" the allowed targets are "connecting". Go through one of those states first.',
      },
    );
    assert.throws(
      () => state.transition("flying" as ConnectionStatus),
      /Unknown connection status flying/,
    );
  });

  await t.step(
    "changes are published with previous, next, timestamps and reason",
    () =>
      withClock((clock) => {
        const changes: StateChange[] = [];
        const state = new StateStore({ onChange: (c) => changes.push(c) });
        state.transition("connecting", { reason: "opening /dev/serial0" });
        clock.tick(250);
        state.transition("connected");
        clock.tick(10_000);
        assert.equal(state.connectedForMs(), 10_000);
        assert.deepEqual(
          changes.map((c) => [c.aspect, c.previous, c.next, c.at, c.reason]),
          [
            [
              "connection",
              {
                status: "disconnected",
                enteredAt: 1_000_000,
                reason: null,
                attempt: 0,
                error: null,
              },
              {
                status: "connecting",
                enteredAt: 1_000_000,
                reason: "opening /dev/serial0",
                attempt: 0,
                error: null,
              },
              1_000_000,
              "opening /dev/serial0",
            ],
            [
              "connection",
              {
                status: "connecting",
                enteredAt: 1_000_000,
                reason: "opening /dev/serial0",
                attempt: 0,
                error: null,
              },
              { status: "connected", enteredAt: 1_000_250, reason: null, attempt: 0, error: null },
              1_000_250,
              null,
            ],
          ],
        );
        state.transition("reconnecting", { error: new Error("read failed") });
        assert.equal(state.connectedForMs(), 0);
        assert.equal(state.stats.changes.connection, 3);
      }, START),
  );

  await t.step("reconnect attempts count up and reset", () => {
    const state = new StateStore();
    state.transition("connecting");
    state.transition("connected");
    assert.equal(state.transition("reconnecting").attempt, 1);
    assert.equal(state.transition("reconnecting").attempt, 2);
    assert.equal(state.transition("reconnecting").attempt, 3);
    assert.equal(state.transition("connected").attempt, 0);
    state.transition("error", { error: new Error("port vanished") });
    assert.equal(state.connection.error, "port vanished");
    const r = state.transition("reconnecting");
    assert.equal(r.attempt, 1);
    assert.equal(r.error, "port vanished", "the error that led to the reconnect is kept");
  });

  await t.step(
    "power, safety and sensor changes are published; no-ops are not",
    () =>
      withClock((clock) => {
        const changes: StateChange[] = [];
        const state = new StateStore();
        const remove = state.addListener((c) => changes.push(c));
        assert.equal(state.setPower("awake", { reason: "wake sent" }), true);
        assert.equal(state.setPower("awake"), false);
        clock.tick(5);
        assert.equal(state.latchEstop("operator pressed e-stop"), true);
        assert.equal(state.latchEstop("second press"), false);
        assert.equal(state.safety.estopReason, "operator pressed e-stop");
        assert.equal(state.safety.estopLatchedAt, 1_000_005);
        assert.equal(state.updateSafety({ batteryState: "critical", batteryPercent: 4 }), true);
        assert.equal(state.safety.batteryCritical, true);
        assert.equal(state.updateSafety({ batteryPercent: 4 }), false);
        assert.equal(state.releaseEstop("operator released"), true);
        assert.equal(state.releaseEstop(), false);
        assert.equal(
          state.updateSensors({ activeStreams: ["imu", "locator"], streamPeriodMs: 50 }),
          true,
        );
        assert.equal(state.updateSensors({ activeStreams: ["imu", "locator"] }), false);
        remove();
        state.setPower("asleep");
        assert.deepEqual(
          changes.map((c) => [c.aspect, c.reason]),
          [
            ["power", "wake sent"],
            ["safety", "e-stop latched: operator pressed e-stop"],
            ["safety", null],
            ["safety", "e-stop released: operator released"],
            ["sensors", null],
          ],
        );
        const latch = changes[1];
        assert.equal(latch.aspect, "safety");
        if (latch.aspect === "safety") {
          assert.equal(latch.previous.estopLatched, false);
          assert.equal(latch.next.estopLatched, true);
        }
        assert.deepEqual(state.stats.changes, { connection: 0, power: 2, safety: 3, sensors: 1 });
      }, START),
  );

  await t.step(
    "a throwing listener is counted; the change still happens and others still hear it",
    () => {
      const heard: string[] = [];
      const state = new StateStore({
        onChange: () => {
          throw new Error("listener bug");
        },
      });
      state.addListener((c) => heard.push(c.aspect));
      state.transition("connecting");
      assert.equal(state.connection.status, "connecting");
      assert.deepEqual(heard, ["connection"]);
      assert.equal(state.stats.listenerErrors, 1);
    },
  );

  await t.step("changes can be forwarded onto an event bus", async () => {
    const bus = new EventBus<{ state: StateChange }>();
    const state = new StateStore({ onChange: (c) => bus.publish("state", c) });
    const first = new Promise<StateChange>((resolve) => {
      bus.subscribe("state", (e) => resolve(e.payload));
    });
    state.transition("connecting");
    const change = await first;
    assert.equal(change.aspect, "connection");
    assert.deepEqual(change.next, state.connection);
    bus.close();
  });

  await t.step("bad values throw a clear error", () => {
    const state = new StateStore();
    assert.throws(
      () => state.setPower("off" as "awake"),
      /Unknown power status off; use one of unknown, awake, asleep/,
    );
    assert.throws(
      () => state.updateSafety({ batteryPercent: 101 }),
      /batteryPercent must be 0-100 or null, got 101/,
    );
    assert.throws(
      () => state.updateSafety({ batteryState: "empty" as "low" }),
      /Unknown battery state empty/,
    );
    assert.throws(
      () => state.updateSensors({ streamPeriodMs: 0 }),
      /streamPeriodMs must be a number > 0/,
    );
    assert.throws(() => state.latchEstop(""), /latchEstop needs a reason/);
  });
});
