/** The command policy, derived from the protocol table's roles, against the table in its module doc. */
import assert from "node:assert/strict";
import {
  COMMAND_ROLES,
  COMMANDS,
  type RequestName,
  requestsOfRole,
} from "../../src/protocol/mod.ts";
import { COMMAND_KINDS } from "../../src/core/mod.ts";
import { cancelOnEmergencyStop, commandPolicy } from "../../src/robot/command_policy.ts";
import {
  CancelledByEmergencyStopError,
  commandKindOf,
  CONTINUOUS_DRIVE_COMMANDS,
  isMovementCommand,
  MOVEMENT_COMMANDS,
  SPEED_LIMITED_COMMANDS,
  STOP_COMMANDS,
} from "../../src/robot/mod.ts";

const DRIVES = [
  "raw_motors",
  "drive_with_heading",
  "drive_tank_si_units",
  "drive_tank_normalized",
  "drive_rc_si_units",
  "drive_rc_normalized",
  "drive_with_yaw_si",
  "drive_with_yaw_normalized",
];
const OTHER_MOVEMENT = [
  "drive_to_position_si",
  "drive_to_position_normalized",
  "start_robot_to_robot_infrared_following",
  "start_robot_to_robot_infrared_evading",
  "magnetometer_calibrate_to_north",
];
const STOPS = [
  "drive_stop",
  "drive_stop_custom_decel",
  "stop_robot_to_robot_infrared_following",
  "stop_robot_to_robot_infrared_evading",
];
const IO = [
  "set_all_leds",
  "get_active_color_palette",
  "set_active_color_palette",
  "get_color_identification_report",
  "load_color_palette",
  "save_color_palette",
  "release_led_requests",
  "send_infrared_message",
];
const SYSTEM = ["wake", "sleep", "generate_api_error"];

const sorted = (names: readonly string[]) => [...names].sort();

Deno.test("protocol table: every request has a role, no notification has one", () => {
  for (const c of COMMANDS) {
    if (c.kind === "command") {
      assert.ok((COMMAND_ROLES as readonly string[]).includes(c.role), `${c.name}: ${c.role}`);
    } else assert.ok(!("role" in c), c.name);
  }
});

Deno.test("command policy: the named sets are the module doc's", () => {
  assert.deepEqual(sorted(CONTINUOUS_DRIVE_COMMANDS), sorted(DRIVES));
  assert.deepEqual(sorted(MOVEMENT_COMMANDS), sorted([...DRIVES, ...OTHER_MOVEMENT]));
  assert.deepEqual(sorted(STOP_COMMANDS), sorted(STOPS));
  assert.deepEqual(sorted(requestsOfRole("io")), sorted(IO));
  assert.deepEqual(sorted(requestsOfRole("system")), sorted(SYSTEM));
  for (const name of SPEED_LIMITED_COMMANDS) assert.ok(isMovementCommand(name), name);
});

Deno.test("command policy: kind, priority, supersede key and breaker per role", () => {
  assert.deepEqual(commandPolicy("drive_with_heading"), {
    role: "drive",
    kind: "movement",
    priority: "normal",
    supersedeKey: "drive",
    bypassBreaker: false,
  });
  assert.deepEqual(commandPolicy("drive_to_position_si"), {
    role: "move",
    kind: "movement",
    priority: "normal",
    bypassBreaker: false,
  });
  for (const name of STOPS) {
    assert.deepEqual(commandPolicy(name as RequestName), {
      role: "stop",
      kind: "safety",
      priority: "high",
      bypassBreaker: true,
    }, name);
  }
  // Resets do not move the robot: an e-stop must not throw them away.
  assert.equal(commandKindOf("reset_yaw"), "config");
  assert.equal(commandKindOf("reset_locator_x_and_y"), "config");
  assert.equal(commandKindOf("echo"), "query");
  assert.equal(commandKindOf("wake"), "system");
  for (const c of COMMANDS) {
    if (c.kind !== "command") continue;
    const kind = commandKindOf(c.name as RequestName);
    if (c.name.startsWith("get_")) {
      assert.equal(kind, IO.includes(c.name) ? "io" : "query", c.name);
    }
    if (c.name.startsWith("set_") || c.name.startsWith("enable_")) {
      assert.ok(kind === "config" || kind === "io", `${c.name}: ${kind}`);
    }
    assert.equal(commandPolicy(c.name as RequestName).bypassBreaker, STOPS.includes(c.name));
  }
});

Deno.test("command policy: every queue kind is used; an e-stop cancels exactly movement", () => {
  const requests = COMMANDS.filter((c) => c.kind === "command").map((c) => c.name as RequestName);
  assert.deepEqual(
    sorted([...new Set(requests.map(commandKindOf))]),
    sorted(COMMAND_KINDS),
    "a kind no request has is dead vocabulary in core",
  );
  for (const name of requests) {
    const verdict = cancelOnEmergencyStop({ name, kind: commandKindOf(name) });
    if (isMovementCommand(name)) {
      assert.ok(verdict instanceof CancelledByEmergencyStopError, name);
      assert.equal(verdict.message, "cancelled by emergency stop");
      assert.equal(verdict.commandName, name);
    } else assert.equal(verdict, undefined, name);
  }
  // The emergency stop itself and the safety set-up are never queued movement.
  assert.equal(cancelOnEmergencyStop({ name: "emergency_stop", kind: "safety" }), undefined);
});

Deno.test("command policy: notifications and unknown names are refused with the name", () => {
  assert.throws(
    () => commandPolicy("motor_stall_notify" as RequestName),
    (e: unknown) => e instanceof TypeError && /motor_stall_notify.*notification/.test(e.message),
  );
  assert.throws(
    () => commandPolicy("drive_fast" as RequestName),
    (e: unknown) => e instanceof TypeError && /"drive_fast"/.test(e.message),
  );
  assert.throws(
    () => requestsOfRole("dance" as "drive"),
    (e: unknown) => e instanceof RangeError && /"dance".*drive, move, stop/.test(e.message),
  );
});
