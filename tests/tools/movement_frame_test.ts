/**
 * reset_yaw and reset_locator through the tool catalog on a Runtime over the simulated robot: the
 * next move starts in the new frame, also on a robot that has already moved and whatever the
 * order of the two resets.
 */
import assert from "node:assert/strict";
import { rig } from "./_rig.ts";

interface PoseOut {
  x_m: number;
  y_m: number;
  heading_deg: number;
}

function headingOff(heading: number): number {
  return Math.min(heading, 360 - heading);
}

for (const order of [["reset_yaw", "reset_locator"], ["reset_locator", "reset_yaw"]]) {
  Deno.test(`after a pivot, ${order.join(" then ")} frames the next drive_forward`, async () => {
    const r = await rig();
    try {
      await r.call("pivot", { degrees: 30 });
      for (const name of order) await r.call(name);
      const out = await r.call("drive_forward", { distance: 0.5 });
      const pose = out.pose as PoseOut;
      assert.ok(
        Math.abs(pose.x_m) < 0.02,
        `straight ahead in the new frame: ${JSON.stringify(pose)}`,
      );
      assert.ok(Math.abs(pose.y_m - 0.5) < 0.02, `0.5 m forward: ${JSON.stringify(pose)}`);
      assert.ok(headingOff(pose.heading_deg) < 1.5, `facing the new 0: ${pose.heading_deg}`);
      // The body agrees: it drove 0.5 m along the direction it faced at the reset.
      const body = r.robot.sim.body.pose;
      assert.ok(Math.abs(body.x) < 0.02 && Math.abs(body.y - 0.5) < 0.02, JSON.stringify(body));
    } finally {
      await r.close();
    }
  });
}
