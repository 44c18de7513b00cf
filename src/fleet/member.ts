/**
 * A robot's membership of a fleet: beside its local MCP, the program registers the NATS service
 * `rvr` (metadata: robot id, fleet, version, simulated), answers tool calls on
 * `rvr.<fleet>.<robot>.call` through the catalog ({@link runCall}), publishes every telemetry
 * window on `rvr.<fleet>.<robot>.telemetry` (src/telemetry/wire), and latches its e-stop on the
 * fleet's `rvr.<fleet>.estop` broadcast, replying `{robot, latched_at}` when asked to.
 *
 * The broker is never in the robot's way: without it the member counts the telemetry it could not
 * send and serves nothing over NATS, while local MCP, safety and the watchdog go on; the link
 * ({@link FleetLink}) rejoins by itself. A robot id already taken in the fleet (another member's
 * service says so) makes this one refuse to join, with an error in the log saying why and how.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { errorMessage } from "../core/mod.ts";
import type { Aggregator, Batch } from "../telemetry/mod.ts";
import { robotIsSimulated, type ToolRobot } from "../tools/mod.ts";
import { encodeBatchAs, type FleetFormat } from "../telemetry/wire/protobuf.ts";
import { parseCallRequest, runCall } from "./call.ts";
import {
  addService,
  discover,
  type EndpointMsg,
  type FleetLink,
  type FleetService,
  type Msg,
  type NatsConnection,
} from "./nats.ts";
import {
  checkId,
  type FleetSubjects,
  fleetSubjects,
  type MemberMetadata,
  SERVICE_NAME,
} from "./subjects.ts";

/** What a member is. */
export interface MemberOptions {
  readonly link: FleetLink;
  /** The robot this member serves. */
  readonly robot: ToolRobot;
  /** Its telemetry windows; none published when absent. */
  readonly aggregator?: Aggregator;
  readonly robotId: string;
  readonly fleet: string;
  /** The program's version, in the service's metadata. */
  readonly version: string;
  /** RVR_FLEET_FORMAT: telemetry as protobuf (default) or JSON. */
  readonly format?: FleetFormat;
  /** How long to listen for another member with the same id before joining, ms. Default 300. */
  readonly duplicateCheckMs?: number;
}

/** What the member has done, for tests, benches and metrics. */
export interface MemberStats {
  /** True while the service is registered on a live connection. */
  joined: boolean;
  /** Why it refused to join, if it did. */
  refused: string | undefined;
  calls: number;
  /** Telemetry batches published, and not published (no broker). */
  batchesSent: number;
  batchesDropped: number;
  estops: number;
}

/** What a member answers to an e-stop broadcast with a reply subject. */
export interface EstopReply {
  robot: string;
  /** ISO-8601 time the e-stop latched. */
  latched_at: string;
  /** True when drive_stop reached the port. */
  sent: boolean;
}

/** The data a member's service reports in its stats (`$SRV.STATS.rvr`): what the gateway lists. */
export interface MemberStatus {
  battery_percent: number | null;
  estop_latched: boolean;
  connection: string;
  simulated: boolean;
  /**
   * Telemetry batches this member published, and could not publish (no broker), so far: with the
   * gateway's received and lost counts every batch is accounted for.
   */
  telemetry_sent?: number;
  telemetry_dropped?: number;
}

const log = getLogger(["rvr", "fleet", "member"]);

/** The current status of `robot` as members report it. */
export function memberStatus(robot: ToolRobot): MemberStatus {
  const s = robot.state.snapshot;
  return {
    battery_percent: s.safety.batteryPercent,
    estop_latched: s.safety.estopLatched,
    connection: s.connection.status,
    simulated: robotIsSimulated(robot),
  };
}

/** One robot's fleet membership; see the module doc. */
export class Member {
  readonly #options: MemberOptions;
  readonly #subjects: FleetSubjects;
  readonly #stats: MemberStats = {
    joined: false,
    refused: undefined,
    calls: 0,
    batchesSent: 0,
    batchesDropped: 0,
    estops: 0,
  };
  readonly #stop = new AbortController();
  #service: FleetService | undefined;
  #estopSub: { unsubscribe(): void } | undefined;
  #offConnection: (() => void) | undefined;
  #offTelemetry: (() => void) | undefined;
  #joins = 0;
  readonly #watchers = new Set<(stats: Readonly<MemberStats>) => void>();

  constructor(options: MemberOptions) {
    checkId("robot id", options.robotId);
    this.#subjects = fleetSubjects(options.fleet);
    this.#options = options;
  }

  get robotId(): string {
    return this.#options.robotId;
  }

  get stats(): Readonly<MemberStats> {
    return { ...this.#stats, joined: this.#stats.joined && this.#options.link.connected };
  }

  /**
   * Runs `listener` whenever {@link stats} changed (joined, refused, left, a call or e-stop heard,
   * a batch published or dropped). Returns a function that unregisters it.
   */
  watch(listener: (stats: Readonly<MemberStats>) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  #changed(): void {
    if (this.#watchers.size === 0) return;
    const stats = this.stats;
    for (const watcher of this.#watchers) {
      try {
        watcher(stats);
      } catch (error) {
        log.error("A member watcher threw: {error}", { error: errorMessage(error) });
      }
    }
  }

  /** Joins on every new connection and publishes telemetry from now on. */
  start(): void {
    this.#offConnection = this.#options.link.onConnection((nc) => {
      this.#join(nc).catch((error) => {
        log.error("Fleet: {robot} could not join: {error}", {
          robot: this.robotId,
          error: errorMessage(error),
        });
      });
    });
    this.#offTelemetry = this.#options.aggregator?.subscribe((batch) => this.#publish(batch), {
      name: "fleet",
    });
  }

  /** Leaves the fleet: the service stops answering, telemetry stops. The link stays open. */
  async stop(): Promise<void> {
    this.#stop.abort(new Error("the fleet member stopped"));
    this.#offConnection?.();
    this.#offTelemetry?.();
    this.#estopSub?.unsubscribe();
    const service = this.#service;
    this.#service = undefined;
    this.#stats.joined = false;
    this.#changed();
    if (service) {
      const error = await service.stop().catch((e) => e as Error);
      if (error && this.#options.link.connected) {
        log.warn("Fleet: stopping the service of {robot}: {error}", {
          robot: this.robotId,
          error: errorMessage(error),
        });
      }
    }
  }

  /** Another live member with our robot id and fleet, by the services API's ping. */
  async #duplicate(nc: NatsConnection): Promise<string | undefined> {
    const found = await discover(nc, SERVICE_NAME, {
      maxWaitMs: this.#options.duplicateCheckMs ?? 300,
      verb: "info",
    });
    for (const s of found) {
      const m = s.metadata as Partial<MemberMetadata>;
      if (m.robot === this.robotId && m.fleet === this.#options.fleet) {
        return `service ${s.id} (version ${m.version ?? "?"}, simulated ${m.simulated ?? "?"})`;
      }
    }
    return undefined;
  }

  async #join(nc: NatsConnection): Promise<void> {
    if (this.#stop.signal.aborted) return;
    const { robotId, fleet, robot, version } = this.#options;
    const other = await this.#duplicate(nc);
    if (other !== undefined) {
      this.#stats.refused = `robot id ${robotId} is already in fleet ${fleet} (${other})`;
      this.#changed();
      log.error(
        "Fleet: not joining: robot id {robot} is already taken in fleet {fleet} by {other}. " +
          "Give this robot its own id (RVR_ROBOT_ID / --robot-id) and restart it; it keeps " +
          "serving locally meanwhile.",
        { robot: robotId, fleet, other },
      );
      return;
    }
    if (this.#stop.signal.aborted) return;
    const metadata: MemberMetadata = {
      robot: robotId,
      fleet,
      version,
      simulated: String(robotIsSimulated(robot)),
    };
    const service = await addService(nc, {
      name: SERVICE_NAME,
      version,
      description: `Sphero RVR ${robotId} of fleet ${fleet}`,
      metadata: { ...metadata },
      stats: () => ({
        ...memberStatus(robot),
        telemetry_sent: this.#stats.batchesSent,
        telemetry_dropped: this.#stats.batchesDropped,
      }),
      endpoints: [{
        name: "call",
        subject: this.#subjects.call(robotId),
        handler: (msg) => this.#call(msg),
      }],
    });
    this.#service = service;
    this.#estopSub = nc.subscribe(this.#subjects.estop, {
      callback: (_e, msg) => this.#estop(msg),
    });
    this.#stats.joined = true;
    this.#stats.refused = undefined;
    this.#joins++;
    this.#changed();
    log.info("Fleet: {robot} joined fleet {fleet} (service {id})", {
      robot: robotId,
      fleet,
      id: service.id,
      joins: this.#joins,
    });
  }

  #call(msg: EndpointMsg): void {
    this.#stats.calls++;
    this.#changed();
    const request = parseCallRequest(msg.string());
    const respond = (body: unknown) => {
      if (!msg.respond(JSON.stringify(body))) {
        log.warn("Fleet: the reply to a call could not be sent (no reply subject, or closed)");
      }
    };
    if (!("tool" in request)) return respond(request);
    runCall(this.#options.robot, request, {
      signal: this.#stop.signal,
      notify: (name, detail) => log.info("Fleet call changed {name}: {detail}", { name, detail }),
    }).then(respond, (error) => {
      log.error("Fleet: a call failed outside the catalog (a bug): {error}", {
        error: errorMessage(error),
      });
      respond({
        content: [{ type: "text", text: `call failed: ${errorMessage(error)}` }],
        isError: true,
      });
    });
  }

  #estop(msg: Msg): void {
    this.#stats.estops++;
    this.#changed();
    // A person pressed STOP somewhere in the classroom: it latches like this robot's own button.
    this.#options.robot.rvr.emergencyStop("fleet", { reason: `fleet e-stop (${msg.subject})` })
      .then((r) => {
        log.warn("Fleet: emergency stop from {subject}: latched", { subject: msg.subject });
        if (msg.reply) {
          const reply: EstopReply = {
            robot: this.robotId,
            latched_at: new Date(r.latchedAt).toISOString(),
            sent: r.sent,
          };
          msg.respond(JSON.stringify(reply));
        }
      }, (error) => {
        log.error("Fleet: emergency stop failed (a bug): {error}", { error: errorMessage(error) });
      });
  }

  #publish(batch: Batch): void {
    const nc = this.#options.link.nc;
    if (!nc || !this.#stats.joined) {
      this.#stats.batchesDropped++;
      this.#changed();
      return;
    }
    const { robotId, fleet, robot, format = "protobuf" } = this.#options;
    const payload = encodeBatchAs(format, batch, {
      robotId,
      fleet,
      simulated: robotIsSimulated(robot),
    });
    try {
      nc.publish(this.#subjects.telemetry(robotId), payload);
      this.#stats.batchesSent++;
      this.#changed();
    } catch (error) {
      this.#stats.batchesDropped++;
      this.#changed();
      log.warn("Fleet: telemetry batch {seq} not published: {error}", {
        seq: batch.seq,
        error: errorMessage(error),
      });
    }
  }
}
