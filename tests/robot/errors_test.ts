import assert from "node:assert/strict";
import { DomainError } from "../../src/core/mod.ts";
import { CancelledByEmergencyStopError, EmergencyStopActiveError } from "../../src/robot/mod.ts";

Deno.test("EmergencyStopActiveError: names the command, the latch time and reason, and the fix", () => {
  const estop = new EmergencyStopActiveError("drive", "operator", Date.UTC(2025, 0, 1));
  assert.equal(estop.name, "EmergencyStopActiveError");
  assert.deepEqual([estop.commandName, estop.reason], ["drive", "operator"]);
  assert.match(
    estop.message,
    /^emergency stop is active: call clear_emergency_stop first \(drive refused; latched at 2025-01-01T00:00:00\.000Z: operator\)\.$/,
  );
  assert.ok(new EmergencyStopActiveError("drive", "tool", 0) instanceof DomainError);
});

Deno.test("CancelledByEmergencyStopError: the exact message, the command, the way out", () => {
  const cancelled = new CancelledByEmergencyStopError("drive_with_heading");
  assert.equal(cancelled.name, "CancelledByEmergencyStopError");
  assert.equal(cancelled.message, "cancelled by emergency stop");
  assert.equal(cancelled.commandName, "drive_with_heading");
  assert.ok(cancelled instanceof DomainError);
  assert.match(
    new CancelledByEmergencyStopError("drive").hint,
    /^cancelled by emergency stop: .*Call clear_emergency_stop when it is safe/,
  );
});
