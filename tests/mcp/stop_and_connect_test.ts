/**
 * At MCP level, over the simulator with fake timers: `stop` with any deceleration its schema
 * accepts leaves the robot at rest within the stated time (a seeded property test over the whole
 * range); the first tool call right after initialize, against a robot still waking, waits for the
 * connect and succeeds; `connect` reports the safety set-up of the live link.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { MAX_STOP_TIME_S, STOP_CONFIRM_MS } from "../../src/robot/mod.ts";
import { makeMcpRig } from "./_rig.ts";

Deno.test("stop: any accepted deceleration leaves the robot at rest within the stated time", async () => {
  const rig = await makeMcpRig({ settings: { maxSpeedPercent: 100, commandTimeout: 0 } });
  try {
    const { tools } = await rig.settle(rig.client.listTools());
    const stop = tools.find((t) => t.name === "stop");
    const schema = stop?.inputSchema.properties?.deceleration as {
      minimum: number;
      maximum: number;
    };
    assert.ok(schema.minimum > 0 && schema.maximum > schema.minimum, JSON.stringify(schema));
    assert.match(stop?.description ?? "", new RegExp(`at rest within ${MAX_STOP_TIME_S} s`));
    // A stop that would take minutes is refused, naming the bound.
    const refused = await rig.fails("stop", { deceleration: 0.001 });
    assert.match(refused, /deceleration/);
    assert.match(refused, new RegExp(`${schema.minimum}`));

    await fc.assert(
      fc.asyncProperty(
        fc.double({ min: schema.minimum, max: schema.maximum, noNaN: true }),
        async (deceleration) => {
          await rig.ok("drive_with_heading", { speed: 255, heading: 0 });
          await rig.clock.tickAsync(1000); // at top speed
          const moving = rig.sim.body.treadSpeedMps;
          assert.ok(moving.left > 1.5 && moving.right > 1.5, JSON.stringify(moving));
          const from = rig.wire.received("drive_stop").length;
          const r = await rig.ok<{ command: string }>("stop", { deceleration });
          assert.equal(r.command, "drive_stop_custom_decel");
          await rig.clock.tickAsync(MAX_STOP_TIME_S * 1000);
          const speeds = rig.sim.body.treadSpeedMps;
          assert.ok(rig.sim.body.isStopped, `${deceleration} m/s^2: ${JSON.stringify(speeds)}`);
          await rig.clock.tickAsync(STOP_CONFIRM_MS);
          assert.equal(rig.wire.received("drive_stop").length, from, "confirmed: no follow-up");
        },
      ),
      { seed: 20_251_104, numRuns: 25 },
    );
  } finally {
    await rig.close();
  }
});

Deno.test("the first call right after initialize waits for a robot that is still waking", async () => {
  const rig = await makeMcpRig({
    connect: false,
    sim: { asleep: true, faults: { wakeLatencyMs: 900, replyDelayMs: 40 } },
  });
  try {
    rig.runtime.connection.startAutoConnect();
    assert.equal(rig.runtime.connection.status, "connecting");
    const battery = await rig.ok<{ percentage: number }>("get_battery_status");
    assert.equal(battery.percentage, rig.sim.battery.percentage);
    assert.ok(rig.clock.now >= 900, `after the robot woke (${rig.clock.now} ms)`);
    // The e-stop never waits: while a connect runs it latches at once (nothing to send yet).
    const connecting = rig.runtime.connection.connect({ path: "sim" });
    await rig.clock.tickAsync(0);
    const started = rig.clock.now;
    const estop = await rig.settle(rig.runtime.rvr.emergencyStop("tool"));
    assert.equal(estop.sent, false);
    assert.ok(rig.clock.now - started <= 10, `${rig.clock.now - started} ms`);
    await rig.settle(connecting);
  } finally {
    await rig.close();
  }
});

Deno.test("connect twice at once and then once more: the live link's safety set-up is complete", async () => {
  const rig = await makeMcpRig({ sim: { faults: { replyDelayMs: 30 } } });
  try {
    const call = () => rig.client.callTool({ name: "connect", arguments: {} });
    const both = await rig.settle(Promise.all([call(), call()]));
    for (const r of both) assert.ok(!r.isError, JSON.stringify(r.content));
    assert.equal(rig.wires.length, 2, "the second joined the first: one new port");
    const c = await rig.ok<{ safety_setup_ok: boolean; safety_setup_failures: string[] }>(
      "connect",
    );
    assert.deepEqual(c.safety_setup_failures, []);
    assert.equal(c.safety_setup_ok, true);
    const status = await rig.ok<{ circuit: { state: string } }>("get_connection_status");
    assert.equal(status.circuit.state, "closed", JSON.stringify(status));
    assert.equal(rig.runtime.breaker.stats.failures, 0);
  } finally {
    await rig.close();
  }
});
