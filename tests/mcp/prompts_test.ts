/**
 * The prompt catalog through the server (SDK v2, the 2025 era) and the SDK 1.x Client: prompts/list (names, titles,
 * arguments and which are required), prompts/get (messages with the robot's live facts; bad
 * arguments answered with InvalidParams and the catalog's one-line message) and
 * completion/complete (prefix, the injected serial ports, the other arguments in context).
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/types"
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { PROMPT_NAMES } from "../../src/tools/mod.ts";
import { makeMcpRig } from "./_rig.ts";

Deno.test("MCP prompts: list, get, complete with the SDK 1.x client", async (t) => {
  const looked: string[] = [];
  const rig = await makeMcpRig({
    server: {
      serialPorts: () => {
        looked.push("/dev");
        return Promise.resolve(["/dev/ttyUSB0", "/dev/ttyUSB1", "/dev/ttyAMA0"]);
      },
    },
  });
  try {
    assert.ok(rig.client.getServerCapabilities()?.prompts, "prompts capability");
    assert.ok(rig.client.getServerCapabilities()?.completions, "completions capability");

    await t.step("prompts/list: every prompt of the catalog, with its arguments", async () => {
      const { prompts } = await rig.settle(rig.client.listPrompts());
      assert.deepEqual(prompts.map((p) => p.name), PROMPT_NAMES);
      const shape = prompts.find((p) => p.name === "drive_shape");
      assert.equal(shape?.title, "Drive a shape");
      assert.deepEqual(
        shape?.arguments?.map((a) => [a.name, a.required]),
        [["shape", true], ["size", false], ["speed", false], ["direction", false]],
      );
      assert.match(shape?.arguments?.[1].description ?? "", /Side length in metres/);
    });

    await t.step("prompts/get: the messages, with live facts of the simulated robot", async () => {
      const r = await rig.settle(
        rig.client.getPrompt({ name: "drive_shape", arguments: { shape: "Square", size: "0.5" } }),
      );
      assert.equal(r.messages.length, 1);
      assert.equal(r.messages[0].role, "user");
      const content = r.messages[0].content;
      assert.equal(content.type, "text");
      const text = (content as { text: string }).text;
      assert.match(text, /^Drive the RVR along a square with sides of 0\.5 m at 0\.3 m\/s/);
      assert.match(text, /connected to the built-in simulated RVR/);
      assert.equal(text.split('`drive_forward {"distance":0.5,"speed":0.3}`').length - 1, 4);
      const lights = await rig.settle(rig.client.getPrompt({ name: "light_show" }));
      assert.match((lights.messages[0].content as { text: string }).text, /rainbow/);
      assert.equal(rig.wire.received("set_all_leds").length, 0, "getting a prompt sends nothing");
    });

    await t.step("prompts/get: bad arguments are InvalidParams with one line", async () => {
      const refused = async (name: string, args: Record<string, string>, expected: RegExp) => {
        const error = await rig.settle(
          rig.client.getPrompt({ name, arguments: args }).then(() => undefined, (e) => e),
        );
        assert.ok(error instanceof McpError, String(error));
        assert.equal(error.code, ErrorCode.InvalidParams);
        assert.match(error.message, expected);
        assert.ok(!error.message.includes("\n"), error.message);
      };
      await refused(
        "drive_shape",
        { shape: "square", size: "9" },
        /prompt drive_shape: size must be a number from 0\.2 to 3, got 9\./,
      );
      await refused("light_show", { show: "disco" }, /show must be one of "rainbow", .*"disco"/);
      await refused("drive_shape", { size: "1" }, /shape is missing: Which shape: square, /);
      await refused("drive_shape", { shape: "star", sise: "1" }, /unknown argument "sise"/);
    });

    await t.step("completion/complete: values by prefix, ports from the machine", async () => {
      const complete = (name: string, argument: string, value: string) =>
        rig.settle(rig.client.complete({
          ref: { type: "ref/prompt", name },
          argument: { name: argument, value },
        }));
      const shapes = await complete("drive_shape", "shape", "s");
      assert.deepEqual(shapes.completion.values, ["square", "star"]);
      assert.equal(shapes.completion.hasMore, false);
      assert.deepEqual((await complete("light_show", "colour", "p")).completion.values, [
        "purple",
        "pink",
      ]);
      const ports = await complete("diagnose_connection", "port", "/dev/ttyU");
      assert.deepEqual(ports.completion.values, ["/dev/ttyUSB0", "/dev/ttyUSB1"]);
      assert.deepEqual(
        (await complete("diagnose_connection", "port", "")).completion.values,
        ["sim", "/dev/ttyUSB0", "/dev/ttyUSB1", "/dev/ttyAMA0"],
        "sim is also the configured port here: once",
      );
      assert.equal(looked.length, 2, "the machine was asked on each completion");
      assert.deepEqual((await complete("first_drive", "speed", "0.")).completion.values, [
        "0.1",
        "0.2",
        "0.3",
        "0.5",
      ]);
    });
  } finally {
    await rig.close();
  }
});
