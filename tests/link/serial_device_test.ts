/**
 * RVR_SERIAL_PORT=auto: the GPIO UART of every Raspberry Pi, the simulator only off a Pi. The
 * model lines are the kernel's own (/proc/device-tree/model, NUL-terminated).
 */
import assert from "node:assert/strict";
import {
  autoPort,
  PI5_CONFIG_LINE,
  PI5_GPIO_UART,
  raspberryPi,
  resolveAutoDevice,
  SERIAL0,
  SerialPortError,
} from "../../src/link/mod.ts";
import { probeBoard } from "../../main.ts";

const PI4 = "Raspberry Pi 4 Model B Rev 1.4\0";
const PI5 = "Raspberry Pi 5 Model B Rev 1.0\0";
/** Every board that must use /dev/serial0, and every one that must use /dev/ttyAMA0. */
const EARLIER = [
  PI4,
  "Raspberry Pi 3 Model B Plus Rev 1.3\0",
  "Raspberry Pi Zero 2 W Rev 1.0\0",
  "Raspberry Pi 400 Rev 1.0\0",
  "Raspberry Pi Compute Module 4 Rev 1.0\0",
];
const PI5_FAMILY = [PI5, "Raspberry Pi 500 Rev 1.0\0", "Raspberry Pi Compute Module 5 Rev 1.0\0"];
/** A PC has no device tree; an Arm board that is not a Pi has one with another name. */
const NOT_A_PI = [undefined, "Pine64 RockPro64 v2.1\0", "Radxa ROCK 5B\0"];

Deno.test("raspberryPi: the model line names the board and its family", () => {
  assert.deepEqual(raspberryPi(PI5), { name: "Raspberry Pi 5 Model B Rev 1.0", family: "pi5" });
  assert.deepEqual(raspberryPi(PI4), { name: "Raspberry Pi 4 Model B Rev 1.4", family: "earlier" });
  for (const model of PI5_FAMILY) assert.equal(raspberryPi(model)?.family, "pi5", model);
  for (const model of EARLIER) assert.equal(raspberryPi(model)?.family, "earlier", model);
  for (const model of NOT_A_PI) assert.equal(raspberryPi(model), undefined, String(model));
});

Deno.test("auto on a Pi 4 (and every Pi before the 5): /dev/serial0, the UART on GPIO14/15", () => {
  for (const model of EARLIER) {
    const board = model.replace("\0", "");
    assert.deepEqual(
      resolveAutoDevice({ model, devices: [SERIAL0] }),
      { kind: "device", path: SERIAL0, board },
    );
    // Its /dev/ttyAMA0 is Bluetooth's UART (serial1) while Bluetooth is on: never the robot's.
    assert.deepEqual(
      resolveAutoDevice({ model, devices: [SERIAL0, PI5_GPIO_UART] }),
      { kind: "device", path: SERIAL0, board },
    );
  }
});

Deno.test("auto on a Pi 5: /dev/ttyAMA0, never /dev/serial0 (the debug connector)", () => {
  for (const model of PI5_FAMILY) {
    const board = model.replace("\0", "");
    assert.deepEqual(
      resolveAutoDevice({ model, devices: [SERIAL0, PI5_GPIO_UART] }),
      { kind: "device", path: PI5_GPIO_UART, board },
    );
  }
});

Deno.test("auto on a Pi without its GPIO UART: no simulator, the steps that enable it", async (t) => {
  await t.step("Pi 5: serial0 (ttyAMA10) exists, ttyAMA0 does not: the config.txt line", () => {
    const auto = resolveAutoDevice({ model: PI5, devices: [SERIAL0] });
    assert.equal(auto.kind, "unavailable");
    assert.ok(auto.kind === "unavailable");
    assert.equal(auto.path, PI5_GPIO_UART);
    assert.equal(auto.board, "Raspberry Pi 5 Model B Rev 1.0");
    assert.match(
      auto.message,
      /^No UART on the GPIO pins of this Raspberry Pi 5 Model B Rev 1\.0: \/dev\/ttyAMA0 does not exist/,
    );
    assert.ok(
      auto.message.includes(`add the line ${PI5_CONFIG_LINE} to /boot/firmware/config.txt`),
    );
    assert.ok(auto.message.includes("/dev/serial0 is the 3-pin debug connector"));
    assert.ok(auto.message.includes("RVR_SERIAL_PORT=sim"), "how to ask for the simulator");
    assert.ok(!auto.message.includes("disable-bt"), "Bluetooth's overlay does not apply on a Pi 5");
  });

  await t.step("Pi 4: no serial0: raspi-config's serial port steps", () => {
    const auto = resolveAutoDevice({ model: PI4, devices: [] });
    assert.ok(auto.kind === "unavailable", JSON.stringify(auto));
    assert.equal(auto.path, SERIAL0);
    assert.match(
      auto.message,
      /this Raspberry Pi 4 Model B Rev 1\.4: \/dev\/serial0 does not exist/,
    );
    assert.ok(auto.message.includes("raspi-config"));
    assert.ok(auto.message.includes("serial port hardware Yes"));
    assert.ok(auto.message.includes("RVR_SERIAL_PORT=sim"));
  });

  await t.step("autoPort throws it as SerialPortError not_found, naming the device", () => {
    for (const facts of [{ model: PI5, devices: [SERIAL0] }, { model: PI4, devices: [] }]) {
      const expected = resolveAutoDevice(facts);
      assert.ok(expected.kind === "unavailable");
      assert.throws(
        () => autoPort(facts),
        (e: unknown) =>
          e instanceof SerialPortError && e.code === "not_found" && e.path === expected.path &&
          e.message === expected.message,
      );
    }
  });
});

Deno.test("auto off a Pi: /dev/serial0 when it exists, else the simulator with a warning", () => {
  for (const model of NOT_A_PI) {
    assert.deepEqual(autoPort({ model, devices: [SERIAL0] }), { kind: "device", path: SERIAL0 });
    // ttyAMA0 alone is not the RVR's: off a Pi nothing says it is wired to the robot.
    const auto = autoPort({ model, devices: [PI5_GPIO_UART] });
    assert.equal(auto.kind, "simulator");
    assert.ok(auto.kind === "simulator");
    assert.match(auto.reason, /^No serial device at \/dev\/serial0 and this is not a Raspberry Pi/);
    assert.match(auto.reason, /Set RVR_SERIAL_PORT to use a robot/);
  }
});

Deno.test("probeBoard reads this machine: the model file when there is one, only existing devices", async () => {
  const facts = await probeBoard();
  let model: string | undefined;
  try {
    model = await Deno.readTextFile("/proc/device-tree/model");
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  assert.equal(facts.model, model);
  for (const path of facts.devices) await Deno.stat(path); // throws if it does not exist
});
