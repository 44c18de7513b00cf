/**
 * The robot layer: the typed RVR API (rvr.ts), the safety rules (safety.ts), the event bus topics
 * (events.ts), and the connection (connection.ts, link_provider.ts). Other layers import it
 * through this file.
 *
 * @module
 */
export * from "./events.ts";
export * from "./link_provider.ts";
export * from "./connection.ts";
export * from "./safety.ts";
export * from "./rvr.ts";
