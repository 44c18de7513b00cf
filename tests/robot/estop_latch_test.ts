/**
 * Who pressed the stop releases it, in the robot layer: the latch records who latched it (a
 * person, the model, code), a person's press takes the latch over, and the model clears a
 * person's stop only with `approval: "accept"` (unless RVR_APPROVAL is none); the policy parser.
 */
import assert from "node:assert/strict";
import { EventBus } from "../../src/core/mod.ts";
import { robotMetrics, StateStore } from "../../src/robot/mod.ts";
import {
  ApprovalPolicy,
  ApprovalRefusedError,
  DEFAULT_APPROVAL_POLICY,
  ESTOP_ACTOR_OF,
  ESTOP_SOURCES,
  parseApprovalPolicy,
  type RobotTopics,
  Safety,
  type SafetyEvent,
} from "../../src/robot/mod.ts";
import { metricValue, settle } from "../_helpers/mod.ts";

function makeSafety(approval?: ApprovalPolicy) {
  const bus = new EventBus<RobotTopics>();
  const state = new StateStore();
  const metrics = robotMetrics();
  const events: SafetyEvent[] = [];
  bus.subscribe("safety", (e) => {
    events.push(e.payload);
  });
  const safety = new Safety({ bus, state, metrics, approval });
  return { safety, state, metrics, events };
}

const refused = (refusal: string) => (e: unknown) =>
  e instanceof ApprovalRefusedError && e.action === "clear_person_estop" &&
  e.refusal === refusal && e.message.includes("Clearing the emergency stop a person latched");

Deno.test("estop latch: who latched it", async (t) => {
  await t.step("each source is a person, the model or code", () => {
    assert.deepEqual(ESTOP_ACTOR_OF, {
      tool: "model",
      http: "person",
      fleet: "person",
      app: "person",
      api: "code",
    });
    for (const source of ESTOP_SOURCES) {
      const { safety } = makeSafety();
      assert.equal(safety.estopLatchedBy, null);
      safety.latchEstop(source, `pressed (${source})`);
      const st = safety.status().estop;
      assert.equal(st.latchedBy, ESTOP_ACTOR_OF[source], source);
      assert.equal(st.source, source);
      assert.equal(st.clearNeedsApproval, ESTOP_ACTOR_OF[source] === "person", source);
    }
  });

  await t.step("a person pressing while the model's latch holds takes it over", async () => {
    const { safety, events } = makeSafety();
    assert.equal(safety.latchEstop("tool", "the model stopped"), true);
    assert.equal(safety.clearNeedsApproval("model"), false);
    assert.equal(safety.latchEstop("fleet", "the teacher stopped all"), false);
    const st = safety.status().estop;
    assert.deepEqual([st.latchedBy, st.source, st.reason], [
      "person",
      "fleet",
      "the model stopped",
    ]);
    assert.equal(safety.clearNeedsApproval("model"), true);
    // The model pressing again does not take a person's latch back.
    safety.latchEstop("tool", "again");
    assert.equal(safety.estopLatchedBy, "person");
    await settle();
    const latched = events.filter((e) => e.type === "estop");
    assert.equal(latched.length, 1);
    assert.deepEqual(latched[0].data, {
      source: "tool",
      reason: "the model stopped",
      latched_by: "model",
    });
  });

  await t.step("not latched: nobody holds it, nothing needs approval", () => {
    const { safety } = makeSafety();
    const st = safety.status();
    assert.deepEqual(
      [st.estop.latchedBy, st.estop.source, st.estop.clearNeedsApproval],
      [null, null, false],
    );
    assert.equal(st.approval, DEFAULT_APPROVAL_POLICY);
  });
});

Deno.test("estop latch: who may release it", async (t) => {
  await t.step("the model clears its own stop, and code's, without asking", () => {
    for (const source of ["tool", "api"] as const) {
      const { safety } = makeSafety();
      safety.latchEstop(source, "stop");
      assert.equal(safety.clearEstop("cleared", { by: "model" }), true, source);
      assert.equal(safety.estopLatched, false);
    }
  });

  await t.step("the model without the person's accept: refused, the latch holds", async () => {
    const { safety, metrics } = makeSafety();
    safety.latchEstop("http", "dashboard button");
    assert.throws(() => safety.clearEstop("x", { by: "model" }), refused("unavailable"));
    assert.throws(
      () => safety.clearEstop("x", { by: "model", approval: "decline" }),
      refused("decline"),
    );
    assert.throws(
      () => safety.clearEstop("x", { by: "model", approval: "cancel" }),
      refused("cancel"),
    );
    assert.equal(safety.estopLatched, true);
    assert.equal(safety.estopLatchedBy, "person");
    assert.equal(
      await metricValue(metrics, "rvr_safety_rejected_commands_total", { reason: "approval" }),
      3,
    );
    let error: unknown;
    try {
      safety.clearEstop("x", { by: "model" });
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof ApprovalRefusedError);
    assert.match(error.hint, /cannot ask a person/);
    assert.match(error.hint, /POST \/estop\/clear/);
    assert.match(error.hint, /RVR_APPROVAL=none/);
  });

  await t.step("the model with the person's accept clears it; the event says so", async () => {
    const { safety, events } = makeSafety();
    safety.latchEstop("app", "the app's button");
    assert.equal(safety.clearEstop("cleared", { by: "model", approval: "accept" }), true);
    assert.equal(safety.estopLatched, false);
    assert.equal(safety.estopLatchedBy, null);
    await settle();
    const cleared = events.find((e) => e.type === "estop_cleared");
    assert.deepEqual(cleared?.data, {
      reason: "cleared",
      cleared_by: "model",
      latched_by: "person",
      approved: true,
    });
    assert.match(cleared?.detail ?? "", /with the person's accept/);
  });

  await t.step("a person and code clear a person's stop", () => {
    for (const by of ["person", "code"] as const) {
      const { safety } = makeSafety();
      safety.latchEstop("http", "button");
      assert.equal(safety.clearEstop("cleared", { by }), true, by);
    }
    const { safety } = makeSafety();
    safety.latchEstop("http", "button");
    assert.equal(safety.clearEstop(), true, "the default is code");
  });

  await t.step("RVR_APPROVAL=none lets the model clear a person's stop", () => {
    const { safety } = makeSafety(parseApprovalPolicy("none"));
    safety.latchEstop("http", "button");
    assert.equal(safety.clearNeedsApproval("model"), false);
    assert.equal(safety.clearEstop("cleared", { by: "model" }), true);
  });

  await t.step("an unknown actor or policy is a bug, named", () => {
    const { safety } = makeSafety();
    safety.latchEstop("http", "button");
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => safety.clearEstop("x", { by: "robot" as any }),
      /must be one of person, model, code, got robot/,
    );
    assert.equal(safety.estopLatched, true);
    assert.throws(
      // deno-lint-ignore no-explicit-any
      () => new Safety({ ...makeSafety(), bus: new EventBus(), approval: "none" as any }),
      /approval must be an ApprovalPolicy/,
    );
  });
});

Deno.test("approval policy: RVR_APPROVAL parsing", async (t) => {
  await t.step("empty is the default; none is nothing; lists keep clear_person_estop", () => {
    assert.equal(parseApprovalPolicy(""), DEFAULT_APPROVAL_POLICY);
    assert.equal(String(DEFAULT_APPROVAL_POLICY), "clear_person_estop");
    const none = parseApprovalPolicy(" NONE ");
    assert.equal(none.none, true);
    assert.equal(none.clearPersonEstop, false);
    assert.equal(String(none), "none");
    const all = parseApprovalPolicy("raw_motors, speed_limit_above:60,disable_watchdog");
    assert.deepEqual(
      [all.clearPersonEstop, all.speedLimitAbovePercent, all.disableWatchdog, all.rawMotors],
      [true, 60, true, true],
    );
    assert.equal(
      String(all),
      "clear_person_estop,speed_limit_above:60,disable_watchdog,raw_motors",
    );
    assert.deepEqual(parseApprovalPolicy(String(all)), all, "round trip");
    assert.equal(
      parseApprovalPolicy("speed_limit_above:80,speed_limit_above:70")
        .speedLimitAbovePercent,
      70,
      "the stricter threshold wins",
    );
  });

  await t.step("speed_limit_above asks only when raising above the threshold", () => {
    const p = parseApprovalPolicy("speed_limit_above:60");
    assert.equal(p.speedLimitNeedsApproval(61, 50), true);
    assert.equal(p.speedLimitNeedsApproval(60, 50), false, "at the threshold");
    assert.equal(p.speedLimitNeedsApproval(70, 90), false, "lowering");
    assert.equal(DEFAULT_APPROVAL_POLICY.speedLimitNeedsApproval(100, 0), false);
  });

  await t.step("bad items are named with the fix", () => {
    const cases: [string, RegExp][] = [
      ["raw_motor", /"raw_motor" is not an approval item; allowed is "none", or a comma/],
      ["none,raw_motors", /"none" cannot be combined with other items/],
      ["speed_limit_above", /"speed_limit_above" needs a percent 0-100 after the colon/],
      ["speed_limit_above:101", /needs a percent 0-100/],
      ["speed_limit_above:60:1", /needs a percent 0-100/],
      ["disable_watchdog:1", /only speed_limit_above takes a value after a colon/],
    ];
    for (const [text, pattern] of cases) {
      assert.throws(() => parseApprovalPolicy(text), (e: unknown) => {
        assert.ok(e instanceof RangeError, text);
        assert.match(e.message, pattern, text);
        return true;
      });
    }
    assert.throws(
      () => new ApprovalPolicy({ clearPersonEstop: true, speedLimitAbovePercent: -1 }),
      /speedLimitAbovePercent must be a number 0-100 or null, got -1/,
    );
  });
});
