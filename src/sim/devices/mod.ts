/**
 * The simulated RVR's devices, grouped like src/protocol/commands/: one handler per host command
 * of sec. 8, and the device state they share (notification switches, LEDs, palettes, colour
 * detector, IR control, motion tracking, streaming).
 */
import { getLogger } from "@logtape/logtape";
import type { CommandDef, RequestName } from "../../protocol/mod.ts";
import type { RequestContext } from "../context.ts";
import { StreamingEngine } from "../streaming.ts";
import { apiAndShellHandlers } from "./api_and_shell.ts";
import { colorHandlers, ColorSensor } from "./color.ts";
import { connectionHandlers } from "./connection.ts";
import type { DeviceBase, DeviceContext, Handlers, NotifySwitch } from "./_context.ts";
import { driveHandlers } from "./drive.ts";
import { InfraredControl, infraredHandlers } from "./infrared.ts";
import { ioHandlers, LedBank, Palettes } from "./io.ts";
import { magnetometerHandlers, MotionTracker } from "./magnetometer.ts";
import { powerHandlers } from "./power.ts";
import { sensorHandlers } from "./sensor.ts";
import { streamingHandlers, streamValues } from "./streaming.ts";
import { systemInfoHandlers } from "./system_info.ts";

export type { DeviceBase, Identity, NotifySwitch } from "./_context.ts";
export { MIN_COLOR_NOTIFY_INTERVAL_MS } from "./color.ts";
export { COLOR_PALETTE_SLOTS, LED_CHANNELS } from "./io.ts";
export { SIM_BOARD_REVISION, SIM_FIRMWARE, SIM_SKU } from "./system_info.ts";

const log = getLogger(["rvr", "sim"]);

type AnyHandler = (p: unknown, ctx: RequestContext) => Record<string, unknown> | void;

/** Every device of one robot: its state and its command handlers. */
export class Devices {
  readonly switches: Record<NotifySwitch, boolean> = {
    batteryState: false,
    motorStall: false,
    motorFault: false,
    gyroMax: false,
    thermal: false,
    irMessage: false,
  };
  readonly leds: LedBank = new LedBank();
  readonly palettes: Palettes = new Palettes();
  readonly color: ColorSensor;
  readonly infrared: InfraredControl;
  readonly motion: MotionTracker;
  readonly streaming: StreamingEngine;
  readonly #handlers: Handlers;

  constructor(readonly base: DeviceBase) {
    this.color = new ColorSensor(
      base.member,
      this.palettes,
      this.leds,
      base.notify,
      base.guard,
      () => base.isAwake(),
    );
    this.infrared = new InfraredControl(base.body, base.member);
    this.motion = new MotionTracker(base.body, base.member, this.infrared, base.notify);
    this.streaming = new StreamingEngine((key) => streamValues(ctx, key), base.notify, base.guard);
    const ctx: DeviceContext = {
      ...base,
      switches: this.switches,
      streaming: this.streaming,
      leds: this.leds,
      palettes: this.palettes,
      color: this.color,
      infrared: this.infrared,
      motion: this.motion,
    };
    base.member.onMessage((code) => this.#onInfraredMessage(code));
    this.#handlers = {
      ...apiAndShellHandlers(),
      ...systemInfoHandlers(ctx),
      ...powerHandlers(ctx),
      ...driveHandlers(ctx),
      ...sensorHandlers(ctx),
      ...magnetometerHandlers(ctx),
      ...infraredHandlers(ctx),
      ...colorHandlers(ctx),
      ...streamingHandlers(ctx),
      ...connectionHandlers(ctx),
      ...ioHandlers(ctx),
    };
  }

  /** Runs a routed, decoded command; returns its reply values. */
  dispatch(
    def: CommandDef,
    params: Record<string, unknown>,
    ctx: RequestContext,
  ): Record<string, unknown> | void {
    const handler = this.#handlers[def.name as RequestName] as unknown as AnyHandler;
    const values = handler(params, ctx);
    this.motion.afterCommand(def.name);
    return values;
  }

  /** Going to sleep: halt, streaming timers (slots kept), colour, IR broadcast and LEDs off. */
  sleep(): void {
    this.motion.cancelCalibration();
    this.motion.haltBody();
    for (const node of [1, 2] as const) this.streaming.stop(node);
    this.color.stopNotify();
    this.color.detection = false;
    this.base.member.stopBroadcast();
    this.leds.off();
  }

  /** The simulator stops: every device timer ends. */
  shutdown(): void {
    this.motion.cancelCalibration();
    for (const node of [1, 2] as const) this.streaming.stop(node);
    this.color.stopNotify();
  }

  #onInfraredMessage(code: number): void {
    if (!this.base.isRunning() || !this.base.isAwake()) return;
    log.debug("IR message {code} reached {name}", { code, name: this.base.name });
    if (this.switches.irMessage) {
      this.base.notify("robot_to_robot_infrared_message_received_notify", { infrared_code: code });
    }
  }
}
