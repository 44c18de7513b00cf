/**
 * The robots a gateway drove, and stopping them when its client leaves. A robot counts as driven
 * from the moment the gateway sends it a movement command ({@link MOVES}), whether or not the
 * call succeeds (one that timed out may still have started), noted with the MCP session the call
 * came in (HTTP). When the gateway's MCP client goes away, or one HTTP session ends (DELETE, idle
 * expiry), every robot it drove gets its `stop` tool (drive_stop, not latched: a client leaving is no
 * emergency), all at once, past its circuit: no robot keeps moving on the orders of a client that
 * is gone. Robots the gateway never drove (a student's own session on its robot) are left alone;
 * each robot's own watchdog stays the backstop for a robot that cannot be reached.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { errorMessage } from "../core/mod.ts";
import { TOOL_GROUPS } from "../tools/mod.ts";
import { FleetError } from "./errors.ts";

const log = getLogger(["rvr", "fleet", "gateway"]);

/** The movement tools that leave a robot at rest (nothing to stop after them). */
const AT_REST = ["stop", "emergency_stop", "clear_emergency_stop", "reset_yaw", "reset_locator"];

/**
 * Tools after which a robot may be moving: the catalog's movement tools but the stops and resets,
 * and IR following and evading (which drive the robot).
 */
export const MOVES: ReadonlySet<string> = new Set([
  ...TOOL_GROUPS.movement.map((t) => t.name).filter((n) => !AT_REST.includes(n)),
  ...TOOL_GROUPS.ir.map((t) => t.name).filter((n) => /following|evading/.test(n)),
]);

/** One robot's line in {@link DrivenRobots.stopAll}'s result. */
export interface DrivenStop {
  robot: string;
  /** True when the robot answered its stop (drive_stop went to its port). */
  stopped: boolean;
  /** Why not, when it did not. */
  error?: string;
}

/** The session of a call that came without one (stdio, a NATS call, the side port). */
const NO_SESSION = "";

export class DrivenRobots {
  /** Robot id -> the sessions that drove it. */
  readonly #by = new Map<string, Set<string>>();

  /** Notes robot `id` as driven (by `session`, if the call came in one) when `tool` is a movement. */
  note(id: string, tool: string, session: string = NO_SESSION): void {
    if (!MOVES.has(tool)) return;
    let sessions = this.#by.get(id);
    if (sessions === undefined) this.#by.set(id, sessions = new Set());
    sessions.add(session);
  }

  /** The driven robots, by id. */
  get ids(): readonly string[] {
    return [...this.#by.keys()].sort();
  }

  /** The robots `session` drove, by id. */
  drivenBy(session: string): readonly string[] {
    return this.ids.filter((id) => this.#by.get(id)?.has(session));
  }

  /**
   * Stops at once, with `stop(id)` (which throws when the robot was not stopped), every driven
   * robot, or with `session` every robot that session drove: also one another session drove since
   * (a robot never keeps moving on the orders of a client that is gone). A robot stopped is no
   * longer driven. Never rejects.
   */
  async stopAll(
    session: string | undefined,
    stop: (id: string) => Promise<unknown>,
  ): Promise<DrivenStop[]> {
    const ids = session === undefined ? this.ids : this.drivenBy(session);
    return await Promise.all(ids.map(async (robot): Promise<DrivenStop> => {
      try {
        await stop(robot);
        this.#by.delete(robot);
        return { robot, stopped: true };
      } catch (e) {
        const error = e instanceof FleetError ? e.hint : errorMessage(e);
        log.error("Could not stop robot {robot}: {error}; its own watchdog stops it", {
          robot,
          error,
        });
        return { robot, stopped: false, error };
      }
    }));
  }
}
