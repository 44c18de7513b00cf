/** What the device handlers work on: the robot's models, its device state and its callbacks. */
import type { COMMANDS, RequestName, RequestOf, ResponseOf } from "../../protocol/mod.ts";
import type { RvrBody } from "../body/mod.ts";
import type { Guard, NotifyHost, RequestContext } from "../context.ts";
import type { BatteryModel, ThermalModel } from "../power_model.ts";
import type { StreamingEngine } from "../streaming.ts";
import type { WorldMember } from "../world.ts";
import type { ColorSensor } from "./color.ts";
import type { InfraredControl } from "./infrared.ts";
import type { LedBank, Palettes } from "./io.ts";
import type { MotionTracker } from "./magnetometer.ts";

/** The notification switches the host turns on with enable_*_notify. */
export const NOTIFY_SWITCHES = [
  "batteryState",
  "motorStall",
  "motorFault",
  "gyroMax",
  "thermal",
  "irMessage",
] as const;
export type NotifySwitch = (typeof NOTIFY_SWITCHES)[number];

/** The robot's own identity, derived from its name. */
export interface Identity {
  readonly bluetoothName: string;
  readonly macAddress: string;
  readonly statsId: number;
}

/** What the robot around the devices provides. */
export interface DeviceBase {
  readonly name: string;
  readonly identity: Identity;
  readonly body: RvrBody;
  readonly battery: BatteryModel;
  readonly thermal: ThermalModel;
  readonly member: WorldMember;
  readonly notify: NotifyHost;
  readonly guard: Guard;
  /** Core up time, ms. */
  upTimeMs(): number;
  isRunning(): boolean;
  isAwake(): boolean;
  motorFault(): boolean;
  sleep(reason: string): void;
  wake(ctx: RequestContext): void;
}

/** DeviceBase plus the device state shared by the handler groups. */
export interface DeviceContext extends DeviceBase {
  readonly switches: Record<NotifySwitch, boolean>;
  readonly streaming: StreamingEngine;
  readonly leds: LedBank;
  readonly palettes: Palettes;
  readonly color: ColorSensor;
  readonly infrared: InfraredControl;
  readonly motion: MotionTracker;
}

type Reply<N extends RequestName> = keyof ResponseOf<N> extends never ? void : ResponseOf<N>;
/** One handler per host command of sec. 8. */
export type Handlers = { [N in RequestName]: (p: RequestOf<N>, ctx: RequestContext) => Reply<N> };
/** The handlers of some commands (one device, or part of one). */
export type HandlerGroup<N extends RequestName> = Pick<Handlers, N>;
/** The host commands of one device of the command table. */
export type DeviceCommand<D extends string> = Extract<
  (typeof COMMANDS)[number],
  { device: D; kind: "command" }
>["name"];
/** The handlers of every command of one device. */
export type DeviceHandlers<D extends string> = HandlerGroup<DeviceCommand<D>>;
