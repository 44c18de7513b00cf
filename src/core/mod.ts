/**
 * The runtime core: command queue, circuit breaker, event bus, errors and small
 * async helpers, the metrics registry, and BytePort, the seam between a protocol stack and a byte
 * transport. Depends on nothing above it (no src/link, src/robot).
 * Metrics observe these components through their stats getters and listeners.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./async.ts";
export * from "./abort_watch.ts";
export * from "./command_queue.ts";
export * from "./circuit_breaker.ts";
export * from "./event_bus.ts";
export * from "./metrics.ts";
export * from "./validate.ts";
export * from "./byte_port.ts";
