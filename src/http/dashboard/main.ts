/**
 * The dashboard page's code (bundled into dashboard.js by `deno task dashboard`, inlined into the
 * page the side port serves at `GET /`).
 *
 * - Connects to `/telemetry?client=dashboard` on its own origin (`wss:` under https), passing
 *   `?key=` through from its own URL, and follows the frames with {@link TelemetryFollower} (the
 *   server's frame codec; a gap makes it send `{"type":"resync"}`). A closed socket is reopened
 *   with exponential backoff (0.5 s doubling to 10 s, +-20 % jitter), reset once a frame arrives.
 * - Shows the live x/y path, heading, speed, battery, IMU and accelerometer charts, the colour
 *   under the robot, connection and safety state (a latched e-stop turns the page red), motor
 *   temperatures (view.ts, draw.ts).
 * - The emergency stop button posts to `/estop` (estop.ts).
 *
 * `window.rvrDashboard` exposes the state and counters for debugging and tests, and
 * `applyFrame(frame)` to feed it a frame as if it came off the socket.
 *
 * @module
 */
import { jsonWire } from "../../telemetry/wire/json.ts";
import { pressEstop } from "./estop.ts";
import { TelemetryFollower } from "./follower.ts";
import { Trail } from "./trail.ts";
import { $, render, type SocketStatus } from "./view.ts";

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10000;
/** Renders also run on a timer: requestAnimationFrame pauses in hidden tabs. */
const RENDER_FALLBACK_MS = 250;

const apiKey = new URLSearchParams(location.search).get("key");
let socket: WebSocket | null = null;
let attempts = 0;
let socketStatus: SocketStatus = "connecting";
let socketDetail = "";
let lastError = "";
let renderQueued = false;
const trail = new Trail();
const path = trail.path;

const follower = new TelemetryFollower({
  requestFullFrame(why) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "resync" }));
    }
    console.warn("telemetry: asked for a full frame (" + why + ")");
  },
  now: () => Date.now(),
});

/** Takes in one frame (parsed JSON) and records what the charts and the path need. */
function onFrame(frame: unknown): void {
  const outcome = follower.receive(frame);
  scheduleRender();
  if (outcome.kind === "gap") return;
  trail.record(follower.state, outcome.at, outcome.changes);
}

// ---- socket ----------------------------------------------------------------------------------

function telemetryUrl(): string {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return proto + "//" + location.host + "/telemetry?client=dashboard" +
    (apiKey ? "&key=" + encodeURIComponent(apiKey) : "");
}

function setSocket(status: SocketStatus, detail: string): void {
  socketStatus = status;
  socketDetail = detail;
  scheduleRender();
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function connect(): void {
  setSocket("connecting", attempts > 0 ? "attempt " + (attempts + 1) : "");
  let ws: WebSocket;
  try {
    ws = new WebSocket(telemetryUrl());
  } catch (e) {
    lastError = "cannot open the telemetry socket: " + message(e);
    scheduleReconnect(0);
    return;
  }
  socket = ws;
  ws.onopen = () => {
    if (socket !== ws) return;
    follower.stats.connects++;
    setSocket("open", "");
  };
  ws.onmessage = (ev) => {
    if (socket !== ws) return;
    try {
      onFrame(jsonWire.decode(ev.data));
      attempts = 0;
    } catch (e) {
      follower.stats.errors++;
      lastError = message(e);
      console.error("telemetry: " + lastError);
      scheduleRender();
    }
  };
  ws.onerror = () => {
    if (socket !== ws) return;
    lastError = "telemetry socket error (" + telemetryUrl().replace(/key=[^&]*/, "key=...") + ")";
    scheduleRender();
  };
  ws.onclose = (ev) => {
    if (socket !== ws) return;
    socket = null;
    follower.reset();
    scheduleReconnect(ev.code);
  };
}

function scheduleReconnect(code: number): void {
  attempts++;
  let delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, attempts - 1));
  delay = Math.round(delay * (0.8 + Math.random() * 0.4));
  setSocket(
    "closed",
    "retry in " + (delay / 1000).toFixed(1) + " s" + (code ? ", code " + code : ""),
  );
  setTimeout(connect, delay);
}

// ---- rendering -------------------------------------------------------------------------------

function renderNow(): void {
  if (!renderQueued) return;
  renderQueued = false;
  render({
    state: follower.state,
    seq: follower.seq,
    awaitingFull: follower.awaitingFull,
    stats: follower.stats,
    socket: socketStatus,
    socketDetail,
    lastError,
    path,
    imuSamples: trail.imuSamples,
    accelSamples: trail.accelSamples,
  });
}

function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(renderNow);
  setTimeout(renderNow, RENDER_FALLBACK_MS);
}

// ---- wiring ----------------------------------------------------------------------------------

const estopButton = $("estop-button");
if (!(estopButton instanceof HTMLButtonElement)) throw new Error("#estop-button is not a button");
estopButton.addEventListener("click", () => {
  pressEstop(estopButton, $("estop-result"), apiKey).catch((e) => {
    console.error("e-stop: " + message(e));
  });
});
$("path-clear").addEventListener("click", () => {
  path.clear();
  scheduleRender();
});
globalThis.addEventListener("resize", scheduleRender);

/** What `window.rvrDashboard` offers (debugging, tests). */
export interface DashboardHandle {
  readonly state: unknown;
  readonly seq: number | null;
  readonly stats: typeof follower.stats;
  readonly pathPoints: number;
  readonly socket: WebSocket | null;
  /** Feeds one frame as if it came off the socket (throws what the socket handler counts). */
  applyFrame(frame: unknown): void;
}

const handle: DashboardHandle = {
  get state() {
    return follower.state;
  },
  get seq() {
    return follower.seq;
  },
  get stats() {
    return follower.stats;
  },
  get pathPoints() {
    return path.points.length;
  },
  get socket() {
    return socket;
  },
  applyFrame: onFrame,
};
(globalThis as unknown as { rvrDashboard: DashboardHandle }).rvrDashboard = handle;
scheduleRender();
connect();
