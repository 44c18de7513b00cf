/**
 * Who pressed the stop releases it, through the catalog on a real Runtime over the simulated
 * robot (no transport): clear_emergency_stop on a person's stop asks the person through
 * ctx.approve and clears only on their accept; declined, dismissed, unanswerable (no ctx.approve)
 * and failed questions are refused with the way out and the latch holds (movement stays refused,
 * nothing reaches the wire); the model's own stop clears without asking. RVR_APPROVAL's other
 * items gate set_speed_limit, set_command_timeout(0) and drive_raw_motors the same way.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { EmergencyStopActiveError, robotMetrics } from "../../src/robot/mod.ts";
import {
  type ApprovalDecision,
  ApprovalRefusedError,
  parseApprovalPolicy,
  Runtime,
} from "../../src/robot/mod.ts";
import { type ApprovalRequest, runTool, type Tool, type ToolContext } from "../../src/tools/mod.ts";
import { clearEmergencyStop, emergencyStop } from "../../src/tools/movement_stops.ts";
import { driveRawMotors, driveWithHeading } from "../../src/tools/movement_drives.ts";
import { getSafetyStatus, setCommandTimeout, setSpeedLimit } from "../../src/tools/safety.ts";
import {
  fakeClock,
  keepAliveSimOpener,
  settleErrorWith,
  settleWith,
  testSettings,
} from "../_helpers/mod.ts";

/** A context whose person answers `answer` (or that cannot ask one: undefined); asks recorded. */
function context(
  answer?: ApprovalDecision | (() => Promise<ApprovalDecision>),
  signal = new AbortController().signal,
) {
  const asked: ApprovalRequest[] = [];
  const ctx: ToolContext = {
    correlationId: "approval-test",
    signal,
    notify: () => {},
    ...(answer === undefined ? {} : {
      approve: (request: ApprovalRequest) => {
        asked.push(request);
        return typeof answer === "function" ? answer() : Promise.resolve(answer);
      },
    }),
  };
  return { ctx, asked };
}

async function rig(approval?: string) {
  const clock = fakeClock();
  const robot = keepAliveSimOpener({}, "approval");
  const runtime = new Runtime(
    testSettings(approval === undefined ? {} : { approval: parseApprovalPolicy(approval) }),
    robot.open,
    robotMetrics(),
  );
  const settle = <T>(p: Promise<T>) => settleWith(clock, p, 60_000);
  const run = (tool: Tool, args: Record<string, unknown>, ctx: ToolContext) =>
    settle(runTool(tool, runtime, z.strictObject(tool.input).parse(args), ctx));
  const fail = (tool: Tool, args: Record<string, unknown>, ctx: ToolContext) =>
    settleErrorWith(clock, runTool(tool, runtime, z.strictObject(tool.input).parse(args), ctx));
  await settle(runtime.connection.connect());
  await settle(runtime.rvr.ready());
  return {
    clock,
    robot,
    runtime,
    run,
    fail,
    settle,
    async close() {
      runtime.moves.dispose();
      runtime.streams.dispose();
      await settle(runtime.close("sigterm"));
      await settle(robot.sim.stop());
      clock.uninstall();
    },
  };
}

function assertRefused(error: unknown, refusal: string, hint: RegExp): void {
  assert.ok(error instanceof ApprovalRefusedError, String(error));
  assert.equal(error.refusal, refusal);
  assert.match(error.hint, hint);
}

Deno.test("clear_emergency_stop: a person's stop needs their accept; the model's own clears", async (t) => {
  const r = await rig();
  /** The latch holds: a drive is refused and nothing new reaches the wire. */
  const assertStillLatched = async () => {
    assert.equal(r.runtime.safety.estopLatched, true);
    assert.equal(r.runtime.safety.estopLatchedBy, "person");
    const drives = r.robot.wire.received("drive_with_heading").length;
    const error = await r.fail(driveWithHeading, { speed: 40, heading: 0 }, context().ctx);
    assert.ok(error instanceof EmergencyStopActiveError, String(error));
    assert.equal(r.robot.wire.received("drive_with_heading").length, drives);
  };
  try {
    await t.step("the model's own e-stop clears without asking", async () => {
      await r.run(emergencyStop, {}, context().ctx);
      const status = await r.run(getSafetyStatus, {}, context().ctx);
      assert.deepEqual(
        (status.estop as Record<string, unknown>).latched_by,
        "model",
      );
      const { ctx, asked } = context("decline");
      const out = await r.run(clearEmergencyStop, {}, ctx);
      assert.deepEqual(
        [out.released, out.approval, asked.length],
        [true, "not_needed", 0],
        "no person was asked",
      );
      assert.equal(r.runtime.safety.estopLatched, false);
    });

    await r.settle(r.runtime.rvr.emergencyStop("http", { reason: "the dashboard's button" }));

    await t.step("get_safety_status names the person and that clearing needs them", async () => {
      const s = await r.run(getSafetyStatus, {}, context().ctx);
      const estop = s.estop as Record<string, unknown>;
      assert.deepEqual(
        [estop.latched, estop.latched_by, estop.source, estop.clear_needs_approval],
        [true, "person", "http", true],
      );
      assert.deepEqual(s.approval_required_for, ["clear_person_estop"]);
    });

    await t.step("declined: refused, the person is not asked twice, the latch holds", async () => {
      const { ctx, asked } = context("decline");
      const error = await r.fail(clearEmergencyStop, {}, ctx);
      assertRefused(error, "decline", /the person declined: nothing was changed\. Do not retry/);
      assert.equal(asked.length, 1);
      assert.equal(asked[0].action, "clear_person_estop");
      assert.equal(asked[0].tool, "clear_emergency_stop");
      assert.match(asked[0].message, /pressed by a person \(http at .*: the dashboard's button\)/);
      assert.match(asked[0].message, /Clear the emergency stop\?$/);
      assert.equal(asked[0].details.source, "http");
      await assertStillLatched();
    });

    await t.step("dismissed (cancel): refused, the latch holds", async () => {
      const error = await r.fail(clearEmergencyStop, {}, context("cancel").ctx);
      assertRefused(error, "cancel", /dismissed the question without accepting/);
      await assertStillLatched();
    });

    await t.step(
      "no way to ask a person: refused, naming the dashboard and the setting",
      async () => {
        const error = await r.fail(clearEmergencyStop, {}, context().ctx);
        assertRefused(error, "unavailable", /cannot ask a person/);
        assert.match((error as Error).message, /POST \/estop\/clear/);
        assert.match((error as Error).message, /RVR_APPROVAL=none/);
        await assertStillLatched();
      },
    );

    await t.step("the question fails: refused with why, the latch holds", async () => {
      const { ctx } = context(() => Promise.reject(new Error("client went away")));
      const error = await r.fail(clearEmergencyStop, {}, ctx);
      assertRefused(error, "failed", /asking the person failed \(client went away\)/);
      await assertStillLatched();
    });

    await t.step("the call is cancelled while the person decides: nothing cleared", async () => {
      const controller = new AbortController();
      const reason = new DOMException("the caller went away", "AbortError");
      const { ctx } = context(() => {
        controller.abort(reason);
        return Promise.reject(reason);
      }, controller.signal);
      const error = await r.fail(clearEmergencyStop, {}, ctx);
      assert.equal(error, reason);
      await assertStillLatched();
    });

    await t.step("accepted: cleared, and the robot drives again", async () => {
      const { ctx, asked } = context("accept");
      const out = await r.run(clearEmergencyStop, {}, ctx);
      assert.deepEqual([out.released, out.latched, out.approval], [true, false, "accepted"]);
      assert.equal(asked.length, 1);
      assert.equal(r.runtime.safety.estopLatched, false);
      const drives = r.robot.wire.received("drive_with_heading").length;
      await r.run(driveWithHeading, { speed: 40, heading: 0 }, context().ctx);
      assert.equal(r.robot.wire.received("drive_with_heading").length, drives + 1);
      await r.settle(r.runtime.rvr.stop());
    });

    await t.step("a fleet-wide stop over the model's own is the person's", async () => {
      await r.run(emergencyStop, {}, context().ctx);
      await r.settle(r.runtime.rvr.emergencyStop("fleet", { reason: "fleet-wide stop" }));
      const error = await r.fail(clearEmergencyStop, {}, context().ctx);
      assertRefused(error, "unavailable", /a person latched \(fleet\)/);
      await assertStillLatched();
      const out = await r.run(clearEmergencyStop, {}, context("accept").ctx);
      assert.equal(out.approval, "accepted");
    });
  } finally {
    await r.close();
  }
});

Deno.test("RVR_APPROVAL none: the model clears a person's stop without asking", async () => {
  const r = await rig("none");
  try {
    await r.settle(r.runtime.rvr.emergencyStop("http"));
    const { ctx, asked } = context("decline");
    const out = await r.run(clearEmergencyStop, {}, ctx);
    assert.deepEqual([out.released, out.approval, asked.length], [true, "not_needed", 0]);
    const s = await r.run(getSafetyStatus, {}, context().ctx);
    assert.deepEqual(s.approval_required_for, []);
  } finally {
    await r.close();
  }
});

Deno.test("RVR_APPROVAL gates the speed limit, the watchdog and raw motor drives", async (t) => {
  const r = await rig("speed_limit_above:60,disable_watchdog,raw_motors");
  try {
    await t.step("raising the limit above 60 %: declined leaves it, accepted sets it", async () => {
      const { ctx, asked } = context("decline");
      const error = await r.fail(setSpeedLimit, { percent: 90 }, ctx);
      assertRefused(error, "decline", /Raising the speed limit to 90 % \(above 60 %\)/);
      assert.equal(r.runtime.safety.speedLimitPercent, 50);
      assert.equal(asked[0].action, "speed_limit_above");
      assert.deepEqual(asked[0].details, {
        percent: 90,
        previous: 50,
        approval_above_percent: 60,
      });
      const none = await r.fail(setSpeedLimit, { percent: 90 }, context().ctx);
      assertRefused(none, "unavailable", /does not list speed_limit_above:60\. Or set a limit/);
      const out = await r.run(setSpeedLimit, { percent: 90 }, context("accept").ctx);
      assert.equal(out.speed_limit_percent, 90);
    });

    await t.step("at or under the threshold, or lowering, nobody is asked", async () => {
      for (const percent of [60, 40, 95 - 35]) {
        const { ctx, asked } = context("decline");
        await r.run(setSpeedLimit, { percent }, ctx);
        assert.equal(asked.length, 0, `${percent} %`);
      }
    });

    await t.step("switching the watchdog off asks; other timeouts do not", async () => {
      const { ctx, asked } = context("decline");
      await r.run(setCommandTimeout, { seconds: 3 }, ctx);
      assert.equal(asked.length, 0);
      const error = await r.fail(setCommandTimeout, { seconds: 0 }, ctx);
      assertRefused(error, "decline", /Switching the auto-stop watchdog off/);
      assert.equal(r.runtime.safety.commandTimeoutS, 3);
      const out = await r.run(setCommandTimeout, { seconds: 0 }, context("accept").ctx);
      assert.equal(out.watchdog_enabled, false);
      const again = context("decline");
      await r.run(setCommandTimeout, { seconds: 0 }, again.ctx);
      assert.equal(again.asked.length, 0, "already off: nothing to approve");
      await r.run(setCommandTimeout, { seconds: 5 }, context().ctx);
    });

    await t.step("raw motors: turning a motor asks, both off does not", async () => {
      const raw = () => r.robot.wire.received("raw_motors").length;
      const before = raw();
      const go = { left_mode: "forward", left_duty: 100, right_mode: "off", right_duty: 0 };
      const error = await r.fail(driveRawMotors, go, context("decline").ctx);
      assertRefused(error, "decline", /Raw motor power \(left forward 100, right off 0 of 255\)/);
      assert.equal(raw(), before, "nothing reached the robot");
      const { ctx, asked } = context("accept");
      await r.run(driveRawMotors, go, ctx);
      assert.equal(asked[0].action, "raw_motors");
      assert.equal(raw(), before + 1);
      const off = context("decline");
      await r.run(driveRawMotors, {
        left_mode: "off",
        left_duty: 100,
        right_mode: "forward",
        right_duty: 0,
      }, off.ctx);
      assert.equal(off.asked.length, 0, "no motor turns: nothing to approve");
      assert.equal(raw(), before + 2);
      await r.settle(r.runtime.rvr.stop());
    });
  } finally {
    await r.close();
  }
});
