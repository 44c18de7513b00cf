/**
 * The MCP App's page code (bundled into app.js by `deno task app`, inlined into the page that
 * page.ts serves as `ui://rvr-mcp/dashboard`): the side port's dashboard inside the chat.
 *
 * - Talks only to its host (`App` of `@modelcontextprotocol/ext-apps` over postMessage): the
 *   sandbox gives it no network, so it works over stdio as well as HTTP.
 * - Polls the server's `get_telemetry` tool through the host (`app.callServerTool`) every
 *   {@link POLL_MS} (one call at a time; after a failure every {@link RETRY_MS}) and takes each
 *   state in as a full telemetry frame with the dashboard's own {@link TelemetryFollower}; the
 *   state in `show_dashboard`'s own result is taken in the same way.
 * - Draws with the dashboard's view and drawing code (same element ids, same look): the x/y path,
 *   heading, battery, e-stop state, safety, the sensors being streamed.
 * - EMERGENCY STOP calls the `emergency_stop` tool through the host with the arguments the page
 *   was built with (`<meta name="rvr-estop-arguments">`, page.ts); `#estop-result` carries
 *   `data-status` "pending", "ok", "tool-error" (an isError result) or "error" (the call failed).
 *
 * `window.rvrApp` exposes the state and counters for debugging and tests.
 *
 * @module
 */
import { App } from "@modelcontextprotocol/ext-apps";
import { TelemetryFollower } from "../../http/dashboard/follower.ts";
import { Trail } from "../../http/dashboard/trail.ts";
import { $, render, type SocketStatus } from "../../http/dashboard/view.ts";

/** Time between polls while they succeed. */
export const POLL_MS = 250;
/** Time before the next poll after a failed one. */
export const RETRY_MS = 2000;
/** The tool the page polls and the one its button calls. */
export const TELEMETRY_TOOL = "get_telemetry";
export const ESTOP_TOOL = "emergency_stop";

let status: SocketStatus = "connecting";
let statusDetail = "";
let lastError = "";
let polls = 0;
let failures = 0;
let stopped = false;
let seq = 0;
let renderQueued = false;
const trail = new Trail();

const follower = new TelemetryFollower({
  // Every state is a full one: there is nothing to resync.
  requestFullFrame: () => {},
  now: () => Date.now(),
});

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The text of a tool result's first text content (an error result's hint). */
function resultText(result: { content?: unknown[] }): string {
  for (const c of result.content ?? []) {
    const t = c as { type?: unknown; text?: unknown };
    if (t.type === "text" && typeof t.text === "string") return t.text;
  }
  return "(no text)";
}

/** Takes in a `get_telemetry`-shaped result: `{ at_ms, state }`. False when it is not one. */
function takeState(structured: unknown): boolean {
  const r = structured as { at_ms?: unknown; state?: unknown } | null | undefined;
  if (!r || typeof r.state !== "object" || r.state === null || typeof r.at_ms !== "number") {
    return false;
  }
  const outcome = follower.receive({ type: "full", seq: ++seq, at: r.at_ms, state: r.state });
  if (outcome.kind !== "gap") trail.record(follower.state, outcome.at, outcome.changes);
  scheduleRender();
  return true;
}

const app = new App({ name: "rvr-dashboard", version: "1.0.0" }, {}, { autoResize: true });

app.ontoolresult = (params) => {
  if (params.isError) return;
  takeState(params.structuredContent);
};
app.onteardown = () => {
  stopped = true;
  clearTimeout(pollTimer);
  return {};
};

let pollTimer: ReturnType<typeof setTimeout> | undefined;
let polling = false;
let pollAgain = false;

/** One poll now (or right after the one under way); the next is scheduled when it ends. */
async function poll(): Promise<void> {
  if (stopped) return;
  if (polling) {
    pollAgain = true;
    return;
  }
  polling = true;
  clearTimeout(pollTimer);
  let next = POLL_MS;
  try {
    const result = await app.callServerTool({ name: TELEMETRY_TOOL, arguments: {} });
    polls++;
    if (result.isError) throw new Error(TELEMETRY_TOOL + ": " + resultText(result));
    if (!takeState(result.structuredContent)) {
      throw new Error(TELEMETRY_TOOL + " answered without { at_ms, state }");
    }
    status = "open";
    statusDetail = "";
    lastError = "";
  } catch (e) {
    failures++;
    next = RETRY_MS;
    status = "closed";
    statusDetail = "retry in " + (RETRY_MS / 1000).toFixed(1) + " s";
    lastError = message(e);
    console.error("telemetry: " + lastError);
  } finally {
    polling = false;
  }
  scheduleRender();
  if (stopped) return;
  clearTimeout(pollTimer);
  pollTimer = setTimeout(pollNow, pollAgain ? 0 : next);
  pollAgain = false;
}

function pollNow(): void {
  poll().catch((e) => console.error("telemetry: " + message(e)));
}

// ---- rendering -------------------------------------------------------------------------------

function renderNow(): void {
  if (!renderQueued) return;
  renderQueued = false;
  render({
    state: follower.state,
    seq: follower.seq,
    awaitingFull: false,
    stats: follower.stats,
    socket: status,
    socketDetail: statusDetail,
    lastError,
    path: trail.path,
    imuSamples: trail.imuSamples,
    accelSamples: trail.accelSamples,
  });
}

function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(renderNow);
  setTimeout(renderNow, 250);
}

// ---- the e-stop ------------------------------------------------------------------------------

/** The emergency_stop arguments page.ts wrote into the page (an e-stop of a person). */
function estopArguments(): Record<string, unknown> {
  const meta = document.querySelector('meta[name="rvr-estop-arguments"]');
  const text = meta?.getAttribute("content") ?? "{}";
  const parsed = JSON.parse(text) as unknown;
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new TypeError("rvr-estop-arguments is not a JSON object: " + text);
  }
  return parsed as Record<string, unknown>;
}

async function pressEstop(button: HTMLButtonElement, out: HTMLElement): Promise<void> {
  button.disabled = true;
  out.className = "";
  out.textContent = "sending...";
  out.setAttribute("data-status", "pending");
  try {
    const result = await app.callServerTool({ name: ESTOP_TOOL, arguments: estopArguments() });
    const r = result.structuredContent as { sent?: unknown; error?: unknown } | undefined;
    if (result.isError) {
      out.className = "bad";
      out.textContent = "failed: " + resultText(result);
      out.setAttribute("data-status", "tool-error");
    } else {
      out.className = r?.sent === false ? "bad" : "ok";
      out.textContent = r?.sent === false
        ? "e-stop latched, stop NOT sent" + (r.error ? " (" + String(r.error) + ")" : "")
        : "stopped: e-stop latched, stop sent to the robot";
      out.setAttribute("data-status", "ok");
    }
  } catch (e) {
    out.className = "bad";
    out.textContent = "failed: " + message(e);
    out.setAttribute("data-status", "error");
  } finally {
    button.disabled = false;
    // Show the latch at once rather than at the next poll.
    pollNow();
  }
}

// ---- wiring ----------------------------------------------------------------------------------

const estopButton = $("estop-button");
if (!(estopButton instanceof HTMLButtonElement)) throw new Error("#estop-button is not a button");
estopButton.title = "emergency_stop through the chat: stop the robot now and latch";
estopButton.addEventListener("click", () => {
  pressEstop(estopButton, $("estop-result")).catch((e) => {
    console.error("e-stop: " + message(e));
  });
});
$("path-clear").addEventListener("click", () => {
  trail.path.clear();
  scheduleRender();
});
globalThis.addEventListener("resize", scheduleRender);

/** What `window.rvrApp` offers (debugging, tests). */
export interface AppHandle {
  readonly state: unknown;
  readonly polls: number;
  readonly failures: number;
  readonly pathPoints: number;
  readonly connected: boolean;
}

let connected = false;
const handle: AppHandle = {
  get state() {
    return follower.state;
  },
  get polls() {
    return polls;
  },
  get failures() {
    return failures;
  },
  get pathPoints() {
    return trail.path.points.length;
  },
  get connected() {
    return connected;
  },
};
(globalThis as unknown as { rvrApp: AppHandle }).rvrApp = handle;
scheduleRender();

app.connect().then(() => {
  connected = true;
  return poll();
}).catch((e) => {
  status = "closed";
  statusDetail = "no host";
  lastError = "cannot connect to the host: " + message(e);
  console.error(lastError);
  scheduleRender();
});
