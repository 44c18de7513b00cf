/**
 * Colour under the robot: palette entries and the classification rule shared by the colour sensor
 * and get_color_identification_report. Classification: the nearest palette colour (Euclidean RGB
 * distance d); confidence = 255 * (1 - d / COLOR_MATCH_DISTANCE); below zero confidence, or when
 * the brightest channel is under COLOR_DARK_LEVEL (too dark), the id is 0xFF with confidence 0.
 */

export interface Rgb {
  r: number;
  g: number;
  b: number;
}
export interface ColorReading extends Rgb {
  /** 0-255. */
  confidence: number;
  /** Palette index, 0xFF unknown. */
  classificationId: number;
}
/** One colour-palette entry (set_active_color_palette uses (index, r, g, b) quadruples). */
export interface PaletteEntry extends Rgb {
  index: number;
}
/** Default colour palette [?] (index, r, g, b). */
export const DEFAULT_COLOR_PALETTE: readonly PaletteEntry[] = Object.freeze([
  { index: 0, r: 255, g: 255, b: 255 },
  { index: 1, r: 255, g: 0, b: 0 },
  { index: 2, r: 0, g: 255, b: 0 },
  { index: 3, r: 0, g: 0, b: 255 },
  { index: 4, r: 255, g: 255, b: 0 },
  { index: 5, r: 255, g: 0, b: 255 },
  { index: 6, r: 0, g: 255, b: 255 },
  { index: 7, r: 255, g: 128, b: 0 },
  { index: 8, r: 128, g: 128, b: 128 },
]);
/** RGB distance at which classification confidence reaches 0. */
export const COLOR_MATCH_DISTANCE = 160;
/** Brightest channel below this: too dark to classify. */
export const COLOR_DARK_LEVEL = 24;
/** Classification id of "no palette colour matches". */
const UNKNOWN_COLOR_ID = 0xff;

/** Classifies an RGB reading against a palette (see the file comment). */
export function classifyColor(c: Rgb, palette: readonly PaletteEntry[]): ColorReading {
  const unknown = { r: c.r, g: c.g, b: c.b, confidence: 0, classificationId: UNKNOWN_COLOR_ID };
  if (Math.max(c.r, c.g, c.b) < COLOR_DARK_LEVEL || palette.length === 0) return unknown;
  let best = palette[0];
  let bestD = Infinity;
  for (const p of palette) {
    const d = Math.hypot(p.r - c.r, p.g - c.g, p.b - c.b);
    if (d < bestD) {
      bestD = d;
      best = p;
    }
  }
  const confidence = Math.round(255 * (1 - bestD / COLOR_MATCH_DISTANCE));
  if (confidence <= 0) return unknown;
  return { r: c.r, g: c.g, b: c.b, confidence, classificationId: best.index };
}
