import assert from "node:assert/strict";
import {
  CancelledByEmergencyStopError,
  CircuitOpenError,
  CommandTimeoutError,
  EmergencyStopActiveError,
  IllegalTransitionError,
  QueueClosedError,
  QueueDrainedError,
  QueueFullError,
  TimeoutError,
} from "../../src/core/mod.ts";

Deno.test("core errors", async (t) => {
  await t.step("each has its own name, fields, and a message with the value and the fix", () => {
    const timeout = new CommandTimeoutError("get_battery_percentage", 500, "queued");
    assert.ok(timeout instanceof TimeoutError && timeout instanceof Error);
    assert.equal(timeout.name, "CommandTimeoutError");
    assert.equal(timeout.timeoutMs, 500);
    assert.match(
      timeout.message,
      /"get_battery_percentage" timed out after 500 ms while still queued.*pass a larger timeoutMs/,
    );

    const full = new QueueFullError("drive", 100, 100);
    assert.equal(full.name, "QueueFullError");
    assert.deepEqual([full.capacity, full.depth, full.commandName], [100, 100, "drive"]);
    assert.match(full.message, /full \(100 of 100 queued\).*raise the queue capacity/);

    const closed = new QueueClosedError("drive", "link closed");
    assert.equal(closed.name, "QueueClosedError");
    assert.match(closed.message, /closed \(link closed\)\. Reconnect/);

    const drained = new QueueDrainedError("drive", "link lost");
    assert.equal(drained.name, "QueueDrainedError");
    assert.match(drained.message, /drained \(link lost\)\. Retry/);

    const cancelled = new CancelledByEmergencyStopError("drive_with_heading");
    assert.equal(cancelled.name, "CancelledByEmergencyStopError");
    assert.equal(cancelled.message, "cancelled by emergency stop");
    assert.equal(cancelled.commandName, "drive_with_heading");

    const open = new CircuitOpenError(
      "rvr-link",
      12_000,
      Date.UTC(2025, 0, 1, 12, 0, 12),
      "5 failures",
    );
    assert.equal(open.name, "CircuitOpenError");
    assert.equal(open.retryInMs, 12_000);
    assert.equal(
      open.message,
      'Circuit "rvr-link" is open (5 failures); the next probe is in 12000 ms (at 2025-01-01T12:00:12.000Z). ' +
        "Retry after that, and check the robot's power and cable meanwhile.",
    );

    const illegal = new IllegalTransitionError("connection", "error", "connected", [
      "connecting",
      "reconnecting",
    ]);
    assert.equal(illegal.name, "IllegalTransitionError");
    assert.match(
      illegal.message,
      /"error" -> "connected".*"connecting", "reconnecting"\. Go through/,
    );

    const estop = new EmergencyStopActiveError("drive", "operator", Date.UTC(2025, 0, 1));
    assert.equal(estop.name, "EmergencyStopActiveError");
    assert.deepEqual([estop.commandName, estop.reason], ["drive", "operator"]);
    assert.match(
      estop.message,
      /^emergency stop is active: call clear_emergency_stop first \(drive refused; latched at 2025-01-01T00:00:00\.000Z: operator\)\.$/,
    );
  });
});
