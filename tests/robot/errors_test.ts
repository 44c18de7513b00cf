import assert from "node:assert/strict";
import { DomainError } from "../../src/core/mod.ts";
import { EmergencyStopActiveError } from "../../src/robot/mod.ts";

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
