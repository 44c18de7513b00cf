/** src/protocol/angles.ts: wrap180 and bearingYaw, the moves' angle maths. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { bearingYaw, headingFromYaw, wrap180 } from "../../src/protocol/angles.ts";

Deno.test("wrap180: into [-180, 180), the short way round, never -0", () => {
  const cases: [number, number][] = [
    [0, 0],
    [-0, 0],
    [180, -180],
    [-180, -180],
    [190, -170],
    [-190, 170],
    [359, -1],
    [720, 0],
    [-540, -180],
  ];
  for (const [deg, wrapped] of cases) assert.ok(Object.is(wrap180(deg), wrapped), `${deg}`);
  fc.assert(
    fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), (deg) => {
      const w = wrap180(deg);
      assert.ok(w >= -180 && w < 180, `${deg} -> ${w}`);
      // Same direction: differs by a whole number of turns.
      const turns = (deg - w) / 360;
      assert.ok(Math.abs(turns - Math.round(turns)) < 1e-6, `${deg} -> ${w}`);
    }),
  );
});

Deno.test("bearingYaw: +y is yaw 0, +x (right) is -90, and its heading points the same way", () => {
  assert.equal(bearingYaw(0, 1), 0);
  assert.equal(bearingYaw(1, 0), -90);
  assert.equal(bearingYaw(-1, 0), 90);
  assert.equal(bearingYaw(0, -1), -180);
  assert.equal(headingFromYaw(bearingYaw(1, 0)), 90, "to the right is heading 90");
  assert.ok(Math.abs(bearingYaw(1, 1) - -45) < 1e-12);
});
