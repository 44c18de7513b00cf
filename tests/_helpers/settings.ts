/** Runtime settings for tests: quick timeouts, no heartbeat, fast sensor period. */
import type { RuntimeSettings } from "../../src/robot/runtime.ts";

const BASE: Readonly<RuntimeSettings> = Object.freeze({
  serialPort: "sim",
  baudRate: 115200,
  requestTimeoutMs: 200,
  wakeTimeout: 2,
  heartbeatMs: 0,
  maxSpeedPercent: 50,
  commandTimeout: 5,
  commandQueueSize: 100,
  circuitBreakerFailureThreshold: 3,
  circuitBreakerTimeout: 10,
  sensorInterval: 100,
  sensorCacheTtl: 1000,
});

/** A fresh copy of the test settings with `overrides` applied. */
export function testSettings(overrides: Partial<RuntimeSettings> = {}): RuntimeSettings {
  return { ...BASE, ...overrides };
}
