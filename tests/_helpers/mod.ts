/**
 * The shared test helpers, one of each: a fake clock, settle, runtime settings, a wire tap, a
 * metric reader, the keep-alive simulator opener, log capture and the golden vectors. Helpers for
 * one folder's tests stay in that folder (tests/robot/_harness.ts, tests/sim/_client.ts, ...).
 */
export {
  FAKEABLE,
  type Fakeable,
  type FakeClock,
  fakeClock,
  type FakeClockOptions,
  withClock,
} from "./clock.ts";
export { outcomeOf, settle, settleErrorWith, settleWith, tickUntil } from "./settle.ts";
export { testSettings } from "./settings.ts";
export { packetName, paramsOf, type WireEvent, WireTap } from "./wire.ts";
export {
  type MetricSample,
  metricValue,
  type ParsedMetrics,
  parseMetrics,
  samplesOf,
  sampleValue,
} from "./metrics.ts";
export { type KeepAliveSimOpener, keepAliveSimOpener } from "./sim_opener.ts";
export { captureLogs } from "./logs.ts";
export {
  fromHex,
  loadVectors,
  protocolDocSection,
  toHex,
  type Vector,
  type VectorFrame,
} from "./vectors.ts";
