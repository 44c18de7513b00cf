/** The link layer: byte transports (tty, in-memory) and RvrLink on top of them. */
// BytePort is the seam in core (the simulator implements it without importing link); its
// users keep importing it from here.
export { type BytePort, type BytePortHandlers, PortClosedError } from "../core/mod.ts";
export * from "./memory_port.ts";
export * from "./tty_port.ts";
export * from "./rvr_link.ts";
export * from "./errors.ts";
export * from "./serial_device.ts";
export * from "./metrics.ts";
