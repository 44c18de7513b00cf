/**
 * The light_show prompt: a sequence of LED calls (set_all_leds, set_led) the model plays in
 * order, ending with turn_leds_off. LEDs never move the robot: the speed limit and the
 * emergency stop do not apply to them. Also the named colours other prompts use.
 *
 * @module
 */
import { z } from "zod";
import { setAllLeds, setLed, turnLedsOff } from "./leds.ts";
import { callText, prompt } from "./_prompt.ts";
import { robotFacts } from "./prompt_facts.ts";

/** Named colours a person can pick, as RGB 0-255. */
export const COLOURS = {
  red: [255, 0, 0],
  orange: [255, 100, 0],
  yellow: [255, 200, 0],
  green: [0, 255, 0],
  cyan: [0, 255, 255],
  blue: [0, 0, 255],
  purple: [160, 0, 255],
  pink: [255, 60, 160],
  white: [255, 255, 255],
} as const satisfies Record<string, readonly [number, number, number]>;
export const COLOUR_NAMES = Object.keys(COLOURS) as (keyof typeof COLOURS)[];
export type ColourName = keyof typeof COLOURS;

/** The shows, in menu order. */
export const LIGHT_SHOWS = ["rainbow", "police", "traffic_light", "pulse"] as const;
export type LightShow = typeof LIGHT_SHOWS[number];

/** Most rounds of one show (each round is at most six LED calls). */
export const MAX_ROUNDS = 5;

const RAINBOW: readonly ColourName[] = ["red", "orange", "yellow", "green", "blue", "purple"];
const PULSE_LEVELS = [0.2, 0.5, 1, 0.5, 0.2] as const;

/** `colour` as set_all_leds arguments, scaled by `level` (0-1). */
function rgb(colour: ColourName, level = 1): { red: number; green: number; blue: number } {
  const [red, green, blue] = COLOURS[colour].map((c) => Math.round(c * level));
  return { red, green, blue };
}

/** The LED calls of one round of `show`. */
function round(show: LightShow, colour: ColourName): string[] {
  switch (show) {
    case "rainbow":
      return RAINBOW.map((c) => callText(setAllLeds, rgb(c)));
    case "traffic_light":
      return (["red", "yellow", "green"] as const).map((c) => callText(setAllLeds, rgb(c)));
    case "pulse":
      return PULSE_LEVELS.map((level) => callText(setAllLeds, rgb(colour, level)));
    case "police":
      return [
        callText(setLed, { led: "left_headlight", ...rgb("red") }),
        callText(setLed, { led: "right_headlight", ...rgb("blue") }),
        callText(setLed, { led: "left_headlight", ...rgb("blue") }),
        callText(setLed, { led: "right_headlight", ...rgb("red") }),
      ];
  }
}

const SHOW_TEXT: Record<LightShow, string> = {
  rainbow: "all lights through the colours of the rainbow",
  police: "the headlights flashing red and blue in turn",
  traffic_light: "all lights red, yellow, green like a traffic light",
  pulse: "all lights pulsing dim, bright and dim again in one colour",
};

export const lightShow = prompt({
  name: "light_show",
  title: "Light show",
  description: "Plays a light show on the RVR's LEDs (rainbow, police, traffic light or a pulse " +
    "in one colour) for a few rounds, then switches the lights off. The robot does not move.",
  arguments: {
    show: z.enum(LIGHT_SHOWS).default("rainbow").describe(
      `Which show: ${LIGHT_SHOWS.join(", ")} (default rainbow).`,
    ),
    rounds: z.number().int().min(1).max(MAX_ROUNDS).default(2).describe(
      `How many times to play it, 1-${MAX_ROUNDS} (default 2).`,
    ),
    colour: z.enum(COLOUR_NAMES).default("blue").describe(
      `The colour of the pulse show: ${COLOUR_NAMES.join(", ")} (default blue).`,
    ),
  },
  suggestions: { rounds: ["1", "2", "3", "4", "5"] },
  messages(args, robot) {
    const steps: string[] = [];
    for (let r = 0; r < args.rounds; r++) steps.push(...round(args.show, args.colour));
    steps.push(callText(turnLedsOff, {}));
    const what = args.show === "pulse"
      ? `${SHOW_TEXT.pulse} (${args.colour})`
      : SHOW_TEXT[args.show];
    const text = [
      `Play a light show on the RVR: ${what}, ${args.rounds} round${args.rounds === 1 ? "" : "s"}.`,
      "",
      robotFacts(robot),
      "",
      "LEDs do not move the robot: the speed limit and the emergency stop do not apply, so the " +
      "show may play even while the emergency stop is latched. If the robot is not connected, " +
      "call `connect` first. Make these calls in this order, each after the previous one " +
      "returned (there is no pause tool: the show runs as fast as the calls do):",
      "",
      ...steps.map((s, i) => `${i + 1}. ${s}`),
      "",
      "If a call fails, tell the person what its error says and still end with " +
      `${callText(turnLedsOff, {})}. Then tell the person the show is over.`,
    ].join("\n");
    return [{ role: "user", text }];
  },
});
