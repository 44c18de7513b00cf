/**
 * The robot's event bus topics: what the robot layer publishes and the MCP, HTTP and telemetry
 * layers subscribe to. One bus per program (`new EventBus<RobotTopics>()`), built by the
 * composition root and handed to the robot layer.
 *
 * | topic | payload | published by |
 * |---|---|---|
 * | `robot.notification` | {@link RobotNotification}: every notification the robot sends | `Rvr`, for each link |
 * | `robot.sample` | {@link RobotSample}: decoded sensor stream samples | the sensor streams (src/robot/sensors) |
 * | `robot.state` | `StateChange` from src/robot/state.ts | {@link bridgeStateToBus} (started by `Rvr`) |
 * | `safety` | {@link SafetyEvent} | `Safety` and `Rvr` |
 *
 * @module
 */
import type { EventBus } from "../core/mod.ts";
import type { NodeId, NotificationName } from "../protocol/mod.ts";
import type { StateChange, StateStore } from "./state.ts";

/** A notification the robot sent on its own (rvr-protocol.md section 8, rows marked with an arrow). */
export interface RobotNotification {
  /** Its section 8 name, e.g. "motor_stall_notify". */
  readonly name: NotificationName;
  /** The processor that sent it: 1 Nordic, 2 ST. */
  readonly node: NodeId;
  /** The decoded payload, field name to value (empty for notifications without payload). */
  readonly values: Readonly<Record<string, unknown>>;
  /** Epoch ms when it was received. */
  readonly at: number;
}

/**
 * One decoded sensor stream sample. The sensor-stream layer defines the fields; the bus only
 * requires a receive time. Treat it as read-only.
 */
export interface RobotSample {
  /** Epoch ms when it was received. */
  readonly at: number;
  readonly [field: string]: unknown;
}

/** What a safety event is about. */
export const SAFETY_EVENT_TYPES = [
  /** The emergency stop was latched. */
  "estop",
  /** The emergency stop was released (nothing resumes). */
  "estop_cleared",
  /** The server stopped the robot on its own (watchdog, shutdown, link loss). */
  "auto_stop",
  /** A motor stalled (or its stall protection released); the robot was stopped. */
  "stall",
  /** The motor driver reported a fault (or that it cleared); the robot was stopped. */
  "motor_fault",
  /** A motor's thermal protection status changed (warn or critical; critical stops the robot). */
  "thermal",
  /** The battery became critical (movement blocked) or recovered. */
  "battery",
  /** A movement command was reduced to the speed limit. */
  "limited",
] as const;
export type SafetyEventType = typeof SAFETY_EVENT_TYPES[number];

export interface SafetyEvent {
  readonly type: SafetyEventType;
  /** One human-readable sentence: what happened and what was done. */
  readonly detail: string;
  /** Epoch ms. */
  readonly at: number;
  /** Machine-readable extras (command, reason, values, ...), when there are any. */
  readonly data?: Readonly<Record<string, unknown>>;
}

/** Topic name to payload type, for `EventBus<RobotTopics>`. */
export interface RobotTopics {
  "robot.notification": RobotNotification;
  "robot.sample": RobotSample;
  "robot.state": StateChange;
  "safety": SafetyEvent;
}

/** The program's event bus. */
export type RobotBus = EventBus<RobotTopics>;

/**
 * Republishes every state change of `state` on `bus` as "robot.state". Returns a function that
 * stops it.
 */
export function bridgeStateToBus(state: StateStore, bus: RobotBus): () => void {
  return state.addListener((change) => bus.publish("robot.state", change));
}
