import assert from "node:assert/strict";
import {
  commandByName,
  CONTINUOUS_DRIVE_COMMANDS,
  CONTROL_SYSTEM_TYPES,
  CONTROLLER_IDS,
  CONTROLLERS_FOR_TYPE,
  DRIVE_STOP_COMMANDS,
  MOVEMENT_COMMANDS,
  SPEED_LIMITED_COMMANDS,
} from "../../src/protocol/mod.ts";

Deno.test("the movement and stop lists name host commands of the command table, once each", () => {
  for (const list of [MOVEMENT_COMMANDS, DRIVE_STOP_COMMANDS]) {
    assert.equal(new Set(list).size, list.length);
    for (const name of list) assert.equal(commandByName(name).kind, "command", name);
  }
  assert.deepEqual(SPEED_LIMITED_COMMANDS.slice(0, CONTINUOUS_DRIVE_COMMANDS.length), [
    ...CONTINUOUS_DRIVE_COMMANDS,
  ]);
  for (const name of DRIVE_STOP_COMMANDS) {
    assert.ok(!(MOVEMENT_COMMANDS as readonly string[]).includes(name), name);
  }
});

Deno.test("every control-system type has controllers, each a known controller id", () => {
  assert.equal(CONTROLLERS_FOR_TYPE.length, CONTROL_SYSTEM_TYPES.length);
  const ids = new Set<number>(Object.values(CONTROLLER_IDS));
  for (const allowed of CONTROLLERS_FOR_TYPE) {
    assert.ok(allowed.length > 0);
    for (const id of allowed) assert.ok(ids.has(id), `controller ${id}`);
  }
});
