/**
 * The colour and light sensor (device 0x18 sensor, colour commands).
 * - enable_color_detection switches the detector and the belly LED (channel 30).
 *   get_current_detected_color_reading sends one color_detection_notify after its reply; with the
 *   detector off it answers restricted 0x04 and sends nothing. Periodic notifications need both
 *   the detector and enable_color_detection_notify, and skip readings below the minimum
 *   confidence; intervals below MIN_COLOR_NOTIFY_INTERVAL_MS -> bad_data_value.
 * - Classification uses the active palette (color.ts's rule); rgbc channels are the floor colour
 *   x 64 with the LED on, scaled by ambient light / 1000 lux (max 1) without it.
 */
import { ErrorCode } from "../../protocol/mod.ts";
import type { ColorReading } from "../color.ts";
import { CommandError, type Guard, type NotifyHost, type TimerId } from "../context.ts";
import type { WorldMember } from "../world.ts";
import type { DeviceContext, HandlerGroup } from "./_context.ts";
import { type LedBank, type Palettes, UNDERCARRIAGE_CHANNEL } from "./io.ts";

/** Shortest interval enable_color_detection_notify accepts [?]. */
export const MIN_COLOR_NOTIFY_INTERVAL_MS = 10;

/** The colour detector: on/off, its periodic notifications, what it sees. */
export class ColorSensor {
  detection = false;
  #notifyTimer: TimerId | undefined;

  constructor(
    readonly member: WorldMember,
    readonly palettes: Palettes,
    readonly leds: LedBank,
    readonly notify: NotifyHost,
    readonly guard: Guard,
    readonly isAwake: () => boolean,
  ) {}

  /** What the colour detector sees: the floor colour classified against the active palette. */
  sample(): ColorReading {
    return this.member.colorUnder(this.palettes.active);
  }

  /** Switches the detector and its belly LED. */
  setDetection(on: boolean): void {
    this.detection = on;
    this.leds.values[UNDERCARRIAGE_CHANNEL] = on ? 255 : 0;
  }

  sendNotification(c: ColorReading): void {
    this.notify("color_detection_notify", {
      red: c.r,
      green: c.g,
      blue: c.b,
      confidence: c.confidence,
      color_classification_id: c.classificationId,
    });
  }

  startNotify(intervalMs: number, minConfidence: number): void {
    this.#notifyTimer = setInterval(
      () => this.guard("colour", () => this.#tick(minConfidence)),
      intervalMs,
    );
  }

  stopNotify(): void {
    clearInterval(this.#notifyTimer);
    this.#notifyTimer = undefined;
  }

  #tick(minConfidence: number): void {
    if (!this.isAwake() || !this.detection) return;
    const c = this.sample();
    if (c.confidence >= minConfidence) this.sendNotification(c);
  }
}

type ColorCommand =
  | "get_rgbc_sensor_values"
  | "get_ambient_light_sensor_value"
  | "enable_color_detection"
  | "enable_color_detection_notify"
  | "get_current_detected_color_reading";

export function colorHandlers(r: DeviceContext): HandlerGroup<ColorCommand> {
  const color = r.color;
  return {
    get_rgbc_sensor_values: () => {
      const c = r.member.colorUnder();
      // Raw channels: the detector's LED lights the floor; without it only ambient light does.
      const gain = color.detection ? 64 : 64 * Math.min(1, r.member.ambientLightLux() / 1000);
      const red = Math.round(c.r * gain);
      const green = Math.round(c.g * gain);
      const blue = Math.round(c.b * gain);
      return {
        red_channel_value: red,
        green_channel_value: green,
        blue_channel_value: blue,
        clear_channel_value: Math.min(0xffff, red + green + blue),
      };
    },
    get_ambient_light_sensor_value: () => ({
      ambient_light_value: r.member.ambientLightLux(),
    }),
    enable_color_detection: (p) => color.setDetection(p.is_enabled),
    enable_color_detection_notify: (p) => {
      if (p.is_enabled && p.interval < MIN_COLOR_NOTIFY_INTERVAL_MS) {
        throw new RangeError(
          `Colour notification interval ${p.interval} ms is below ${MIN_COLOR_NOTIFY_INTERVAL_MS} ms.`,
        );
      }
      color.stopNotify();
      if (!p.is_enabled) return;
      color.startNotify(p.interval, p.minimum_confidence_threshold);
    },
    get_current_detected_color_reading: (_p, ctx) => {
      if (!color.detection) {
        throw new CommandError(
          ErrorCode.restricted,
          "colour detection is off; send enable_color_detection first",
        );
      }
      ctx.after = () => color.sendNotification(color.sample());
    },
  };
}
