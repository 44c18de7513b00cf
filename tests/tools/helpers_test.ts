/** The catalog's own helpers: LED packets, compass heading, IR decoding, system info text. */
import assert from "node:assert/strict";
import { ledPacket, rgbLedsOf } from "../../src/tools/leds.ts";
import { compassHeadingDeg, decodeIrReadings } from "../../src/tools/sensors.ts";
import { cleanText, u64Ms, versionText } from "../../src/tools/system.ts";

Deno.test("LED packets: one byte per set bit, ascending; groups cover section 9.6", () => {
  assert.deepEqual(ledPacket(new Map([[5, 9], [0, 1], [30, 7]])), {
    led_group: 0x40000021,
    led_brightness_values: [1, 9, 7],
  });
  assert.throws(() => ledPacket(new Map([[31, 1]])), /channel 31 does not exist/);
  assert.deepEqual(rgbLedsOf("headlights"), ["left_headlight", "right_headlight"]);
  assert.deepEqual(rgbLedsOf("undercarriage_white"), []);
  assert.deepEqual(rgbLedsOf("power_button_rear"), ["power_button_rear"]);
});

Deno.test("compass heading: clockwise from magnetic north, body frame x right, y forward", () => {
  // North straight ahead, to the left, behind, to the right.
  assert.equal(compassHeadingDeg(0, 20), 0);
  assert.equal(compassHeadingDeg(-20, 0), 90, "north on the left: facing east");
  assert.equal(compassHeadingDeg(0, -20), 180);
  assert.equal(compassHeadingDeg(20, 0), 270, "north on the right: facing west");
  assert.equal(compassHeadingDeg(-10, 17.3205), 30);
});

Deno.test("IR readings: one byte per receiver, front_left in bits 0-7", () => {
  assert.deepEqual(decodeIrReadings(0xff05_ff03), {
    front_left: { value: 3, code: 3 },
    front_right: { value: 0xff, code: null },
    back_right: { value: 5, code: 5 },
    back_left: { value: 0xff, code: null },
  });
});

Deno.test("system info helpers", () => {
  assert.equal(versionText({ major: 8, minor: 3, revision: 432 }), "8.3.432");
  assert.equal(cleanText("RV-ABCD\0"), "RV-ABCD");
  assert.equal(cleanText("STM32F4\0\0junk"), "STM32F4");
  assert.equal(u64Ms(1_505_924n), 1_505_924);
});
