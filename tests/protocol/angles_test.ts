/** src/protocol/angles.ts: the one yaw -> heading conversion of the program. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { headingFromYaw, wrapDeg, yawDegOfHeading } from "../../src/protocol/angles.ts";

Deno.test("headingFromYaw", async (t) => {
  await t.step("0 forward, 90 right, 270 left; + yaw is left", () => {
    const cases: [number, number][] = [
      [0, 0],
      [-0, 0],
      [-90, 90],
      [90, 270],
      [180, 180],
      [-180, 180],
      [45.5, 314.5],
      [360, 0],
      [-720, 0],
      [725, 355],
    ];
    for (const [yaw, heading] of cases) {
      assert.ok(Object.is(headingFromYaw(yaw), heading), `yaw ${yaw} -> ${headingFromYaw(yaw)}`);
    }
  });

  await t.step("rounds when asked; what rounds to 360 is 0", () => {
    assert.equal(headingFromYaw(-12.3456, { decimals: 2 }), 12.35);
    assert.equal(headingFromYaw(0.001, { decimals: 2 }), 0);
    assert.equal(headingFromYaw(-359.996, { decimals: 2 }), 0);
    assert.equal(headingFromYaw(10.4, { decimals: 0 }), 350);
  });

  await t.step("always in [0, 360) and equal to -yaw modulo 360", () => {
    fc.assert(fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), (yaw) => {
      const h = headingFromYaw(yaw);
      assert.ok(h >= 0 && h < 360 && !Object.is(h, -0), `yaw ${yaw} -> ${h}`);
      const back = ((-h - yaw) % 360 + 360) % 360;
      assert.ok(Math.min(back, 360 - back) < 1e-6, `yaw ${yaw} -> ${h}`);
    }));
  });

  await t.step("bad input is refused, naming the value", () => {
    assert.throws(() => headingFromYaw(NaN), /finite number of degrees, got NaN/);
    assert.throws(() => headingFromYaw(Infinity), RangeError);
    assert.throws(() => headingFromYaw(1, { decimals: 1.5 }), /integer from 0 to 6, got 1.5/);
    assert.throws(() => headingFromYaw(1, { decimals: 7 }), RangeError);
  });
});

Deno.test("wrapDeg lands in [-180, 180) and keeps the angle mod 360", () => {
  assert.equal(wrapDeg(180), -180);
  assert.equal(wrapDeg(-180), -180);
  assert.equal(wrapDeg(190), -170);
  assert.equal(wrapDeg(-190), 170);
  assert.equal(wrapDeg(720 + 45), 45);
  fc.assert(
    fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), (deg) => {
      const w = wrapDeg(deg);
      assert.ok(w >= -180 && w < 180, `wrapDeg(${deg}) = ${w}`);
      const turns = (deg - w) / 360;
      assert.ok(Math.abs(turns - Math.round(turns)) < 1e-6, `wrapDeg(${deg}) = ${w}`);
    }),
  );
});

Deno.test("a drive_with_heading heading is the negative yaw: 90 (right) is yaw -90", () => {
  assert.equal(yawDegOfHeading(90), -90);
  assert.equal(yawDegOfHeading(270), -270);
  assert.equal(yawDegOfHeading(450), -90);
  assert.equal(wrapDeg(yawDegOfHeading(270)), 90);
});
