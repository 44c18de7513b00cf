/**
 * A simulated classroom (`rvr-mcp fleet-sim --robots N`): N whole robots in one process, `sim-01`
 * ... `sim-NN`, each with its own runtime (safety, queue, breaker), simulator, aggregator and fleet
 * membership (its own service, call subject, telemetry and e-stop subscription), as N Raspberry
 * Pis would join. They share the process's one broker connection: what the broker and the gateway
 * see of each robot is the same as with N connections, and the process's one event loop reads and
 * writes one socket instead of N (the 30 replies of a `call_robots` leave in a few writes). The
 * composition root hands in how to build one robot (src/fleet never imports the simulator); this
 * joins them.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Aggregator } from "../telemetry/mod.ts";
import type { ToolRobot } from "../tools/mod.ts";
import { Member } from "./member.ts";
import { FleetLink, type FleetLinkOptions } from "./nats.ts";
import type { FleetFormat } from "../telemetry/wire/protobuf.ts";

const log = getLogger(["rvr", "fleet", "classroom"]);

/** Most robots one fleet-sim runs. */
export const MAX_CLASSROOM = 99;

/** One robot of the classroom, as the composition root builds it. */
export interface ClassroomRobot {
  readonly robot: ToolRobot;
  readonly aggregator: Aggregator;
  /** Stops it: drive_stop on its wire first, then the rest. */
  close(): Promise<void>;
}

export interface ClassroomOptions {
  readonly robots: number;
  readonly fleet: string;
  readonly version: string;
  readonly link: Omit<FleetLinkOptions, "name">;
  readonly format?: FleetFormat;
  /** Builds robot `id` (connected or connecting). */
  readonly build: (id: string) => Promise<ClassroomRobot>;
}

/** The ids of a classroom of `n`: sim-01 ... sim-NN. */
export function classroomIds(n: number): string[] {
  if (!Number.isInteger(n) || n < 1 || n > MAX_CLASSROOM) {
    throw new RangeError(
      `Invalid --robots=${n}: allowed is an integer 1-${MAX_CLASSROOM}, e.g. --robots 30.`,
    );
  }
  return Array.from({ length: n }, (_, i) => `sim-${String(i + 1).padStart(2, "0")}`);
}

export interface Classroom {
  readonly members: readonly { id: string; member: Member; robot: ClassroomRobot }[];
  /** Stops every robot (drive_stop first), leaves the fleet, closes the connection. */
  close(): Promise<void>;
}

/** Builds and joins every robot; see the module doc. */
export async function startClassroom(options: ClassroomOptions): Promise<Classroom> {
  const members: { id: string; member: Member; robot: ClassroomRobot }[] = [];
  const link = new FleetLink({ ...options.link, name: "rvr-mcp fleet-sim" });
  for (const id of classroomIds(options.robots)) {
    const robot = await options.build(id);
    const member = new Member({
      link,
      robot: robot.robot,
      aggregator: robot.aggregator,
      robotId: id,
      fleet: options.fleet,
      version: options.version,
      ...(options.format === undefined ? {} : { format: options.format }),
    });
    member.start();
    members.push({ id, member, robot });
  }
  log.info("Classroom: {n} simulated robots joining fleet {fleet}", {
    n: members.length,
    fleet: options.fleet,
  });
  return {
    members,
    async close() {
      // Every robot stops first, all at once; then they leave the fleet and the connection goes.
      const stops = await Promise.allSettled(members.map((m) => m.robot.close()));
      for (const [i, s] of stops.entries()) {
        if (s.status === "rejected") {
          log.error("Classroom: closing {id} failed: {error}", {
            id: members[i].id,
            error: String(s.reason),
          });
        }
      }
      await Promise.allSettled(members.map((m) => m.member.stop()));
      await link.close();
    },
  };
}
