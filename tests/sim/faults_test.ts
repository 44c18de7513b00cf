import assert from "node:assert/strict";
import { createFaultSettings, DEFAULT_FAULTS } from "../../src/sim/mod.ts";
import { ErrorCode } from "../../src/protocol/mod.ts";
import { rig } from "./_client.ts";

Deno.test("fault settings: defaults and validation", async (t) => {
  await t.step("defaults are a healthy robot", () => {
    const f = createFaultSettings();
    assert.deepEqual(JSON.parse(JSON.stringify(f)), { ...DEFAULT_FAULTS, errorReplies: {} });
    assert.equal(f.silentAfterPackets, null);
    assert.equal(f.corruptEvery, null);
    assert.equal(f.replyDelayMs, 0);
    assert.equal(f.wakeLatencyMs, 0);
  });

  await t.step("plain options are taken and validated", () => {
    const f = createFaultSettings({
      silentAfterPackets: 3,
      replyDelayMs: 20,
      corruptEvery: 5,
      errorReplies: { echo: 8 },
      wakeLatencyMs: 1500,
    });
    assert.equal(f.silentAfterPackets, 3);
    assert.equal(f.replyDelayMs, 20);
    assert.equal(f.corruptEvery, 5);
    assert.deepEqual({ ...f.errorReplies }, { echo: 8 });
    assert.equal(f.wakeLatencyMs, 1500);
  });

  await t.step("bad values throw RangeErrors naming the knob and the value", () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ silentAfterPackets: -1 }, /silentAfterPackets.*-1/],
      [{ silentAfterPackets: 1.5 }, /silentAfterPackets.*1\.5/],
      [{ replyDelayMs: -5 }, /replyDelayMs.*-5/],
      [{ replyDelayMs: Infinity }, /replyDelayMs.*Infinity/],
      [{ corruptEvery: 0 }, /corruptEvery.*0/],
      [{ wakeLatencyMs: NaN }, /wakeLatencyMs.*NaN/],
      [{ errorReplies: { no_such_command: 6 } }, /no_such_command/],
      [{ errorReplies: { will_sleep_notify: 6 } }, /will_sleep_notify/],
      [{ errorReplies: { echo: 0 } }, /errorReplies\["echo"\].*0/],
      [{ errorReplies: { echo: 256 } }, /256/],
      [{ errorReplies: [] }, /errorReplies/],
      [{ silence: 3 }, /silence.*not a fault knob/],
    ];
    for (const [options, message] of bad) {
      assert.throws(() => createFaultSettings(options), (e: unknown) => {
        assert.ok(e instanceof RangeError, String(e));
        assert.match(e.message, message);
        return true;
      });
    }
  });

  await t.step("live edits are validated too, including errorReplies entries", () => {
    const f = createFaultSettings();
    f.replyDelayMs = 10;
    assert.equal(f.replyDelayMs, 10);
    assert.throws(() => (f.replyDelayMs = -1), /replyDelayMs/);
    assert.equal(f.replyDelayMs, 10, "unchanged after a rejected edit");
    assert.throws(() => (f.corruptEvery = 0), RangeError);
    f.errorReplies.get_sku = ErrorCode.failed;
    assert.equal(f.errorReplies.get_sku, 6);
    assert.throws(() => (f.errorReplies.get_sku = 0), /get_sku/);
    assert.throws(() => (f.errorReplies.bogus = 6), /bogus/);
    delete f.errorReplies.get_sku;
    assert.deepEqual({ ...f.errorReplies }, {});
    f.errorReplies = { echo: 1 };
    assert.deepEqual({ ...f.errorReplies }, { echo: 1 });
  });
});

Deno.test("fault knobs in the simulated RVR", async (t) => {
  await t.step(
    "silentAfterPackets: the (N+1)th packet and all later output get nothing",
    async () => {
      const r = rig({ faults: { silentAfterPackets: 3 }, inactivityTimeoutMs: Infinity });
      try {
        await r.ask("configure_streaming_service", { token: 1, configuration: [0x00, 0x06, 2] }, {
          target: 2,
        });
        await r.ask("start_streaming_service", { period: 100 }, { target: 2 });
        const third = await r.ask("echo", { data: [3] }, { target: 1 });
        assert.equal(r.client.responseTo(third).err, 0, "packet 3 is answered");
        await r.settle(300);
        assert.equal(r.client.notifications("streaming_service_data_notify").length, 3);
        const fourth = await r.ask("echo", { data: [4] }, { target: 1 });
        await r.settle(500);
        assert.equal(r.client.responses().filter((p) => p.seq === fourth).length, 0);
        assert.equal(
          r.client.notifications("streaming_service_data_notify").length,
          3,
          "streaming went quiet too",
        );
        // A silent robot executes nothing either (a dead link).
        await r.ask("drive_with_heading", { speed: 200, heading: 0, flags: 0 });
        await r.settle(500);
        assert.equal(r.sim.body.isMoving, false);
        assert.equal(r.sim.stats.packetsIgnored, 2);
        // Live edit: healthy again.
        r.sim.faults.silentAfterPackets = null;
        const again = await r.ask("echo", { data: [5] }, { target: 1 });
        assert.equal(r.client.responseTo(again).err, 0);
      } finally {
        await r.close();
      }
    },
  );

  await t.step("replyDelayMs delays replies, not notifications", async () => {
    const r = rig({ faults: { replyDelayMs: 250 } });
    try {
      const seq = await r.ask("get_battery_percentage", {});
      await r.settle(249);
      assert.equal(r.client.responses().length, 0);
      await r.settle(1);
      assert.equal(r.client.responseTo(seq).err, 0);
      // Replies keep their order under a delay.
      const a = await r.client.request("echo", { data: [1] }, { target: 1 });
      const b = await r.client.request("echo", { data: [2] }, { target: 2 });
      await r.settle(250);
      assert.deepEqual(r.client.responses().slice(-2).map((p) => p.seq), [a, b]);
      // Notifications are not delayed: the drive result comes when the drive ends.
      await r.ask("drive_to_position_si", {
        yaw_angle: 0,
        x: 0,
        y: 0.2,
        linear_speed: 0.5,
        flags: 0,
      });
      r.sim.faults.replyDelayMs = 60_000;
      await r.settle(5000);
      assert.equal(r.client.notifications("xy_position_drive_result_notify").length, 1);
      r.sim.faults.replyDelayMs = 0;
    } finally {
      await r.close();
    }
  });

  await t.step("corruptEvery breaks the checksum of every Nth outgoing packet", async () => {
    const r = rig({ faults: { corruptEvery: 2 } });
    try {
      for (let i = 0; i < 6; i++) await r.client.request("echo", { data: [i] }, { target: 1 });
      await r.settle();
      assert.equal(r.client.responses().length, 3, "3 of 6 replies arrive intact");
      assert.deepEqual(r.client.responses().map((p) => p.payload[0]), [0, 2, 4]);
      assert.equal(r.client.decoder.stats.errors.bad_checksum, 3);
      assert.equal(r.sim.stats.packetsCorrupted, 3);
      assert.equal(r.sim.stats.packetsOut, 6);
      r.sim.faults.corruptEvery = null;
      const seq = await r.ask("echo", { data: [9] }, { target: 2 });
      assert.equal(r.client.responseTo(seq).err, 0);
    } finally {
      await r.close();
    }
  });

  await t.step("errorReplies answers with the code and does not run the command", async () => {
    const r = rig({ faults: { errorReplies: { drive_with_heading: ErrorCode.busy } } });
    try {
      const seq = await r.ask("drive_with_heading", { speed: 200, heading: 0, flags: 0 }, {
        requestsResponse: true,
      });
      assert.equal(r.client.responseTo(seq).err, ErrorCode.busy);
      await r.settle(500);
      assert.equal(r.sim.body.isMoving, false);
      r.sim.faults.errorReplies.get_battery_percentage = ErrorCode.failed;
      const batt = await r.ask("get_battery_percentage", {});
      assert.equal(r.client.responseTo(batt).err, ErrorCode.failed);
      assert.equal(r.client.responseTo(batt).payload.length, 0);
      // Error-only requests see the injected error too.
      const eo = await r.ask("drive_with_heading", { speed: 1, heading: 0, flags: 0 }, {
        requestsResponse: true,
        errorOnly: true,
      });
      assert.equal(r.client.responseTo(eo).err, ErrorCode.busy);
    } finally {
      await r.close();
    }
  });

  await t.step("wakeLatencyMs is live-editable", async () => {
    const r = rig();
    try {
      await r.ask("sleep", {});
      r.sim.faults.wakeLatencyMs = 400;
      const wake = await r.ask("wake", {}, { requestsResponse: true });
      assert.equal(r.client.responses().length, 0);
      await r.settle(400);
      assert.equal(r.client.responseTo(wake).err, 0);
    } finally {
      await r.close();
    }
  });
});
