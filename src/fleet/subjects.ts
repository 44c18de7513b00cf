/**
 * The fleet's names on NATS, in one place (README's "Classroom" section documents them):
 *
 * | subject | who | what |
 * |---|---|---|
 * | `rvr.<fleet>.<robot>.call` | member answers | JSON `{tool, arguments}` -> `{content, structuredContent, isError}` |
 * | `rvr.<fleet>.<robot>.telemetry` | member publishes | one `rvr.v1.TelemetryBatch` per aggregator window |
 * | `rvr.<fleet>.estop` | anyone publishes | every member of the fleet latches its e-stop; replies `{robot, latched_at}` |
 * | `$SRV.PING\|INFO\|STATS.rvr` | members answer | the NATS micro-services API: discovery, metadata, stats |
 *
 * Robot ids and fleet names share one shape, {@link ID_PATTERN}: one subject token, lower case.
 *
 * @module
 */

/** The NATS service name every member registers. */
export const SERVICE_NAME = "rvr";

/** Robot ids and fleet names: 1-32 of a-z, 0-9 and "-", not starting with "-". */
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** {@link ID_PATTERN} as the README and error messages write it. */
export const ID_SHAPE = "[a-z0-9][a-z0-9-]{0,31}";

/** The fleet name when none is set. */
export const DEFAULT_FLEET = "default";

/** Throws RangeError naming `what`, the value and the allowed shape unless `value` fits. */
export function checkId(what: string, value: string): string {
  if (!ID_PATTERN.test(value)) {
    throw new RangeError(
      `Invalid ${what} ${JSON.stringify(value)}: allowed is ${ID_SHAPE} ` +
        `(1-32 of a-z, 0-9 and "-", starting with a letter or digit), e.g. "sim-01".`,
    );
  }
  return value;
}

/**
 * A robot id made from a host name: lower case, every run of other characters a "-", trimmed of
 * "-" at the ends, cut to 32; "rvr" when nothing is left.
 */
export function idFromHostname(hostname: string): string {
  const id = hostname.toLowerCase().split(".")[0].replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+/, "").slice(0, 32).replace(/-+$/, "");
  return id === "" ? "rvr" : id;
}

/** The broker's addresses from RVR_FLEET_URL: comma-separated, blanks dropped. */
export function parseServers(urls: string): string[] {
  return urls.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** The subjects of one fleet. */
export interface FleetSubjects {
  /** Where the member `robot` answers tool calls. */
  call(robot: string): string;
  /** Where the member `robot` publishes its telemetry batches. */
  telemetry(robot: string): string;
  /** Every member's telemetry (a wildcard for the gateway). */
  readonly allTelemetry: string;
  /** The fleet's emergency-stop broadcast. */
  readonly estop: string;
}

/** The subjects of `fleet` (checked against {@link ID_PATTERN}). */
export function fleetSubjects(fleet: string): FleetSubjects {
  checkId("fleet name", fleet);
  const prefix = `${SERVICE_NAME}.${fleet}`;
  return {
    call: (robot) => `${prefix}.${checkId("robot id", robot)}.call`,
    telemetry: (robot) => `${prefix}.${checkId("robot id", robot)}.telemetry`,
    allTelemetry: `${prefix}.*.telemetry`,
    estop: `${prefix}.estop`,
  };
}

/** The robot id in a telemetry subject of `fleet`, or undefined when it is not one. */
export function robotOfTelemetrySubject(fleet: string, subject: string): string | undefined {
  const parts = subject.split(".");
  if (parts.length !== 4 || parts[0] !== SERVICE_NAME || parts[1] !== fleet) return undefined;
  return parts[3] === "telemetry" && ID_PATTERN.test(parts[2]) ? parts[2] : undefined;
}

/** The metadata every member's service carries (all strings: the services API's rule). */
export interface MemberMetadata {
  readonly robot: string;
  readonly fleet: string;
  readonly version: string;
  /** "true" or "false". */
  readonly simulated: string;
}
