/**
 * LED tools: set_all_leds, set_led (every group of docs/protocol.md section 9.6, including the
 * single-channel undercarriage white LED), turn_leds_off. All go out as one `set_all_leds`
 * packet: a u32 mask and one brightness byte per set bit, in ascending bit order.
 *
 * @module
 */
import { z } from "zod";
import { commandOptions, tool } from "./_tool.ts";

/** The ten RGB LEDs of section 9.6 by their first (red) bit; green and blue follow. */
export const RGB_LEDS = {
  right_headlight: 0,
  left_headlight: 3,
  left_status_indication: 6,
  right_status_indication: 9,
  battery_door_rear: 12,
  battery_door_front: 15,
  power_button_front: 18,
  power_button_rear: 21,
  left_brake_light: 24,
  right_brake_light: 27,
} as const;
export type RgbLed = keyof typeof RGB_LEDS;

/** The undercarriage white LED: one brightness channel, bit 30. */
export const UNDERCARRIAGE_WHITE_BIT = 30;

/** Pairs of RGB LEDs that are set together. */
export const LED_PAIRS = {
  headlights: ["left_headlight", "right_headlight"],
  status_indication_lights: ["left_status_indication", "right_status_indication"],
  battery_door_lights: ["battery_door_front", "battery_door_rear"],
  power_button_lights: ["power_button_front", "power_button_rear"],
  brake_lights: ["left_brake_light", "right_brake_light"],
} as const satisfies Record<string, readonly RgbLed[]>;

/** Every value `set_led` accepts for `led`. */
export const LED_NAMES = [
  ...Object.keys(LED_PAIRS) as (keyof typeof LED_PAIRS)[],
  ...Object.keys(RGB_LEDS) as RgbLed[],
  "undercarriage_white",
] as const;
export type LedName = typeof LED_NAMES[number];

/** Mask of all ten RGB LEDs (bits 0-29). */
export const ALL_RGB_MASK = 0x3fff_ffff;
/** Mask of every LED channel (bits 0-30). */
export const ALL_CHANNELS_MASK = 0x7fff_ffff;

/** The set_all_leds parameters that set `channels` (bit -> brightness), ascending bit order. */
export function ledPacket(
  channels: ReadonlyMap<number, number>,
): { led_group: number; led_brightness_values: number[] } {
  const bits = [...channels.keys()].sort((a, b) => a - b);
  let mask = 0;
  for (const bit of bits) {
    if (!Number.isInteger(bit) || bit < 0 || bit > UNDERCARRIAGE_WHITE_BIT) {
      throw new RangeError(`LED channel ${bit} does not exist; channels are 0-30.`);
    }
    mask |= 1 << bit;
  }
  return {
    led_group: mask >>> 0,
    led_brightness_values: bits.map((b) => channels.get(b) as number),
  };
}

/** The RGB LEDs a `set_led` name covers (empty for undercarriage_white). */
export function rgbLedsOf(led: LedName): readonly RgbLed[] {
  if (led === "undercarriage_white") return [];
  if (led in LED_PAIRS) return LED_PAIRS[led as keyof typeof LED_PAIRS];
  return [led as RgbLed];
}

const channel = (what: string) =>
  z.number().int().min(0).max(255).describe(`${what} brightness 0-255.`);

export const setAllLeds = tool({
  name: "set_all_leds",
  title: "Set all LEDs",
  description:
    "Sets all ten RGB LEDs (headlights, status indication lights, battery door, power button, " +
    "brake lights) to one colour. The undercarriage white LED is left as it is (use set_led). " +
    "The LEDs keep the colour until changed; not affected by the speed limit or the " +
    "emergency stop.",
  input: { red: channel("Red"), green: channel("Green"), blue: channel("Blue") },
  output: {
    leds: z.array(z.string()).describe("The LEDs set."),
    red: z.number().int(),
    green: z.number().int(),
    blue: z.number().int(),
    mask: z.number().int().describe("The set_all_leds bit mask sent."),
  },
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler(robot, args, ctx) {
    const channels = new Map<number, number>();
    for (const first of Object.values(RGB_LEDS)) {
      channels.set(first, args.red).set(first + 1, args.green).set(first + 2, args.blue);
    }
    const packet = ledPacket(channels);
    await robot.rvr.command("set_all_leds", packet, commandOptions(ctx));
    return {
      leds: Object.keys(RGB_LEDS),
      red: args.red,
      green: args.green,
      blue: args.blue,
      mask: packet.led_group,
    };
  },
});

export const setLed = tool({
  name: "set_led",
  title: "Set one LED group",
  description: "Sets one LED or a pair to an RGB colour: headlights, status_indication_lights, " +
    "battery_door_lights, power_button_lights, brake_lights (both of a pair), or a single " +
    "one (left_headlight, right_brake_light, ...). undercarriage_white has a single " +
    "brightness channel: it takes the largest of red, green and blue (255,255,255 = full, " +
    "0,0,0 = off); colour detection also switches it on. Other LEDs are left as they are. " +
    "Not affected by the speed limit or the emergency stop.",
  input: {
    led: z.enum(LED_NAMES).describe("Which LED or pair."),
    red: channel("Red"),
    green: channel("Green"),
    blue: channel("Blue"),
  },
  output: {
    led: z.enum(LED_NAMES),
    leds: z.array(z.string()).describe("The physical LEDs set."),
    red: z.number().int(),
    green: z.number().int(),
    blue: z.number().int(),
    brightness: z.number().int().nullable().describe(
      "For undercarriage_white: the brightness sent; else null.",
    ),
    mask: z.number().int().describe("The set_all_leds bit mask sent."),
  },
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler(robot, args, ctx) {
    const channels = new Map<number, number>();
    const leds = rgbLedsOf(args.led);
    let brightness: number | null = null;
    if (args.led === "undercarriage_white") {
      brightness = Math.max(args.red, args.green, args.blue);
      channels.set(UNDERCARRIAGE_WHITE_BIT, brightness);
    }
    for (const led of leds) {
      const first = RGB_LEDS[led];
      channels.set(first, args.red).set(first + 1, args.green).set(first + 2, args.blue);
    }
    const packet = ledPacket(channels);
    await robot.rvr.command("set_all_leds", packet, commandOptions(ctx));
    return {
      led: args.led,
      leds: args.led === "undercarriage_white" ? ["undercarriage_white"] : [...leds],
      red: args.red,
      green: args.green,
      blue: args.blue,
      brightness,
      mask: packet.led_group,
    };
  },
});

export const turnLedsOff = tool({
  name: "turn_leds_off",
  title: "Turn all LEDs off",
  description:
    "Switches every LED off, the undercarriage white LED included (all 31 channels to 0). " +
    "get_color_detection switches the white LED on for its reading (colour detection needs " +
    "it). Not affected by the speed limit or the emergency stop.",
  input: {},
  output: {
    channels_off: z.number().int().describe("LED channels set to 0."),
    mask: z.number().int().describe("The set_all_leds bit mask sent."),
  },
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  async handler(robot, _args, ctx) {
    const channels = new Map<number, number>();
    for (let bit = 0; bit <= UNDERCARRIAGE_WHITE_BIT; bit++) channels.set(bit, 0);
    const packet = ledPacket(channels);
    await robot.rvr.command("set_all_leds", packet, commandOptions(ctx));
    return { channels_off: channels.size, mask: packet.led_group };
  },
});

export const LED_TOOLS = [setAllLeds, setLed, turnLedsOff] as const;
