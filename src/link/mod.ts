/** The link layer: byte transports (tty, in-memory) and RvrLink on top of them. */
export * from "./byte_port.ts";
export * from "./memory_port.ts";
export * from "./tty_port.ts";
export * from "./rvr_link.ts";
export * from "./errors.ts";
