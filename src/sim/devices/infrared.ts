/**
 * Robot-to-robot infrared (device 0x18 sensor, IR commands): broadcasting and messages go through
 * the world (../world.ts); following and evading steer the body at the broadcaster. Codes > 7 and
 * strengths > 64 -> bad_data_value (the world's RangeError). Stopping the broadcast also ends
 * following (sec. 9.5).
 */
import type { RvrBody } from "../body/mod.ts";
import type { WorldMember } from "../world.ts";
import type { DeviceContext, HandlerGroup } from "./_context.ts";

interface InfraredDrive {
  mode: "follow" | "evade";
  farCode: number;
  nearCode: number;
  targetSeen: boolean;
}

/** The IR follow/evade controller: which broadcaster the body chases or flees. */
export class InfraredControl {
  #drive: InfraredDrive | undefined;

  constructor(readonly body: RvrBody, readonly member: WorldMember) {}

  start(mode: InfraredDrive["mode"], farCode: number, nearCode: number): void {
    this.member.findBroadcaster(farCode, nearCode); // RangeError for codes > 7, before any change
    this.stop();
    this.#drive = { mode, farCode, nearCode, targetSeen: false };
    this.updateTarget();
  }

  /** Ends following/evading (only `mode` when given) and stops the body's IR controller. */
  stop(mode?: InfraredDrive["mode"]): void {
    const ir = this.#drive;
    if (!ir || (mode !== undefined && ir.mode !== mode)) return;
    this.#drive = undefined;
    this.body.setInfraredTarget(ir.mode, null);
  }

  /** Forgets following/evading: another drive controller already replaced it. */
  forget(): void {
    this.#drive = undefined;
  }

  /** Steers the follow/evade controller at the broadcaster's current position; stops when it is lost. */
  updateTarget(): void {
    const ir = this.#drive;
    if (!ir) return;
    const target = this.member.findBroadcaster(ir.farCode, ir.nearCode);
    if (target) this.body.setInfraredTarget(ir.mode, target);
    else if (ir.targetSeen) this.body.setInfraredTarget(ir.mode, null);
    ir.targetSeen = target !== null;
  }
}

type InfraredCommand =
  | "get_bot_to_bot_infrared_readings"
  | "start_robot_to_robot_infrared_broadcasting"
  | "stop_robot_to_robot_infrared_broadcasting"
  | "start_robot_to_robot_infrared_following"
  | "stop_robot_to_robot_infrared_following"
  | "start_robot_to_robot_infrared_evading"
  | "stop_robot_to_robot_infrared_evading"
  | "enable_robot_infrared_message_notify"
  | "send_infrared_message";

export function infraredHandlers(r: DeviceContext): HandlerGroup<InfraredCommand> {
  const ir = r.infrared;
  return {
    get_bot_to_bot_infrared_readings: () => ({ sensor_data: r.member.irReadings() >>> 0 }),
    start_robot_to_robot_infrared_broadcasting: (p) =>
      r.member.startBroadcast(p.far_code, p.near_code),
    stop_robot_to_robot_infrared_broadcasting: () => {
      r.member.stopBroadcast();
      ir.stop("follow"); // sec. 9.5: "also ends following"
    },
    start_robot_to_robot_infrared_following: (p) => ir.start("follow", p.far_code, p.near_code),
    stop_robot_to_robot_infrared_following: () => ir.stop("follow"),
    start_robot_to_robot_infrared_evading: (p) => ir.start("evade", p.far_code, p.near_code),
    stop_robot_to_robot_infrared_evading: () => ir.stop("evade"),
    enable_robot_infrared_message_notify: (p) => {
      r.switches.irMessage = p.is_enabled;
    },
    send_infrared_message: (p) =>
      r.member.sendMessage(p.infrared_code, {
        front: p.front_strength,
        left: p.left_strength,
        right: p.right_strength,
        rear: p.rear_strength,
      }),
  };
}
