/** RvrLink against the simulated RVR over a MemoryPort pair: real packets both ways. */
import assert from "node:assert/strict";
import { RobotError } from "../../src/link/errors.ts";
import { MemoryPort } from "../../src/link/memory_port.ts";
import { RvrLink } from "../../src/link/rvr_link.ts";
import { SimulatedRvr } from "../../src/sim/mod.ts";
import { fakeClock } from "../_helpers/mod.ts";

async function withSim(
  fn: (link: RvrLink, sim: SimulatedRvr) => Promise<void>,
): Promise<void> {
  const [host, device] = MemoryPort.pair("sim");
  const sim = new SimulatedRvr(device, { name: "RV-LINK" });
  sim.start();
  const link = new RvrLink(host);
  link.start();
  try {
    await fn(link, sim);
  } finally {
    await link.close();
    await sim.stop();
  }
}

Deno.test("RvrLink with the simulated RVR", async (t) => {
  await t.step("echo to both nodes", async () => {
    await withSim(async (link) => {
      const data = [0x8d, 0xd8, 0xab, 0, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
      assert.deepEqual(await link.request("echo", { data }, { target: 1 }), { data });
      assert.deepEqual(await link.request("echo", { data: [7] }, { target: 2 }), { data: [7] });
      assert.equal(link.stats.replies, 2);
    });
  });

  await t.step("battery percentage and voltage state", async () => {
    await withSim(async (link, sim) => {
      sim.battery.setPercentage(63);
      assert.deepEqual(await link.request("get_battery_percentage", {}), { percentage: 63 });
      const { state } = await link.request("get_battery_voltage_state", {});
      assert.equal(state, sim.battery.state);
    });
  });

  await t.step("firmware versions of both processors", async () => {
    await withSim(async (link) => {
      for (const target of [1, 2] as const) {
        const v = await link.request("get_main_application_version", {}, { target });
        assert.ok(Number.isInteger(v.major) && v.major > 0, JSON.stringify(v));
        assert.ok(Number.isInteger(v.minor) && Number.isInteger(v.revision));
      }
      const name = await link.request("get_processor_name", {}, { target: 2 });
      assert.equal(typeof name.name, "string");
      assert.ok(!name.name.includes("\0"));
    });
  });

  await t.step("get_core_up_time_in_milliseconds decodes the u64 as a bigint", async () => {
    await withSim(async (link, sim) => {
      const before = BigInt(Math.floor(sim.upTimeMs));
      const { up_time } = await link.request("get_core_up_time_in_milliseconds", {});
      const after = BigInt(Math.floor(sim.upTimeMs));
      assert.equal(typeof up_time, "bigint");
      assert.ok(before <= up_time && up_time <= after, `${before} <= ${up_time} <= ${after}`);
    });
  });

  await t.step("an error the robot is asked for comes back as RobotError", async () => {
    await withSim(async (link) => {
      const e = await link.request("generate_api_error", { error: 7 }, {
        target: 1,
        requestsResponse: true,
      }).then(() => assert.fail("resolved"), (err) => err);
      assert.ok(e instanceof RobotError);
      assert.equal(e.codeName, "bad_data_value");
      assert.deepEqual(link.stats.errors, { bad_data_value: 1 });
    });
  });

  await t.step("drive, then the encoders have counted forward", async () => {
    using clock = fakeClock({
      toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "performance"],
    });
    await withSim(async (link) => {
      const start = await link.request("get_encoder_counts", {});
      assert.deepEqual(start, { encoder_counts: [0, 0] });
      await link.request("wake", {}, { requestsResponse: true });
      await link.request("drive_tank_si_units", { left_velocity: 0.5, right_velocity: 0.5 });
      await clock.tickAsync(1000);
      const moving = await link.request("get_encoder_counts", {});
      const [left, right] = moving.encoder_counts;
      assert.ok(left > 100 && right > 100, `encoders ${left}, ${right}`);
      await link.sendImmediate("drive_stop", {});
      await clock.tickAsync(2000);
      const stopped = (await link.request("get_encoder_counts", {})).encoder_counts;
      await clock.tickAsync(500);
      assert.deepEqual((await link.request("get_encoder_counts", {})).encoder_counts, stopped);
    });
  });
});
