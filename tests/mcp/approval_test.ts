/**
 * Who pressed the stop releases it, over MCP with the SDK 1.x Client: a person's e-stop (the
 * dashboard's POST /estop) is cleared by clear_emergency_stop only when the client's person
 * accepts the elicitation/create question; a client whose person declines, or that cannot elicit,
 * gets an isError result and the latch holds (movement stays refused, nothing on the wire); the
 * model's own e-stop clears without a question.
 */
import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/types"
import type { ElicitRequest, ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { APPROVAL_FIELD } from "../../src/mcp/_tool.ts";
import { makeMcpRig, type McpRig } from "./_rig.ts";

type Answer = (params: ElicitRequest["params"]) => ElicitResult;

/** A rig whose client answers every question with `answer` (or declares no elicitation). */
async function rigAnswering(answer?: Answer) {
  const asked: ElicitRequest["params"][] = [];
  const rig = await makeMcpRig(
    answer === undefined ? {} : {
      client: {
        capabilities: { elicitation: {} },
        onElicit: (params) => {
          asked.push(params);
          return answer(params);
        },
      },
    },
  );
  await rig.settle(rig.runtime.rvr.emergencyStop("http", { reason: "the dashboard's button" }));
  return { rig, asked };
}

async function assertStillLatched(rig: McpRig): Promise<void> {
  assert.equal(rig.runtime.safety.estopLatched, true);
  assert.equal(rig.runtime.safety.estopLatchedBy, "person");
  const drives = rig.wire.received("drive_with_heading").length;
  const refused = await rig.fails("drive_with_heading", { speed: 40, heading: 0 });
  assert.match(refused, /emergency stop is active/);
  assert.equal(rig.wire.received("drive_with_heading").length, drives, "nothing on the wire");
}

Deno.test("MCP: a client whose person accepts clears a person's e-stop", async () => {
  const { rig, asked } = await rigAnswering(() => ({
    action: "accept",
    content: { [APPROVAL_FIELD]: true },
  }));
  try {
    const out = await rig.ok("clear_emergency_stop");
    assert.deepEqual(out, { released: true, latched: false, approval: "accepted" });
    assert.equal(asked.length, 1);
    const q = asked[0] as ElicitRequest["params"] & {
      requestedSchema: { properties: Record<string, { type: string }>; required: string[] };
    };
    assert.equal(q.mode, "form");
    assert.match(q.message, /pressed by a person \(http at .*: the dashboard's button\)/);
    assert.deepEqual(q.requestedSchema.required, [APPROVAL_FIELD]);
    assert.equal(q.requestedSchema.properties[APPROVAL_FIELD].type, "boolean");
    assert.equal(rig.runtime.safety.estopLatched, false);
    const drives = rig.wire.received("drive_with_heading").length;
    await rig.ok("drive_with_heading", { speed: 40, heading: 0 });
    assert.equal(rig.wire.received("drive_with_heading").length, drives + 1, "drives again");
    await rig.ok("stop");
  } finally {
    await rig.close();
  }
});

Deno.test("MCP: a client whose person declines (or accepts unchecked) keeps the stop", async (t) => {
  const answers: [string, Answer, RegExp][] = [
    ["decline", () => ({ action: "decline" }), /the person declined/],
    ["cancel", () => ({ action: "cancel" }), /dismissed the question/],
    [
      "accept with the box unchecked",
      () => ({ action: "accept", content: { [APPROVAL_FIELD]: false } }),
      /the person declined/,
    ],
  ];
  for (const [what, answer, pattern] of answers) {
    await t.step(what, async () => {
      const { rig, asked } = await rigAnswering(answer);
      try {
        const text = await rig.fails("clear_emergency_stop");
        assert.match(text, pattern);
        assert.match(text, /nothing was changed/);
        assert.equal(asked.length, 1);
        await assertStillLatched(rig);
      } finally {
        await rig.close();
      }
    });
  }
});

Deno.test("MCP: a client without elicitation is refused with the dashboard and the setting", async () => {
  const { rig } = await rigAnswering();
  try {
    const text = await rig.fails("clear_emergency_stop");
    assert.match(text, /this client cannot ask a person/);
    assert.match(text, /POST \/estop\/clear/);
    assert.match(text, /RVR_APPROVAL=none/);
    await assertStillLatched(rig);
  } finally {
    await rig.close();
  }
});

Deno.test("MCP: the model's own e-stop clears without a question", async () => {
  const asked: unknown[] = [];
  const rig = await makeMcpRig({
    client: {
      capabilities: { elicitation: {} },
      onElicit: (params) => {
        asked.push(params);
        return { action: "decline" };
      },
    },
  });
  try {
    await rig.ok("emergency_stop");
    assert.equal(rig.runtime.safety.estopLatchedBy, "model");
    const out = await rig.ok("clear_emergency_stop");
    assert.deepEqual(out, { released: true, latched: false, approval: "not_needed" });
    assert.equal(asked.length, 0);
  } finally {
    await rig.close();
  }
});
