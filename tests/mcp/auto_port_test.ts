/**
 * RVR_SERIAL_PORT=auto through a real MCP client, with the opener resolving `auto` as main.ts
 * does ({@link autoPort} over the board's facts): on a Raspberry Pi without its GPIO UART no
 * simulator answers and every robot tool fails with the fix; off a Pi the simulator answers and
 * every result says it is simulated.
 */
import assert from "node:assert/strict";
import { autoPort, type BoardFacts, SERIAL0 } from "../../src/link/mod.ts";
import { SIMULATED_KEY } from "../../src/tools/mod.ts";
import type { PortOpener } from "../../src/robot/mod.ts";
import { makeMcpRig } from "./_rig.ts";

/** main.ts's opener for `auto`, with the simulator of the rig and the board of the test. */
function autoOpener(facts: BoardFacts): (simulator: PortOpener) => PortOpener {
  return (simulator) => (spec) => {
    if (spec.path !== "auto") return simulator(spec);
    const auto = autoPort(facts);
    if (auto.kind === "simulator") return simulator(spec);
    return Promise.reject(new Error(`this test has no tty ${auto.path} to open`));
  };
}

const PI5_WITHOUT_UART: BoardFacts = {
  model: "Raspberry Pi 5 Model B Rev 1.0\0",
  devices: [SERIAL0], // the debug connector's ttyAMA10: there, but not the robot's
};

Deno.test("auto on a Pi 5 without its GPIO UART: MCP serves, no simulator, every robot tool says how to enable it", async (t) => {
  const rig = await makeMcpRig({
    settings: { serialPort: "auto" },
    connect: false,
    opener: autoOpener(PI5_WITHOUT_UART),
  });
  try {
    const fix =
      /No UART on the GPIO pins of this Raspberry Pi 5 Model B Rev 1\.0: \/dev\/ttyAMA0 does not exist.*dtparam=uart0=on/;

    await t.step("the connect at start-up fails with the fix", async () => {
      rig.runtime.connection.startAutoConnect();
      await rig.settle(
        rig.runtime.connection.connect().then(
          () => assert.fail("connected without a UART"),
          (e: Error) => assert.match(e.message, fix),
        ),
      );
    });

    await t.step("robot tools fail with the fix; none of them reached a simulator", async () => {
      const calls: [string, Record<string, unknown>][] = [
        ["get_battery_status", {}],
        ["drive_with_heading", { speed: 50, heading: 0 }],
        ["set_all_leds", { red: 255, green: 0, blue: 0 }],
        ["get_system_info", {}],
      ];
      for (const [name, args] of calls) {
        const text = await rig.fails(name, args);
        assert.match(text, fix, `${name}: ${text}`);
      }
      const connect = await rig.fails("connect");
      assert.match(connect, fix);
      assert.equal(rig.wires.length, 0, "no simulated robot was ever opened");
    });

    await t.step("get_connection_status says why, and nothing says simulated", async () => {
      const r = await rig.call("get_connection_status");
      assert.equal(r.isError, undefined);
      const status = r.structuredContent as Record<string, unknown>;
      assert.equal(status.status, "error");
      assert.match(String(status.error), fix);
      assert.equal(status.port, "auto");
      assert.equal(status.simulated, null);
      assert.equal(SIMULATED_KEY in status, false);
    });
  } finally {
    await rig.close();
  }
});

Deno.test("auto off a Pi without a UART: the simulator, and every tool result says so", async () => {
  const rig = await makeMcpRig({
    settings: { serialPort: "auto" },
    connect: false,
    opener: autoOpener({ model: undefined, devices: [] }),
  });
  try {
    await rig.settle(rig.runtime.connection.connect());
    // rig.ok asserts simulated_robot: true on every result.
    const connect = await rig.ok<{ simulated: boolean }>("connect");
    assert.equal(connect.simulated, true);
    await rig.ok("get_battery_status");
    await rig.ok("drive_with_heading", { speed: 50, heading: 0 });
    await rig.ok("stop");
    const status = await rig.ok<Record<string, unknown>>("get_connection_status");
    assert.equal(status.simulated, true);
    assert.equal(rig.wires.length, 2, "both connects reached the simulator");
    const { tools } = await rig.settle(rig.client.listTools());
    for (const tool of tools) {
      const properties = (tool.outputSchema as { properties: Record<string, unknown> }).properties;
      assert.ok(SIMULATED_KEY in properties, `${tool.name} declares ${SIMULATED_KEY}`);
    }
  } finally {
    await rig.close();
  }
});
