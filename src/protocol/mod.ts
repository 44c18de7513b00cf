/** The RVR wire protocol: pure codec, no I/O, no time. */
export * from "./constants.ts";
export * from "./checksum.ts";
export * from "./escape.ts";
export * from "./packet.ts";
export * from "./frame_decoder.ts";
export * from "./fields.ts";
export * from "./commands/mod.ts";
export * from "./streaming.ts";
export * from "./stream_slots.ts";
export * from "./angles.ts";
export * from "./drive_control.ts";
export * from "./motor_thermal.ts";
