/**
 * Renders the page from the telemetry state: every text field (with its raw value in
 * `data-value`), the status pills, the battery bar, the colour swatch, the footer's counters and
 * the canvases. Only ids of {@link DASHBOARD_ELEMENT_IDS} are looked up.
 *
 * @module
 */
import { drawChart, drawDial, drawPath } from "./draw.ts";
import type { FollowerStats } from "./follower.ts";
import type { PathTrace, Sample } from "./history.ts";
import type { DashboardElementId } from "./ids.ts";
import { DEG, fmt, get, headingOf, num, speedOf, yawOf } from "./readings.ts";

/** The telemetry socket's state as the page shows it. */
export type SocketStatus = "connecting" | "open" | "closed";

/** Everything one render shows. */
export interface PageModel {
  state: unknown;
  seq: number | null;
  awaitingFull: boolean;
  stats: FollowerStats;
  socket: SocketStatus;
  socketDetail: string;
  lastError: string;
  path: PathTrace;
  imuSamples: readonly Sample[];
  accelSamples: readonly Sample[];
}

/** The element with `id`; an Error naming it when the page lacks it (index.html and ids.ts differ). */
export function $(id: DashboardElementId): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the dashboard page has no #${id}: index.html lacks it`);
  return el;
}

function canvas(id: DashboardElementId): HTMLCanvasElement {
  const el = $(id);
  if (!(el instanceof HTMLCanvasElement)) throw new Error(`#${id} is not a canvas`);
  return el;
}

function setText(id: DashboardElementId, text: string, value?: number | string | null): void {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text;
  if (value !== undefined) {
    const v = value === null ? "" : String(value);
    if (el.getAttribute("data-value") !== v) el.setAttribute("data-value", v);
  }
}

type Level = "ok" | "warn" | "bad" | "alarm" | "";

/** Colours the pill around `el`. */
function setPill(el: HTMLElement, level: Level): void {
  const pill = el.parentElement;
  if (pill === null) return;
  pill.classList.remove("ok", "warn", "bad", "alarm");
  if (level) pill.classList.add(level);
}

function motor(id: DashboardElementId, celsius: number | null, status: unknown): void {
  let text = fmt(celsius, 1, " " + DEG + "C");
  if (typeof status === "string" && status) text += " (" + status + ")";
  setText(id, text, celsius);
  $(id).className = status === "critical" ? "alarm-text" : "";
}

/** Renders `m` into the page. */
export function render(m: PageModel): void {
  const s = m.state ?? {};

  const ws = $("ws-status");
  ws.textContent = (m.socket === "open" ? (m.awaitingFull ? "resyncing" : "live") : m.socket) +
    (m.socketDetail ? " (" + m.socketDetail + ")" : "");
  ws.setAttribute("data-status", m.socket);
  setPill(ws, m.socket === "open" ? "ok" : m.socket === "connecting" ? "warn" : "bad");

  const status = get(s, "connection.status");
  const conn = $("conn-status");
  conn.textContent = typeof status === "string" ? status : "unknown";
  conn.setAttribute("data-status", typeof status === "string" ? status : "unknown");
  setPill(
    conn,
    status === "connected"
      ? "ok"
      : status === "connecting" || status === "reconnecting"
      ? "warn"
      : status
      ? "bad"
      : "",
  );
  const port = get(s, "connection.port");
  const sim = get(s, "connection.simulated");
  setText(
    "conn-detail",
    (port ? "port " + port : "no port") + (sim === true ? " (simulator)" : ""),
  );

  const estopRaw = get(s, "safety.estop");
  const latched = estopRaw === true ||
    (estopRaw !== null && typeof estopRaw === "object" &&
      (estopRaw as { latched?: unknown }).latched === true);
  const known = m.state !== null && estopRaw !== undefined && estopRaw !== null;
  const es = $("estop-state");
  es.textContent = !known ? "unknown" : latched ? "LATCHED" : "clear";
  es.setAttribute("data-latched", !known ? "unknown" : String(latched));
  setPill(es, !known ? "" : latched ? "alarm" : "ok");
  document.body.classList.toggle("estop", latched);
  const reason = get(s, "safety.estop_reason");
  const reasonEl = $("estop-reason");
  reasonEl.textContent = latched
    ? "latched" + (reason ? ": " + String(reason) : "")
    : known
    ? "clear"
    : "-";
  reasonEl.className = latched ? "alarm-text" : "";

  const x = num(s, "pose.x_m");
  const y = num(s, "pose.y_m");
  const heading = headingOf(s);
  const yaw = yawOf(s);
  const speed = speedOf(s);
  setText("pose-x", fmt(x, 3, " m"), x);
  setText("pose-y", fmt(y, 3, " m"), y);
  setText("heading", fmt(heading, 0, DEG), heading);
  setText("yaw", fmt(yaw, 1, DEG), yaw);
  setText("speed", fmt(speed, 2, " m/s"), speed);

  const pct = num(s, "battery.percent");
  const volts = num(s, "battery.volts");
  const bstate = get(s, "battery.state");
  setText("battery-percent", fmt(pct, 0, "%"), pct);
  setText("battery-volts", fmt(volts, 2, " V"), volts);
  setText(
    "battery-state",
    typeof bstate === "string" ? bstate : "-",
    typeof bstate === "string" ? bstate : null,
  );
  const bar = $("battery-bar");
  bar.style.width = (pct === null ? 0 : Math.max(0, Math.min(100, pct))) + "%";
  bar.style.background = bstate === "critical" || (pct !== null && pct < 10)
    ? "var(--bad)"
    : bstate === "low" || (pct !== null && pct < 25)
    ? "var(--warn)"
    : "var(--ok)";

  const r = num(s, "color.r");
  const g = num(s, "color.g");
  const b = num(s, "color.b");
  const swatch = $("color-swatch");
  if (r !== null && g !== null && b !== null) {
    const rgb = "rgb(" + Math.round(r) + ", " + Math.round(g) + ", " + Math.round(b) + ")";
    swatch.style.background = rgb;
    swatch.setAttribute("data-rgb", Math.round(r) + "," + Math.round(g) + "," + Math.round(b));
    const idx = num(s, "color.index");
    const conf = num(s, "color.confidence");
    setText(
      "color-detail",
      rgb + (idx !== null ? ", index " + idx : "") +
        (conf !== null
          ? ", " + (conf <= 1 ? (conf * 100).toFixed(0) : conf.toFixed(0)) + "% sure"
          : ""),
    );
  } else {
    swatch.style.background = "";
    swatch.setAttribute("data-rgb", "");
    setText("color-detail", "-");
  }
  const lux = num(s, "ambient_lux");
  setText("ambient-lux", fmt(lux, 0, " lux"), lux);

  const limit = num(s, "safety.speed_limit_percent");
  setText("speed-limit", fmt(limit, 0, "%"), limit);
  const crit = get(s, "safety.battery_critical");
  const critEl = $("battery-critical");
  critEl.textContent = crit === true ? "YES - movement blocked" : crit === false ? "no" : "-";
  critEl.className = crit === true ? "alarm-text" : "";
  const power = get(s, "power");
  const powerStatus = get(power, "status");
  setText(
    "power-status",
    typeof power === "string" ? power : typeof powerStatus === "string" ? powerStatus : "-",
  );
  motor("motor-left", num(s, "motors.left_c"), get(s, "motors.left_status"));
  motor("motor-right", num(s, "motors.right_c"), get(s, "motors.right_status"));

  const pitch = num(s, "imu.pitch_deg"), roll = num(s, "imu.roll_deg");
  const imuYaw = num(s, "imu.yaw_deg");
  setText("imu-pitch", fmt(pitch, 1, DEG), pitch);
  setText("imu-roll", fmt(roll, 1, DEG), roll);
  setText("imu-yaw", fmt(imuYaw, 1, DEG), imuYaw);
  const ax = num(s, "accelerometer.x_g"), ay = num(s, "accelerometer.y_g");
  const az = num(s, "accelerometer.z_g");
  setText("accel-x", fmt(ax, 3, " g"), ax);
  setText("accel-y", fmt(ay, 3, " g"), ay);
  setText("accel-z", fmt(az, 3, " g"), az);

  const updated = num(s, "updated_at");
  setText(
    "updated-at",
    updated === null
      ? (m.state ? "updated: -" : "no data yet")
      : "updated " + new Date(updated).toLocaleTimeString(),
  );
  const st = $("telemetry-stats");
  const stats = m.stats;
  st.textContent = m.state === null && stats.frames === 0
    ? "no frames"
    : "seq " + (m.seq === null ? "-" : m.seq) + ", frames " + stats.frames + " (" + stats.full +
      " full), gaps " + stats.gaps + ", resyncs " + stats.resyncs;
  st.setAttribute("data-seq", m.seq === null ? "" : String(m.seq));
  st.setAttribute("data-frames", String(stats.frames));
  st.setAttribute("data-resyncs", String(stats.resyncs));
  st.setAttribute("data-gaps", String(stats.gaps));
  st.setAttribute("data-errors", String(stats.errors));
  setText("telemetry-error", m.lastError);

  const pathCanvas = canvas("path-canvas");
  drawPath(pathCanvas, m.path, x, y, yaw);
  const lastPoint = m.path.points[m.path.points.length - 1];
  const lastText = lastPoint ? lastPoint[0] + "," + lastPoint[1] : "";
  if (pathCanvas.getAttribute("data-last") !== lastText) {
    pathCanvas.setAttribute("data-last", lastText);
  }
  const count = $("path-points");
  const n = m.path.points.length;
  count.setAttribute("data-count", String(n));
  count.textContent = n + (n === 1 ? " point" : " points");
  drawDial(canvas("heading-dial"), heading);
  drawChart(canvas("imu-chart"), m.imuSamples, ["#4fc3f7", "#ffb74d", "#ba68c8"], DEG);
  drawChart(canvas("accel-chart"), m.accelSamples, ["#ef5350", "#66bb6a", "#42a5f5"], " g");
}
