/**
 * The gateway's view of the fleet: which robots there are, whether each is online, what it last
 * reported. Discovery is NATS's micro-services protocol, not ours: every `pollMs` (1 s) the
 * registry asks `$SRV.STATS.rvr` and every member of its fleet answers with its metadata (id,
 * version, simulated) and its status (battery, e-stop, connection; src/fleet/member.ts). A robot
 * appears at the first poll it answers (within `pollMs` + `waitMs` of joining), is `offline` once
 * it has not been heard for `offlineAfterMs` (3 s: within 5 s of going silent with the defaults),
 * and comes back when it answers again. Telemetry counts as being heard ({@link Registry.heard}).
 * Robots are never forgotten: an offline one is listed with the time it was last seen.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { errorMessage } from "../core/mod.ts";
import type { MemberStatus } from "./member.ts";
import { discover, type FleetLink } from "./nats.ts";
import { type MemberMetadata, SERVICE_NAME } from "./subjects.ts";

const log = getLogger(["rvr", "fleet", "registry"]);

export const ROBOT_STATUSES = ["online", "offline"] as const;
export type RobotStatus = typeof ROBOT_STATUSES[number];

/** One robot as the registry knows it. */
export interface RobotEntry {
  readonly id: string;
  /** The NATS service instance that answers for it now (the breaker's ping goes there). */
  serviceId: string;
  simulated: boolean;
  version: string;
  /** Epoch ms it was last heard from (discovery or telemetry). */
  lastSeen: number;
  status: RobotStatus;
  /** What it reported at the last poll. */
  report: MemberStatus | undefined;
}

export interface RegistryOptions {
  readonly link: FleetLink;
  readonly fleet: string;
  /** Discovery period, ms. Default 1000. */
  readonly pollMs?: number;
  /** How long a poll collects answers, ms. Default 400. */
  readonly waitMs?: number;
  /** Not heard for this long: offline, ms. Default 3000. */
  readonly offlineAfterMs?: number;
  /** Called when a robot joins, goes offline or comes back. */
  readonly onChange?: (entry: RobotEntry, previous: RobotStatus | undefined) => void;
}

/** See the module doc. */
export class Registry {
  readonly #options: RegistryOptions;
  readonly #robots = new Map<string, RobotEntry>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #polling = false;
  #closed = false;
  #polls = 0;
  #firstPoll: Promise<void>;
  #resolveFirst!: () => void;
  readonly #watchers = new Set<() => void>();

  constructor(options: RegistryOptions) {
    this.#options = options;
    this.#firstPoll = new Promise((resolve) => this.#resolveFirst = resolve);
  }

  /** Starts polling (the first poll at once when connected). */
  start(): void {
    this.#schedule(0);
  }

  /** Resolves after the first poll that reached the broker. */
  whenPolled(): Promise<void> {
    return this.#firstPoll;
  }

  /**
   * Runs `listener` after every poll (whatever it found) and every status change (a robot
   * joining, going offline, coming back): whoever waits for the registry to show something checks
   * then. Returns a function that unregisters it.
   */
  watch(listener: () => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  /** Completed polls. */
  get polls(): number {
    return this.#polls;
  }

  stop(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  /** Every robot ever seen, by id. */
  list(): RobotEntry[] {
    this.#age(Date.now());
    return [...this.#robots.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  get(id: string): RobotEntry | undefined {
    this.#age(Date.now());
    return this.#robots.get(id);
  }

  /** Notes that `id` was heard from now (its telemetry arrived). Unknown ids are ignored. */
  heard(id: string): void {
    const entry = this.#robots.get(id);
    if (!entry) return;
    entry.lastSeen = Date.now();
    this.#set(entry, "online");
  }

  /** Polls now (tests; the timer does it every pollMs). */
  async poll(): Promise<void> {
    const nc = this.#options.link.nc;
    if (!nc || this.#polling) return;
    this.#polling = true;
    try {
      const found = await discover(nc, SERVICE_NAME, { maxWaitMs: this.#options.waitMs ?? 400 });
      const now = Date.now();
      for (const s of found) {
        const m = s.metadata as Partial<MemberMetadata>;
        if (m.fleet !== this.#options.fleet || typeof m.robot !== "string") continue;
        const report = s.data.call as MemberStatus | undefined;
        let entry = this.#robots.get(m.robot);
        if (!entry) {
          entry = {
            id: m.robot,
            serviceId: s.id,
            simulated: m.simulated === "true",
            version: m.version ?? s.version,
            lastSeen: now,
            status: "offline",
            report,
          };
          this.#robots.set(m.robot, entry);
          this.#set(entry, "online", undefined);
        } else {
          entry.serviceId = s.id;
          entry.simulated = m.simulated === "true";
          entry.version = m.version ?? s.version;
          entry.lastSeen = now;
          entry.report = report ?? entry.report;
          this.#set(entry, "online");
        }
      }
      this.#polls++;
      this.#resolveFirst();
    } catch (error) {
      log.warn("Fleet discovery failed: {error}", {
        error: errorMessage(error),
      });
    } finally {
      this.#polling = false;
      this.#age(Date.now());
      this.#changed();
    }
  }

  #changed(): void {
    for (const watcher of this.#watchers) {
      try {
        watcher();
      } catch (error) {
        log.error("A registry watcher threw: {error}", { error: errorMessage(error) });
      }
    }
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(async () => {
      await this.poll();
      this.#schedule(this.#options.pollMs ?? 1000);
    }, ms);
  }

  #age(now: number): void {
    const after = this.#options.offlineAfterMs ?? 3000;
    for (const entry of this.#robots.values()) {
      if (entry.status === "online" && now - entry.lastSeen > after) this.#set(entry, "offline");
    }
  }

  #set(
    entry: RobotEntry,
    status: RobotStatus,
    previous: RobotStatus | undefined = entry.status,
  ): void {
    if (previous === status) return;
    entry.status = status;
    log.info("Fleet: robot {id} is {status}", { id: entry.id, status });
    try {
      this.#options.onChange?.(entry, previous);
    } catch (error) {
      log.error("A registry listener threw: {error}", { error: String(error) });
    }
    this.#changed();
  }
}
