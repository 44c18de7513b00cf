/**
 * Who pressed the stop releases it, on the side port over a real socket: POST /estop is a
 * person's stop, which the model's clear_emergency_stop cannot clear without asking; POST
 * /estop/clear (same key and origin rules as POST /estop) is the person releasing it. A refused
 * request (no key, another origin, a body over the limit, GET) clears nothing.
 */
import assert from "node:assert/strict";
import { ApprovalRefusedError } from "../../src/robot/mod.ts";
import { runTool } from "../../src/tools/mod.ts";
import { clearEmergencyStop } from "../../src/tools/movement_stops.ts";
import { sampleValue } from "../_helpers/mod.ts";
import { assertJson, makeSideRig, request } from "./_side_port.ts";

const KEY = "estop-clear-test-key-0123456789";

Deno.test("POST /estop/clear: the person at the side port releases their stop", async (t) => {
  const rig = await makeSideRig({ apiKey: KEY, maxBodyBytes: 1024 });
  const latched = () => rig.runtime.state.safety.estopLatched;
  const ctx = { correlationId: "http-clear-test", signal: new AbortController().signal };
  try {
    const pressed = await request(`${rig.url}/estop`, { method: "POST", key: KEY });
    assert.equal(pressed.status, 200);
    assert.equal(rig.runtime.safety.estopLatchedBy, "person");

    await t.step("the model cannot clear it without asking the person", async () => {
      await assert.rejects(
        runTool(clearEmergencyStop, rig.runtime, {}, { ...ctx, notify: () => {} }),
        (e: unknown) => e instanceof ApprovalRefusedError && /POST \/estop\/clear/.test(e.hint),
      );
      assert.equal(latched(), true);
    });

    await t.step("refused requests clear nothing", async () => {
      const refusals: [string, RequestInit & { key?: string }, number][] = [
        ["no key", { method: "POST" }, 401],
        ["a wrong key", { method: "POST", key: "wrong-key-of-some-length" }, 401],
        ["GET", { method: "GET", key: KEY }, 405],
        [
          "another origin",
          { method: "POST", key: KEY, headers: { origin: "http://evil.example" } },
          403,
        ],
        ["a body over the limit", { method: "POST", key: KEY, body: "x".repeat(4096) }, 413],
      ];
      for (const [what, init, status] of refusals) {
        const r = await request(`${rig.url}/estop/clear`, init);
        assert.equal(r.status, status, what);
        assert.equal(typeof assertJson(r.text).error, "string", what);
        assert.equal(latched(), true, `${what}: still latched`);
      }
    });

    await t.step("with the key: released, as a person; a second clear finds nothing", async () => {
      const r = await request(`${rig.url}/estop/clear`, { method: "POST", key: KEY });
      assert.equal(r.status, 200);
      assert.deepEqual(assertJson(r.text), { cleared: true, latched: false });
      assert.equal(latched(), false);
      assert.equal(rig.runtime.safety.estopLatchedBy, null);
      const again = await request(`${rig.url}/estop/clear?key=${encodeURIComponent(KEY)}`, {
        method: "POST",
      });
      assert.deepEqual(assertJson(again.text), { cleared: false, latched: false });
      const metrics = await request(`${rig.url}/metrics`, { key: KEY });
      assert.equal(sampleValue(metrics.text, "rvr_safety_estop_latched"), 0);
      assert.equal(
        sampleValue(metrics.text, "rvr_safety_rejected_commands_total", { reason: "approval" }),
        1,
        "the model's attempt was counted",
      );
    });

    await t.step("the robot drives again: the drive reaches the simulator's wire", async () => {
      const before = rig.wire.received("drive_with_heading").length;
      await rig.runtime.rvr.move("drive_with_heading", { speed: 30, heading: 0, flags: 0 });
      assert.equal(rig.wire.received("drive_with_heading").length, before + 1);
      await rig.runtime.rvr.stop();
    });
  } finally {
    await rig.close();
  }
});
