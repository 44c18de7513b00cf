/** The shapes the connection manager works with: ports, options, results, closing hooks. */
import type { RobotMetrics as Metrics } from "../metrics.ts";
import type { BytePort, RvrLink, RvrLinkOptions } from "../../link/mod.ts";
import { type StateStore } from "../state.ts";

/** A port opened for one connection, with how to release it (and anything behind it). */
export interface OpenedPort {
  port: BytePort;
  /** True when the built-in simulator is on the other end. */
  simulated: boolean;
  close(): Promise<void>;
}

/** Where to connect: a tty path (or "sim"/"auto", resolved by the opener) and a baud rate. */
export interface PortSpec {
  path: string;
  baudRate: number;
}

export type PortOpener = (spec: PortSpec) => Promise<OpenedPort>;

export interface ConnectionOptions {
  openPort: PortOpener;
  /** What `connect()` without arguments and the background reconnect use. */
  spec: PortSpec;
  state: StateStore;
  metrics?: Metrics;
  /** RVR_WAKE_TIMEOUT in ms: how long one connect may try. */
  wakeTimeoutMs: number;
  /** RVR_HEARTBEAT_MS; 0 disables the heartbeat. */
  heartbeatMs: number;
  /** Default reply timeout of the link (RVR_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** More options for every link (e.g. a request observer for metrics). */
  linkOptions?: Omit<RvrLinkOptions, "defaultTimeoutMs">;
  /** Pauses between background reconnect attempts. Default 250 ms growing to 5 s. */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
}

export interface ConnectResult {
  port: string;
  simulated: boolean;
  wakeMs: number;
  attempts: number;
}

/** Run before a link is closed on purpose or after it went silent; e.g. put drive_stop on the wire. */
export type ClosingHook = (link: RvrLink, reason: string) => Promise<void> | void;
