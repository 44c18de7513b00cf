import assert from "node:assert/strict";
import {
  checkFinite,
  checkInteger,
  checkIntegerAtLeast,
  checkNumber,
} from "../../src/core/validate.ts";

Deno.test("validate: each check returns the value, or names it, the range and the hint", () => {
  assert.equal(checkInteger("seq", 7, 0, 255, "a byte"), 7);
  assert.throws(
    () => checkInteger("seq", 256, 0, 255, "a byte"),
    (e: Error) =>
      e instanceof RangeError &&
      e.message === "seq must be an integer from 0 to 255, got 256; a byte.",
  );
  assert.throws(() => checkInteger("seq", 1.5, 0, 255), /^RangeError: seq .* got 1\.5\.$/);
  assert.equal(checkIntegerAtLeast("size", 1, 1), 1);
  assert.throws(
    () => checkIntegerAtLeast("size", 0, 1, "the default is 256"),
    /^RangeError: size must be an integer >= 1, got 0; the default is 256\.$/,
  );
  assert.throws(() => checkIntegerAtLeast("size", "2", 1), /got 2\.$/);
  assert.equal(checkNumber("speed", 0.5, 0, 2, "m/s"), 0.5);
  assert.throws(
    () => checkNumber("speed", NaN, 0, 2, "m/s"),
    /^RangeError: speed must be a number from 0 to 2, got NaN; m\/s\.$/,
  );
  assert.equal(checkFinite("x", -3), -3);
  assert.throws(
    () => checkFinite("x", Infinity, "metres"),
    /x must be a finite number, got Infinity; metres\.$/,
  );
});
