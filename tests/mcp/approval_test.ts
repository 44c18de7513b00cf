/**
 * Who pressed the stop releases it, over MCP in both eras. 2025 era (SDK 1.x Client): a person's
 * e-stop (the dashboard's POST /estop) is cleared by clear_emergency_stop only when the client's
 * person accepts the elicitation/create question; a client whose person declines, or that cannot
 * elicit, gets an isError result and the latch holds (movement stays refused, nothing on the
 * wire); the model's own e-stop clears without a question. 2026-07-28 era (SDK v2 Client): the
 * same through an input_required result the client answers by calling again, and the answer
 * counts only with the question's own signed requestState (not without it, not tampered, not
 * expired, not one asked about an earlier e-stop).
 */
import assert from "node:assert/strict";
import type {
  CallToolResult as ModernCallToolResult,
  Client as ModernClient,
  ElicitRequest as ModernElicitRequest,
  ElicitResult as ModernElicitResult,
  InputRequiredResult,
} from "@modelcontextprotocol/client";
// @ts-types="@modelcontextprotocol/sdk/types"
import type { ElicitRequest, ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { APPROVAL_FIELD, approvalKey } from "../../src/mcp/_tool.ts";
import { connectModernClient, makeMcpRig, type McpRig, type ModernClientOptions } from "./_rig.ts";
import { SIMULATED_KEY } from "../../src/tools/mod.ts";

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

/**
 * The one question was the approval form about the dashboard's stop, the latch is released and
 * the robot drives again (then stops).
 */
async function assertAskedFormAndReleased(
  rig: McpRig,
  q: {
    mode?: string;
    message: string;
    requestedSchema: { properties: Record<string, { type: string }>; required: string[] };
  },
): Promise<void> {
  assert.equal(q.mode, "form");
  assert.match(q.message, /pressed by a person \(http at .*: the dashboard's button\)/);
  assert.deepEqual(q.requestedSchema.required, [APPROVAL_FIELD]);
  assert.equal(q.requestedSchema.properties[APPROVAL_FIELD].type, "boolean");
  assert.equal(rig.runtime.safety.estopLatched, false);
  const drives = rig.wire.received("drive_with_heading").length;
  await rig.ok("drive_with_heading", { speed: 40, heading: 0 });
  assert.equal(rig.wire.received("drive_with_heading").length, drives + 1, "drives again");
  await rig.ok("stop");
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
    await assertAskedFormAndReleased(rig, q);
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

// --- 2026-07-28 era: input_required, answered by calling again ---

const KEY = approvalKey("clear_person_estop");

/** A rig with a person's e-stop latched and a 2026-07-28 client on it. */
async function modernRig(options: ModernClientOptions) {
  const rig = await makeMcpRig();
  await rig.settle(rig.runtime.rvr.emergencyStop("http", { reason: "the dashboard's button" }));
  const modern = await connectModernClient(rig, options);
  return {
    rig,
    client: modern.client,
    async close() {
      try {
        await modern.close();
      } finally {
        await rig.close();
      }
    },
  };
}

/** A 2026 client that answers every question with `answer`, recording the questions. */
function answering(answer: (params: ModernElicitRequest["params"]) => ModernElicitResult) {
  const asked: ModernElicitRequest["params"][] = [];
  const options: ModernClientOptions = {
    capabilities: { elicitation: { form: {} } },
    onElicit: (params) => {
      asked.push(params);
      return answer(params);
    },
  };
  return { asked, options };
}

async function modernCall(rig: McpRig, client: ModernClient): Promise<ModernCallToolResult> {
  return await rig.settle(client.callTool({ name: "clear_emergency_stop", arguments: {} }));
}

function textOf(r: ModernCallToolResult): string {
  return (r.content[0] as { type: string; text: string }).text;
}

Deno.test("MCP 2026: a client whose person accepts the input_required question clears it", async () => {
  const { asked, options } = answering(() => ({
    action: "accept",
    content: { [APPROVAL_FIELD]: true },
  }));
  const { rig, client, close } = await modernRig(options);
  try {
    const r = await modernCall(rig, client);
    assert.ok(!r.isError, textOf(r));
    assert.deepEqual(r.structuredContent, {
      released: true,
      latched: false,
      approval: "accepted",
      [SIMULATED_KEY]: true,
    });
    assert.equal(asked.length, 1, "asked once, then called again with the answer");
    const q = asked[0] as ModernElicitRequest["params"] & {
      requestedSchema: { properties: Record<string, { type: string }>; required: string[] };
    };
    await assertAskedFormAndReleased(rig, q);
  } finally {
    await close();
  }
});

Deno.test("MCP 2026: a person who declines (or accepts unchecked) keeps the stop", async (t) => {
  const answers: [string, () => ModernElicitResult, RegExp][] = [
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
      const { asked, options } = answering(answer);
      const { rig, client, close } = await modernRig(options);
      try {
        const r = await modernCall(rig, client);
        assert.equal(r.isError, true, JSON.stringify(r.structuredContent));
        assert.match(textOf(r), pattern);
        assert.match(textOf(r), /nothing was changed/);
        assert.equal(asked.length, 1);
        await assertStillLatched(rig);
      } finally {
        await close();
      }
    });
  }
});

Deno.test("MCP 2026: a client without elicitation is refused, with no question", async () => {
  const { rig, client, close } = await modernRig({ autoFulfill: false });
  try {
    const r = await rig.settle(
      client.request({
        method: "tools/call",
        params: { name: "clear_emergency_stop", arguments: {} },
      }, { allowInputRequired: true }),
    ) as ModernCallToolResult | InputRequiredResult;
    assert.ok(!("resultType" in r && r.resultType === "input_required"), "not asked");
    const result = r as ModernCallToolResult;
    assert.equal(result.isError, true);
    assert.match(textOf(result), /this client cannot ask a person/);
    assert.match(textOf(result), /POST \/estop\/clear/);
    assert.match(textOf(result), /RVR_APPROVAL=none/);
    await assertStillLatched(rig);
  } finally {
    await close();
  }
});

Deno.test("MCP 2026: only an answer with the question's own requestState counts", async (t) => {
  const { rig, client, close } = await modernRig({
    capabilities: { elicitation: { form: {} } },
    autoFulfill: false,
  });
  const accept = { [KEY]: { action: "accept", content: { [APPROVAL_FIELD]: true } } };
  /** One tools/call leg, by hand: the result, input_required or complete. */
  const leg = async (extra: Record<string, unknown> = {}) =>
    await rig.settle(
      client.request({
        method: "tools/call",
        params: { name: "clear_emergency_stop", arguments: {}, ...extra },
      }, { allowInputRequired: true }),
    ) as ModernCallToolResult | InputRequiredResult;
  const asks = (r: ModernCallToolResult | InputRequiredResult): InputRequiredResult => {
    assert.equal((r as InputRequiredResult).resultType, "input_required", JSON.stringify(r));
    const ir = r as InputRequiredResult;
    assert.deepEqual(Object.keys(ir.inputRequests ?? {}), [KEY]);
    assert.equal(typeof ir.requestState, "string");
    return ir;
  };
  try {
    const first = asks(await leg());
    const state = first.requestState as string;
    let again: string | undefined;
    await assertStillLatched(rig);

    await t.step("an accept without the requestState asks again", async () => {
      asks(await leg({ inputResponses: accept }));
      await assertStillLatched(rig);
    });
    await t.step("a tampered requestState asks again", async () => {
      // One character in the middle (its 6 bits all count; the last one of a base64 text may
      // carry only padding bits, so changing it can leave the bytes as they were).
      let i = Math.floor(state.length / 2);
      while (!/[A-Za-z0-9]/.test(state[i])) i++;
      const other = state[i] === "A" ? "g" : "A";
      asks(
        await leg({
          inputResponses: accept,
          requestState: state.slice(0, i) + other + state.slice(i + 1),
        }),
      );
      await assertStillLatched(rig);
    });
    await t.step("the requestState without an answer asks again", async () => {
      asks(await leg({ requestState: state }));
      await assertStillLatched(rig);
    });
    await t.step("an answer about an earlier e-stop asks again", async () => {
      rig.runtime.rvr.clearEmergencyStop("the person released it", { by: "person" });
      rig.clock.tick(1_000);
      await rig.settle(rig.runtime.rvr.emergencyStop("http", { reason: "pressed again" }));
      again = asks(await leg({ inputResponses: accept, requestState: state })).requestState;
      await assertStillLatched(rig);
    });
    await t.step("an expired requestState asks again", async () => {
      rig.clock.tick(5 * 60_000 + 1_000);
      asks(await leg({ inputResponses: accept, requestState: again }));
      await assertStillLatched(rig);
    });
    await t.step("the answer with the question's own requestState clears it", async () => {
      const current = asks(await leg());
      const r = await leg({ inputResponses: accept, requestState: current.requestState });
      assert.ok(!("resultType" in r), JSON.stringify(r));
      assert.deepEqual((r as ModernCallToolResult).structuredContent, {
        released: true,
        latched: false,
        approval: "accepted",
        [SIMULATED_KEY]: true,
      });
      assert.equal(rig.runtime.safety.estopLatched, false);
    });
  } finally {
    await close();
  }
});

Deno.test("MCP 2026: the model's own e-stop clears without a question", async () => {
  const { asked, options } = answering(() => ({ action: "decline" }));
  const rig = await makeMcpRig();
  const modern = await connectModernClient(rig, options);
  try {
    await rig.ok("emergency_stop");
    assert.equal(rig.runtime.safety.estopLatchedBy, "model");
    const r = await modernCall(rig, modern.client);
    assert.ok(!r.isError, textOf(r));
    assert.deepEqual(r.structuredContent, {
      released: true,
      latched: false,
      approval: "not_needed",
      [SIMULATED_KEY]: true,
    });
    assert.equal(asked.length, 0);
  } finally {
    try {
      await modern.close();
    } finally {
      await rig.close();
    }
  }
});
