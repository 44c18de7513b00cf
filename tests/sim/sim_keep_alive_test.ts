/** A keep-alive simulator outlives its host's port and keeps its state across a reconnect. */
import assert from "node:assert/strict";
import { MemoryPort } from "../../src/link/memory_port.ts";
import { SimulatedRvr } from "../../src/sim/mod.ts";
import { decodeOk, rig, TestClient } from "./_client.ts";
import { fakeClock } from "../_helpers/mod.ts";

Deno.test("keepAlive: a new host finds the robot where the old one left it", async () => {
  const r = rig({ keepAlive: true, inactivityTimeoutMs: 0 });
  try {
    await r.ask("drive_with_heading", { speed: 100, heading: 0, flags: 0 });
    await r.settle(1000);
    const before = decodeOk(
      "get_encoder_counts",
      r.client.responseTo(await r.ask("get_encoder_counts", {})),
    );
    assert.ok(before.encoder_counts[0] > 0, "the robot drove");
    await r.client.port.close();
    await r.settle(10);
    // The old host is gone; the robot runs on and talks into the void.
    assert.throws(() => r.sim.attach(r.client.port), /cannot attach|still attached|closed/);
    const [host, device] = MemoryPort.pair("reconnect");
    r.sim.attach(device);
    const client = new TestClient(host);
    const seq = await client.request("get_encoder_counts", {});
    await r.settle();
    const after = decodeOk("get_encoder_counts", client.responseTo(seq));
    assert.ok(after.encoder_counts[0] >= before.encoder_counts[0], "encoders kept their count");
    await host.close();
  } finally {
    await r.close();
  }
});

Deno.test("attach is refused while the old port is open, and without keepAlive", async () => {
  using clock = fakeClock();
  const [host, device] = MemoryPort.pair("a");
  const keep = new SimulatedRvr(device, { keepAlive: true, inactivityTimeoutMs: 0 });
  const [host2, device2] = MemoryPort.pair("b");
  const plain = new SimulatedRvr(device2, { inactivityTimeoutMs: 0 });
  try {
    keep.start();
    plain.start();
    const [, spare] = MemoryPort.pair("c");
    assert.throws(() => keep.attach(spare), /still attached to memory:a\/device/);
    assert.throws(() => plain.attach(spare), /without keepAlive/);
  } finally {
    await keep.stop();
    await plain.stop();
    await host.close();
    await host2.close();
    await clock.tickAsync(0);
  }
});
