import assert from "node:assert/strict";
import { MOTOR_THERMAL_STATUSES, motorThermalStatus } from "../../src/protocol/mod.ts";

Deno.test("motor thermal status: 0 ok, 1 warn, 2 critical; an undefined value reads critical", () => {
  assert.deepEqual([0, 1, 2].map(motorThermalStatus), ["ok", "warn", "critical"]);
  assert.deepEqual([...MOTOR_THERMAL_STATUSES], ["ok", "warn", "critical"]);
  for (const v of [3, 7, 255]) assert.equal(motorThermalStatus(v), "critical", `value ${v}`);
});
