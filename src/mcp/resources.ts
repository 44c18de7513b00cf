/**
 * MCP resources, all subscribable:
 *
 * | uri | content (application/json) | updated when |
 * |---|---|---|
 * | `rvr://status` | connection, power, battery, safety | connection/power/safety state changes, safety events, setting changes |
 * | `rvr://sensors` | streaming status and the latest sample per streamed sensor with its age | every decoded sample, streaming started/stopped |
 * | `rvr://events` | recent robot notifications, safety events and setting changes (a bounded ring buffer, oldest dropped first) | every new entry |
 *
 * `notifications/resources/updated` goes out at most once per `updateWindowMs` (default
 * {@link DEFAULT_UPDATE_WINDOW_MS}) per resource: the first change after a quiet window is
 * announced at once, later ones in the window are folded into one announcement at its end, so the
 * last change is never lost ({@link watchResources}). Who hears it depends on the era:
 *
 * 2025 (`updates: "subscribed"`): the session's `resources/subscribe` list decides; 2026 on stdio
 * (`"all"`): every change is sent and the SDK's `subscriptions/listen` router passes it on to the
 * streams that asked for that URI; 2026 over HTTP (`"off"`): each request has a short-lived
 * server, so one watch per endpoint publishes to the handler's listen streams (src/mcp/http.ts).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  type McpServer,
  ProtocolError,
  ProtocolErrorCode,
  type ReadResourceResult,
} from "@modelcontextprotocol/server";
import type { Subscription } from "../core/mod.ts";
import type { RobotBus, RobotNotification, SafetyEvent } from "../robot/mod.ts";
import { connectionStatus, safetyView, sensorDataView } from "../tools/mod.ts";
import type { ServerDeps } from "./_tool.ts";

const log = getLogger(["rvr", "mcp", "resources"]);

export const RESOURCE_URIS = {
  status: "rvr://status",
  sensors: "rvr://sensors",
  events: "rvr://events",
} as const;
export type ResourceName = keyof typeof RESOURCE_URIS;
export type ResourceUri = typeof RESOURCE_URIS[ResourceName];
const URIS = Object.values(RESOURCE_URIS) as ResourceUri[];

/** Default throttle window of notifications/resources/updated per resource. */
export const DEFAULT_UPDATE_WINDOW_MS = 100;
/** Default capacity of the event log behind rvr://events. */
export const DEFAULT_EVENT_CAPACITY = 200;

/** Robot notifications too frequent to be events (stream samples go to rvr://sensors). */
const NOT_EVENTS = new Set<string>(["streaming_service_data_notify"]);

export const EVENT_KINDS = ["notification", "safety", "setting"] as const;
export type EventKind = typeof EVENT_KINDS[number];

/** One entry of rvr://events. */
export interface RobotEvent {
  /** Increasing from 1 over the log's life. */
  readonly seq: number;
  readonly kind: EventKind;
  /** Notification name, safety event type, or setting name. */
  readonly name: string;
  /** One sentence (safety events, settings), or null for raw notifications. */
  readonly detail: string | null;
  /** Notification values or event data. */
  readonly data: Readonly<Record<string, unknown>>;
  /** ISO-8601. */
  readonly at: string;
}

/** JSON-safe copy (bigint as number). */
function plain(values: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  if (values === undefined) return {};
  return JSON.parse(
    JSON.stringify(values, (_k, v) => (typeof v === "bigint" ? Number(v) : v)),
  ) as Record<string, unknown>;
}

/**
 * The recent robot notifications and safety events (from the bus) and setting changes (noted by
 * tools), newest last, at most `capacity`. One per program, shared by every MCP session so a new
 * session sees the history; or one per server when none is given.
 */
export class RobotEventLog {
  readonly capacity: number;
  #events: RobotEvent[] = [];
  #seq = 0;
  #dropped = 0;
  #listeners = new Set<(e: RobotEvent) => void>();
  #subscription: Subscription;

  constructor(bus: RobotBus, options: { capacity?: number } = {}) {
    const capacity = options.capacity ?? DEFAULT_EVENT_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Event log capacity must be an integer >= 1, got ${capacity}; the default is ${DEFAULT_EVENT_CAPACITY}.`,
      );
    }
    this.capacity = capacity;
    this.#subscription = bus.subscribe(["robot.notification", "safety"], (e) => {
      if (e.topic === "safety") this.#onSafety(e.payload as SafetyEvent);
      else this.#onNotification(e.payload as RobotNotification);
    }, { name: "mcp-event-log", bufferSize: 1024 });
  }

  /** Oldest first. */
  get events(): readonly RobotEvent[] {
    return this.#events;
  }

  /** Entries pushed out by newer ones. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Records a setting change (e.g. the speed limit) made by a tool. */
  noteSetting(name: string, detail: string, data: Record<string, unknown>): void {
    this.#append("setting", name, detail, data, Date.now());
  }

  /** Calls `listener` with every new entry; returns a function that stops it. */
  onAppend(listener: (e: RobotEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  dispose(): void {
    this.#subscription.unsubscribe();
    this.#listeners.clear();
  }

  #onNotification(n: RobotNotification): void {
    if (NOT_EVENTS.has(n.name)) return;
    this.#append("notification", n.name, null, { node: n.node, ...plain(n.values) }, n.at);
  }

  #onSafety(e: SafetyEvent): void {
    this.#append("safety", e.type, e.detail, plain(e.data), e.at);
  }

  #append(
    kind: EventKind,
    name: string,
    detail: string | null,
    data: Record<string, unknown>,
    at: number,
  ): void {
    const event: RobotEvent = {
      seq: ++this.#seq,
      kind,
      name,
      detail,
      data,
      at: new Date(at).toISOString(),
    };
    this.#events.push(event);
    if (this.#events.length > this.capacity) {
      this.#events.splice(0, this.#events.length - this.capacity);
      this.#dropped++;
    }
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        log.error("An event-log listener threw: {error}", { error: String(error) });
      }
    }
  }
}

/**
 * At most one call of `send` per `windowMs`: the first change after a quiet window goes out at
 * once, later ones are folded into one call at the end of the window.
 */
export class UpdateThrottle {
  readonly windowMs: number;
  readonly #send: () => void;
  #lastSentAt = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(windowMs: number, send: () => void) {
    if (!Number.isFinite(windowMs) || windowMs < 0) {
      throw new RangeError(
        `updateWindowMs must be a number of ms >= 0, got ${windowMs}; the default is ${DEFAULT_UPDATE_WINDOW_MS}.`,
      );
    }
    this.windowMs = windowMs;
    this.#send = send;
  }

  /** Something changed. */
  changed(): void {
    if (this.#timer !== undefined) return;
    const wait = this.#lastSentAt + this.windowMs - performance.now();
    if (wait <= 0) {
      this.#fire();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#fire();
    }, wait);
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fire(): void {
    this.#lastSentAt = performance.now();
    this.#send();
  }
}

/**
 * Which resource changes this server announces on its own connection: those its client
 * subscribed to (2025 era: `resources/subscribe`), all of them (2026 era on stdio, where the SDK
 * routes them to the `subscriptions/listen` streams that asked), or none (2026 era over HTTP,
 * where the endpoint's one watch publishes them).
 */
export type ResourceUpdates = "subscribed" | "all" | "off";

export interface ResourceOptions {
  /** Throttle window per resource, ms (default 100). */
  updateWindowMs?: number;
  /** The log behind rvr://events; default: a new one owned (and disposed) by this server. */
  eventLog?: RobotEventLog;
  /** Default "subscribed" (the 2025 era). */
  updates?: ResourceUpdates;
}

export interface WatchOptions {
  /** Throttle window per resource, ms (default 100). */
  updateWindowMs?: number;
  /** Whether a change of `uri` is announced at all (default: every one). */
  wants?: (uri: ResourceUri) => boolean;
  /** Sends `notifications/resources/updated` for `uri`. */
  announce: (uri: ResourceUri) => void;
}

/** A running watch of the resources' sources ({@link watchResources}). */
export interface ResourceWatch {
  /** Marks a resource changed (announced if wanted, throttled). */
  changed(name: ResourceName): void;
  dispose(): void;
}

/**
 * Watches what the resources show (robot state on the bus, the event log, sensor readings) and
 * announces each change of a wanted resource, throttled per resource (module doc).
 */
export function watchResources(
  deps: Pick<ServerDeps, "runtime" | "streams">,
  eventLog: RobotEventLog,
  options: WatchOptions,
): ResourceWatch {
  const windowMs = options.updateWindowMs ?? DEFAULT_UPDATE_WINDOW_MS;
  const wants = options.wants ?? (() => true);
  const throttles = Object.fromEntries(
    (Object.entries(RESOURCE_URIS) as [ResourceName, ResourceUri][]).map((
      [name, uri],
    ) => [name, new UpdateThrottle(windowMs, () => options.announce(uri))]),
  ) as Record<ResourceName, UpdateThrottle>;
  const changed = (name: ResourceName) => {
    if (wants(RESOURCE_URIS[name])) throttles[name].changed();
  };
  const subscription = deps.runtime.bus.subscribe("robot.state", (e) => {
    if (e.payload.aspect === "sensors") changed("sensors");
    else changed("status");
  }, { name: "mcp-resources-state" });
  const offs = [
    eventLog.onAppend((e) => {
      changed("events");
      if (e.kind !== "notification") changed("status");
    }),
    deps.streams.onReading(() => changed("sensors")),
  ];
  return {
    changed,
    dispose() {
      subscription.unsubscribe();
      for (const off of offs) off();
      for (const t of Object.values(throttles)) t.dispose();
    },
  };
}

/** What resources.ts registered, to be disposed when the server closes. */
export interface RegisteredResources {
  readonly eventLog: RobotEventLog;
  /** URIs the client subscribed to. */
  readonly subscribed: ReadonlySet<ResourceUri>;
  /** Marks a resource changed (announced if subscribed, throttled). */
  changed(name: ResourceName): void;
  dispose(): void;
}

const json = (uri: string, value: unknown): ReadResourceResult => ({
  contents: [{ uri, mimeType: "application/json", text: JSON.stringify(value) }],
});

/** The content of rvr://status. */
export function statusContent(deps: ServerDeps): Record<string, unknown> {
  const runtime = deps.runtime;
  const safety = safetyView(runtime.rvr.safetyStatus());
  return {
    connection: connectionStatus(runtime),
    power: {
      status: runtime.state.power.status,
      since: new Date(runtime.state.power.enteredAt).toISOString(),
    },
    battery: safety.battery,
    safety,
  };
}

/** The content of rvr://events. */
export function eventsContent(eventLog: RobotEventLog): Record<string, unknown> {
  return {
    capacity: eventLog.capacity,
    dropped: eventLog.dropped,
    events: eventLog.events,
  };
}

/** Registers the three resources and, for the 2025 era, their subscriptions on `server`. */
export function registerResources(
  server: McpServer,
  deps: ServerDeps,
  options: ResourceOptions = {},
): RegisteredResources {
  const updates = options.updates ?? "subscribed";
  const ownLog = options.eventLog === undefined;
  const eventLog = options.eventLog ?? new RobotEventLog(deps.runtime.bus);
  const subscribed = new Set<ResourceUri>();

  server.registerResource("status", RESOURCE_URIS.status, {
    title: "Robot status",
    description: "Connection, power, battery and safety state of the RVR (JSON). Subscribable.",
    mimeType: "application/json",
  }, (uri) => json(uri.href, statusContent(deps)));

  server.registerResource("sensors", RESOURCE_URIS.sensors, {
    title: "Latest sensor samples",
    description:
      "Streaming status and the latest sample of each streamed sensor with its age in ms " +
      "(JSON). Start streaming with start_sensor_streaming. Subscribable.",
    mimeType: "application/json",
  }, (uri) => json(uri.href, sensorDataView(deps.streams)));

  server.registerResource("events", RESOURCE_URIS.events, {
    title: "Recent robot events",
    description:
      `The last ${eventLog.capacity} robot notifications, safety events (e-stop, stall, ` +
      "motor fault, thermal, battery, auto-stops, speed limiting) and setting changes, oldest " +
      "first (JSON). Subscribable.",
    mimeType: "application/json",
  }, (uri) => json(uri.href, eventsContent(eventLog)));

  const checkUri = (uri: string): ResourceUri => {
    if ((URIS as string[]).includes(uri)) return uri as ResourceUri;
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `Unknown resource ${uri}; subscribable resources are ${URIS.join(", ")}.`,
    );
  };
  if (updates === "subscribed") {
    server.server.setRequestHandler("resources/subscribe", (request) => {
      subscribed.add(checkUri(request.params.uri));
      return {};
    });
    server.server.setRequestHandler("resources/unsubscribe", (request) => {
      subscribed.delete(checkUri(request.params.uri));
      return {};
    });
  }

  const watch = updates === "off" ? undefined : watchResources(deps, eventLog, {
    updateWindowMs: options.updateWindowMs,
    wants: updates === "subscribed" ? (uri) => subscribed.has(uri) : undefined,
    announce: (uri) => {
      if (!server.isConnected()) return;
      server.server.sendResourceUpdated({ uri }).catch((error) => {
        log.warn("resources/updated for {uri} not sent: {error}", { uri, error: String(error) });
      });
    },
  });

  return {
    eventLog,
    subscribed,
    changed: (name) => watch?.changed(name),
    dispose() {
      watch?.dispose();
      subscribed.clear();
      if (ownLog) eventLog.dispose();
    },
  };
}
