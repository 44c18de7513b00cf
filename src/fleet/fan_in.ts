/**
 * The gateway's telemetry fan-in: one wildcard subscription, `rvr.<fleet>.*.telemetry`, for
 * every robot's batches. Each batch is decoded (protobuf or JSON, src/telemetry/wire), counted per
 * robot, and checked against the robot's sequence: a gap is counted as lost, so received + lost
 * accounts for every batch a robot sent while the gateway listened. A batch that does not decode
 * is counted and logged (the 1st, 10th, 100th, ... time), never thrown.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { errorMessage } from "../core/mod.ts";
import { decodeBatch, type TelemetryBatch } from "../telemetry/wire/protobuf.ts";
import type { FleetLink, Subscription } from "./nats.ts";
import { fleetSubjects, robotOfTelemetrySubject } from "./subjects.ts";

const log = getLogger(["rvr", "fleet", "telemetry"]);

/** Per robot: what arrived. */
export interface FanInCounts {
  received: number;
  /** Batches missing from the sequence between two that arrived. */
  lost: number;
  /** The last batch's seq. */
  lastSeq: number;
  /** The last batch, decoded. */
  last: TelemetryBatch | undefined;
}

export interface FanInOptions {
  readonly link: FleetLink;
  readonly fleet: string;
  /** Every decoded batch, with its robot id. */
  readonly onBatch?: (robot: string, batch: TelemetryBatch) => void;
}

export class TelemetryFanIn {
  readonly #options: FanInOptions;
  readonly #counts = new Map<string, FanInCounts>();
  #undecodable = 0;
  #sub: Subscription | undefined;
  #off: (() => void) | undefined;

  constructor(options: FanInOptions) {
    this.#options = options;
  }

  start(): void {
    const subject = fleetSubjects(this.#options.fleet).allTelemetry;
    this.#off = this.#options.link.onConnection((nc) => {
      this.#sub = nc.subscribe(subject, {
        callback: (error, msg) => {
          if (error) {
            log.warn("Telemetry subscription error: {error}", { error: error.message });
            return;
          }
          this.#receive(msg.subject, msg.data);
        },
      });
    });
  }

  stop(): void {
    this.#off?.();
    this.#sub?.unsubscribe();
  }

  /** Counts per robot id. */
  get counts(): ReadonlyMap<string, Readonly<FanInCounts>> {
    return this.#counts;
  }

  /** Payloads that were not a TelemetryBatch. */
  get undecodable(): number {
    return this.#undecodable;
  }

  #receive(subject: string, data: Uint8Array): void {
    const robot = robotOfTelemetrySubject(this.#options.fleet, subject);
    if (robot === undefined) return;
    let batch: TelemetryBatch;
    try {
      batch = decodeBatch(data);
    } catch (error) {
      this.#undecodable++;
      const n = this.#undecodable;
      if (n === 1 || Math.log10(n) % 1 === 0) {
        log.warn("Telemetry from {robot} is not a rvr.v1.TelemetryBatch ({n} so far): {error}", {
          robot,
          n,
          error: errorMessage(error),
        });
      }
      return;
    }
    let c = this.#counts.get(robot);
    if (!c) this.#counts.set(robot, c = { received: 0, lost: 0, lastSeq: 0, last: undefined });
    const seq = Number(batch.seq);
    // A seq that does not follow is a gap; one that starts over is a restarted robot.
    if (c.received > 0 && seq > c.lastSeq + 1) c.lost += seq - c.lastSeq - 1;
    c.received++;
    c.lastSeq = seq;
    c.last = batch;
    try {
      this.#options.onBatch?.(robot, batch);
    } catch (error) {
      log.error("A telemetry listener threw: {error}", { error: String(error) });
    }
  }
}
