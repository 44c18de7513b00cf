/**
 * Device 0x1A io: the LEDs and the colour palettes.
 * - set_all_leds: LED mask bit 31, or a mask/value count mismatch -> bad_data_value.
 *   release_led_requests sets every channel to 0 (the firmware's animation is not modelled; the
 *   belly LED stays lit while colour detection is on).
 * - Palettes: 4 slots (0-3) for save/load, each holding DEFAULT_COLOR_PALETTE at boot; palettes not
 *   made of (index, r, g, b) quadruples, naming an index twice, or slots >= 4 -> bad_data_value.
 */
import { classifyColor, DEFAULT_COLOR_PALETTE, type PaletteEntry } from "../color.ts";
import type { DeviceContext, DeviceHandlers } from "./_context.ts";

/** set_all_leds channels: 10 RGB LEDs + the undercarriage white LED (sec. 9.6). */
export const LED_CHANNELS = 31;
/** The undercarriage (belly) LED the colour detector lights. */
export const UNDERCARRIAGE_CHANNEL = 30;
/** Palette slots load_color_palette / save_color_palette address (0..n-1) [?]. */
export const COLOR_PALETTE_SLOTS = 4;

/** The 31 LED channel values and whether the host released them. */
export class LedBank {
  readonly values: number[] = new Array<number>(LED_CHANNELS).fill(0);
  /** True after release_led_requests (or sleep) until the next set_all_leds. */
  released = true;

  /** Every channel off, released (sleep). */
  off(): void {
    this.values.fill(0);
    this.released = true;
  }
}

/** The active colour palette and the saved ones. */
export class Palettes {
  active: PaletteEntry[] = DEFAULT_COLOR_PALETTE.map((e) => ({ ...e }));
  readonly saved: PaletteEntry[][] = Array.from(
    { length: COLOR_PALETTE_SLOTS },
    () => DEFAULT_COLOR_PALETTE.map((e) => ({ ...e })),
  );

  checkSlot(index: number): void {
    if (index >= COLOR_PALETTE_SLOTS) {
      throw new RangeError(
        `Palette slot ${index} does not exist; use 0-${COLOR_PALETTE_SLOTS - 1}.`,
      );
    }
  }
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v >>>= 1) n += v & 1;
  return n;
}

export function ioHandlers(r: DeviceContext): DeviceHandlers<"io"> {
  const leds = r.leds;
  const palettes = r.palettes;
  return {
    set_all_leds: (p) => {
      const mask = p.led_group;
      if (mask >>> LED_CHANNELS !== 0) {
        throw new RangeError(
          `LED mask 0x${mask.toString(16)} sets bits above ${
            LED_CHANNELS - 1
          }; use 0x7FFFFFFF at most.`,
        );
      }
      const values = p.led_brightness_values;
      if (values.length !== popcount(mask)) {
        throw new RangeError(
          `LED mask 0x${mask.toString(16)} sets ${
            popcount(mask)
          } bits but ${values.length} values came.`,
        );
      }
      let k = 0;
      for (let bit = 0; bit < LED_CHANNELS; bit++) {
        if (mask & (1 << bit)) leds.values[bit] = values[k++];
      }
      leds.released = false;
    },
    release_led_requests: () => {
      leds.values.fill(0);
      if (r.color.detection) leds.values[UNDERCARRIAGE_CHANNEL] = 255;
      leds.released = true;
    },
    get_active_color_palette: () => ({
      rgb_index_bytes: palettes.active.flatMap((e) => [e.index, e.r, e.g, e.b]),
    }),
    set_active_color_palette: (p) => {
      const bytes = p.rgb_index_bytes;
      if (bytes.length % 4 !== 0) {
        throw new RangeError(
          `Palette has ${bytes.length} bytes; it takes 4 per colour (index, r, g, b).`,
        );
      }
      const entries: PaletteEntry[] = [];
      for (let i = 0; i < bytes.length; i += 4) {
        const index = bytes[i];
        if (entries.some((e) => e.index === index)) {
          throw new RangeError(`Palette names colour index ${index} twice.`);
        }
        entries.push({ index, r: bytes[i + 1], g: bytes[i + 2], b: bytes[i + 3] });
      }
      palettes.active = entries;
    },
    get_color_identification_report: (p) => {
      const c = { r: p.red, g: p.green, b: p.blue };
      // Each palette colour scored alone, with the world's classification rule.
      const matches = palettes.active
        .map((e) => ({ index: e.index, confidence: classifyColor(c, [e]).confidence }))
        .filter((m) => m.confidence > 0 && m.confidence >= p.confidence_threshold)
        .sort((x, y) => y.confidence - x.confidence)
        .slice(0, 12);
      return { index_confidence_byte: matches.flatMap((m) => [m.index, m.confidence]) };
    },
    load_color_palette: (p) => {
      palettes.checkSlot(p.palette_index);
      palettes.active = palettes.saved[p.palette_index].map((e) => ({ ...e }));
    },
    save_color_palette: (p) => {
      palettes.checkSlot(p.palette_index);
      palettes.saved[p.palette_index] = palettes.active.map((e) => ({ ...e }));
    },
  };
}
