/**
 * The side port's dashboard page (`GET /`): one self-contained HTML document with inline CSS and
 * JavaScript (no CDN, no build step, canvas for every plot).
 *
 * What the page does:
 * - connects to `/telemetry` on its own origin (`wss:` under https), passing `?key=` through from
 *   its own URL, and keeps the telemetry state by applying frames: a "full" frame replaces it, a
 *   "delta" frame sets dotted leaf paths. A delta whose `seq` is not the last one + 1 (or that
 *   arrives before any full frame, or names a path the state lacks) is dropped and
 *   `{"type":"resync"}` is sent (again after 2 s if no full frame came); deltas are ignored until
 *   the full frame comes. The socket URL carries `client=dashboard` (the per-client metric label). A closed socket is reopened with exponential backoff
 *   (0.5 s doubling to 10 s, +-20 % jitter), reset once a frame arrives.
 * - shows the live x/y path (auto-scaling, with the robot and its heading), heading, speed,
 *   battery, IMU and accelerometer (rolling 30 s line charts), the colour under the robot,
 *   connection and safety state (a latched e-stop turns the page red), motor temperatures.
 * - has an emergency stop button: `POST /estop` with `Authorization: Bearer <key>` when the page
 *   was opened with `?key=`; the HTTP status and reply are shown next to it.
 *
 * Stable hooks for tests and scripts are listed in {@link DASHBOARD_ELEMENT_IDS}; numeric fields
 * carry their raw value in `data-value`, `#path-points` carries `data-count` (points drawn),
 * `#estop-state` carries `data-latched`, `#conn-status` and `#ws-status` carry `data-status`,
 * `#telemetry-stats` carries `data-seq`, `data-frames`, `data-resyncs`, `data-gaps`,
 * `data-errors`, and `#estop-result` carries `data-status` (HTTP status, or "error").
 * `window.rvrDashboard` exposes the state and counters for debugging.
 *
 * The source is ASCII: symbols are HTML entities or `\u` escapes.
 *
 * @module
 */

/** Element ids the page always has (tests and scripts may rely on them). */
export const DASHBOARD_ELEMENT_IDS = [
  "conn-status",
  "conn-detail",
  "ws-status",
  "estop-state",
  "estop-reason",
  "estop-button",
  "estop-result",
  "path-canvas",
  "path-points",
  "path-clear",
  "pose-x",
  "pose-y",
  "heading",
  "heading-dial",
  "yaw",
  "speed",
  "battery-percent",
  "battery-bar",
  "battery-volts",
  "battery-state",
  "color-swatch",
  "color-detail",
  "ambient-lux",
  "imu-chart",
  "imu-pitch",
  "imu-roll",
  "imu-yaw",
  "accel-chart",
  "accel-x",
  "accel-y",
  "accel-z",
  "speed-limit",
  "battery-critical",
  "power-status",
  "motor-left",
  "motor-right",
  "updated-at",
  "telemetry-stats",
  "telemetry-error",
] as const;
export type DashboardElementId = typeof DASHBOARD_ELEMENT_IDS[number];

const STYLE = String.raw`
:root {
  --bg: #0e1217; --card: #171d25; --line: #2a3340; --text: #e4e8ee; --muted: #8b97a7;
  --accent: #4fc3f7; --ok: #4caf50; --warn: #ffb300; --bad: #ff5252;
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
body.estop { box-shadow: inset 0 0 0 6px var(--bad); }
header { display: flex; align-items: center; gap: 12px; padding: 10px 16px;
  border-bottom: 1px solid var(--line); background: #121820; }
header h1 { flex: none; white-space: nowrap; font-size: 17px; margin: 0 12px 0 0; font-weight: 600; letter-spacing: .3px; }
.pill { flex: none; padding: 3px 10px; border-radius: 999px; border: 1px solid var(--line); color: var(--muted);
  font-size: 12px; white-space: nowrap; }
.pill b { color: var(--text); font-weight: 600; }
.pill.ok { border-color: var(--ok); } .pill.ok b { color: var(--ok); }
.pill.warn { border-color: var(--warn); } .pill.warn b { color: var(--warn); }
.pill.bad { border-color: var(--bad); } .pill.bad b { color: var(--bad); }
.pill.alarm { background: var(--bad); border-color: var(--bad); color: #fff; }
.pill.alarm b { color: #fff; }
.spacer { flex: 1; }
#estop-button { flex: none; background: #d32f2f; color: #fff; border: 2px solid #ff8a80; border-radius: 8px;
  font-weight: 700; font-size: 15px; letter-spacing: 1px; padding: 8px 18px; cursor: pointer; }
#estop-button:hover { background: #e53935; }
#estop-button:active { transform: translateY(1px); }
#estop-button:disabled { opacity: .6; cursor: progress; }
#estop-result { flex: 0 1 auto; min-width: 0; font-size: 12px; color: var(--muted); overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; }
#estop-result.ok { color: var(--ok); } #estop-result.bad { color: var(--bad); }
main { display: grid; gap: 12px; padding: 12px 16px;
  grid-template-columns: minmax(360px, 1.35fr) minmax(300px, 1fr) minmax(260px, .9fr); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 10px 12px; min-width: 0; }
.card h2 { margin: 0 0 8px; font-size: 12px; font-weight: 600; color: var(--muted);
  text-transform: uppercase; letter-spacing: .8px; display: flex; align-items: center; gap: 8px; }
.card h2 .right { margin-left: auto; text-transform: none; letter-spacing: 0; font-weight: 400; }
#path-card { grid-row: span 2; display: flex; flex-direction: column; }
#path-canvas { width: 100%; flex: 1; min-height: 380px; display: block; border-radius: 6px;
  background: #0b0f14; }
.chart { width: 100%; height: 170px; display: block; border-radius: 6px; background: #0b0f14; }
.wide { grid-column: span 3; }
.half { grid-column: span 1; }
.kv { display: grid; grid-template-columns: auto 1fr; gap: 4px 12px; align-items: baseline; }
.kv span { color: var(--muted); font-size: 12px; }
.kv output { font-variant-numeric: tabular-nums; font-size: 15px; }
.big { font-size: 30px; font-weight: 600; font-variant-numeric: tabular-nums; }
.row { display: flex; gap: 14px; align-items: center; }
#heading-dial { width: 110px; height: 110px; flex: none; }
.bar { height: 10px; border-radius: 5px; background: #0b0f14; border: 1px solid var(--line);
  overflow: hidden; margin: 6px 0 8px; }
#battery-bar { height: 100%; width: 0; background: var(--ok); transition: width .3s; }
#color-swatch { width: 86px; height: 86px; border-radius: 10px; border: 1px solid var(--line);
  background: repeating-linear-gradient(45deg, #222 0 6px, #2c2c2c 6px 12px); flex: none; }
.legend { display: flex; gap: 14px; font-size: 12px; color: var(--muted); }
.legend output { color: var(--text); font-variant-numeric: tabular-nums; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 4px; }
footer { padding: 4px 16px 12px; color: var(--muted); font-size: 12px; display: flex; gap: 16px; }
#telemetry-error { color: var(--bad); }
button.small { background: transparent; color: var(--muted); border: 1px solid var(--line);
  border-radius: 6px; font-size: 11px; padding: 1px 8px; cursor: pointer; }
.alarm-text { color: var(--bad); font-weight: 700; }
@media (max-width: 1000px) { header { flex-wrap: wrap; } main { grid-template-columns: 1fr; } .wide, .half { grid-column: auto; }
  #path-card { grid-row: auto; } }
`;

const BODY = String.raw`
<header>
  <h1>RVR telemetry</h1>
  <span class="pill">robot <b id="conn-status" data-status="unknown">unknown</b></span>
  <span class="pill" id="conn-detail">-</span>
  <span class="pill">telemetry <b id="ws-status" data-status="connecting">connecting</b></span>
  <span class="pill" id="estop-pill">e-stop <b id="estop-state" data-latched="unknown">unknown</b></span>
  <span class="spacer"></span>
  <span id="estop-result" data-status="" role="status" aria-live="polite"></span>
  <button id="estop-button" type="button" title="POST /estop: stop the robot now and latch">EMERGENCY STOP</button>
</header>
<main>
  <section class="card" id="path-card">
    <h2>Path (x/y, metres)
      <span class="right"><span id="path-points" data-count="0">0 points</span>
      <button class="small" id="path-clear" type="button">clear</button></span></h2>
    <canvas id="path-canvas" aria-label="x/y path of the robot"></canvas>
  </section>
  <section class="card">
    <h2>Motion</h2>
    <div class="row">
      <canvas id="heading-dial" aria-label="heading dial"></canvas>
      <div class="kv">
        <span>x</span><output id="pose-x" data-value="">-</output>
        <span>y</span><output id="pose-y" data-value="">-</output>
        <span>heading</span><output id="heading" data-value="">-</output>
        <span>yaw</span><output id="yaw" data-value="">-</output>
        <span>speed</span><output id="speed" data-value="">-</output>
      </div>
    </div>
  </section>
  <section class="card">
    <h2>Battery</h2>
    <div class="big"><output id="battery-percent" data-value="">-</output></div>
    <div class="bar"><div id="battery-bar"></div></div>
    <div class="kv">
      <span>voltage</span><output id="battery-volts" data-value="">-</output>
      <span>state</span><output id="battery-state" data-value="">-</output>
    </div>
  </section>
  <section class="card">
    <h2>Colour under the robot</h2>
    <div class="row">
      <div id="color-swatch" data-rgb=""></div>
      <div class="kv">
        <span>detected</span><output id="color-detail">-</output>
        <span>ambient</span><output id="ambient-lux" data-value="">-</output>
      </div>
    </div>
  </section>
  <section class="card">
    <h2>Safety</h2>
    <div class="kv">
      <span>e-stop</span><output id="estop-reason">-</output>
      <span>speed limit</span><output id="speed-limit" data-value="">-</output>
      <span>battery critical</span><output id="battery-critical">-</output>
      <span>power</span><output id="power-status">-</output>
      <span>left motor</span><output id="motor-left" data-value="">-</output>
      <span>right motor</span><output id="motor-right" data-value="">-</output>
    </div>
  </section>
  <section class="card wide">
    <h2>IMU (&deg;)
      <span class="right legend">
        <span><i class="dot" style="background:#4fc3f7"></i>pitch <output id="imu-pitch" data-value="">-</output></span>
        <span><i class="dot" style="background:#ffb74d"></i>roll <output id="imu-roll" data-value="">-</output></span>
        <span><i class="dot" style="background:#ba68c8"></i>yaw <output id="imu-yaw" data-value="">-</output></span>
      </span></h2>
    <canvas class="chart" id="imu-chart" aria-label="IMU pitch, roll and yaw over time"></canvas>
  </section>
  <section class="card wide">
    <h2>Accelerometer (g)
      <span class="right legend">
        <span><i class="dot" style="background:#ef5350"></i>x <output id="accel-x" data-value="">-</output></span>
        <span><i class="dot" style="background:#66bb6a"></i>y <output id="accel-y" data-value="">-</output></span>
        <span><i class="dot" style="background:#42a5f5"></i>z <output id="accel-z" data-value="">-</output></span>
      </span></h2>
    <canvas class="chart" id="accel-chart" aria-label="accelerometer x, y and z over time"></canvas>
  </section>
</main>
<footer>
  <span id="updated-at">no data yet</span>
  <span id="telemetry-stats" data-seq="" data-frames="0" data-resyncs="0" data-gaps="0" data-errors="0">no frames</span>
  <span id="telemetry-error"></span>
</footer>
`;

/*
 * Browser JavaScript, ES2017, no template literals (this is a TypeScript template) and no
 * backslash escapes other than the ones meant for the browser (String.raw keeps them).
 */
const SCRIPT = String.raw`
(function () {
  "use strict";
  var DEG = "\u00b0";
  var MAX_PATH_POINTS = 20000;
  var MIN_STEP_M = 0.002;
  var CHART_WINDOW_MS = 30000;
  var MAX_SAMPLES = 4000;
  var RESYNC_RETRY_MS = 2000;
  var BACKOFF_FIRST_MS = 500;
  var BACKOFF_MAX_MS = 10000;

  var apiKey = new URLSearchParams(location.search).get("key");
  var state = null;
  var lastSeq = null;
  var awaitingFull = false;
  var resyncAskedAt = 0;
  var stats = { frames: 0, full: 0, delta: 0, resyncs: 0, gaps: 0, errors: 0, connects: 0 };
  var lastError = "";
  var path = [];
  var bounds = null;
  var imuSamples = [];
  var accelSamples = [];
  var socket = null;
  var attempts = 0;
  var wsStatus = "connecting";
  var wsDetail = "";
  var renderQueued = false;

  function $(id) { return document.getElementById(id); }

  function get(obj, dotted) {
    var parts = dotted.split(".");
    var cur = obj;
    for (var i = 0; i < parts.length; i++) {
      if (cur === null || typeof cur !== "object") return undefined;
      cur = cur[parts[i]];
    }
    return cur;
  }

  function num(obj, dotted) {
    var v = get(obj, dotted);
    return typeof v === "number" && isFinite(v) ? v : null;
  }

  /* A delta never changes the state's shape: a path the state lacks means we are out of step. */
  function firstMissingPath(obj, changes) {
    for (var dotted in changes) {
      var parts = dotted.split(".");
      var cur = obj;
      for (var i = 0; i < parts.length; i++) {
        if (cur === null || typeof cur !== "object" || Array.isArray(cur) ||
          !Object.prototype.hasOwnProperty.call(cur, parts[i])) return dotted;
        cur = cur[parts[i]];
      }
    }
    return null;
  }

  function setPath(obj, dotted, value) {
    var parts = dotted.split(".");
    var cur = obj;
    for (var i = 0; i < parts.length - 1; i++) cur = cur[parts[i]];
    cur[parts[parts.length - 1]] = value;
  }

  function touches(changes, prefix) {
    if (changes === null) return true;
    for (var k in changes) {
      if (k === prefix || k.indexOf(prefix + ".") === 0) return true;
    }
    return false;
  }

  /* ---- frames ---- */

  function requestResync(why) {
    var now = Date.now();
    if (awaitingFull && now - resyncAskedAt < RESYNC_RETRY_MS) return;
    awaitingFull = true;
    resyncAskedAt = now;
    stats.resyncs++;
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "resync" }));
    }
    console.warn("telemetry: asked for a full frame (" + why + ")");
  }

  function onFrame(frame) {
    if (frame === null || typeof frame !== "object" || typeof frame.seq !== "number") {
      throw new Error("telemetry frame without a numeric seq: " + JSON.stringify(frame).slice(0, 120));
    }
    var at = typeof frame.at === "number" ? frame.at : Date.now();
    if (frame.type === "full") {
      if (frame.state === null || typeof frame.state !== "object") {
        throw new Error("full telemetry frame " + frame.seq + " has no state object");
      }
      stats.frames++;
      stats.full++;
      state = frame.state;
      lastSeq = frame.seq;
      awaitingFull = false;
      record(at, null);
    } else if (frame.type === "delta") {
      stats.frames++;
      if (state === null || lastSeq === null || frame.seq !== lastSeq + 1) {
        stats.gaps++;
        requestResync(state === null ? "delta before any full frame" :
          "seq " + frame.seq + " after " + lastSeq);
        scheduleRender();
        return;
      }
      var changes = frame.changes;
      if (changes === null || typeof changes !== "object") {
        throw new Error("delta telemetry frame " + frame.seq + " has no changes object");
      }
      var missing = firstMissingPath(state, changes);
      if (missing !== null) {
        stats.gaps++;
        requestResync("delta " + frame.seq + " changes " + missing + ", which the state lacks");
        scheduleRender();
        return;
      }
      for (var key in changes) setPath(state, key, changes[key]);
      lastSeq = frame.seq;
      stats.delta++;
      record(at, changes);
    } else {
      throw new Error("unknown telemetry frame type " + JSON.stringify(frame.type) +
        " (expected full or delta)");
    }
    scheduleRender();
  }

  function record(at, changes) {
    if (touches(changes, "pose")) addPathPoint(num(state, "pose.x_m"), num(state, "pose.y_m"));
    if (touches(changes, "imu")) {
      pushSample(imuSamples, at, [num(state, "imu.pitch_deg"), num(state, "imu.roll_deg"),
        num(state, "imu.yaw_deg")]);
    }
    if (touches(changes, "accelerometer")) {
      pushSample(accelSamples, at, [num(state, "accelerometer.x_g"),
        num(state, "accelerometer.y_g"), num(state, "accelerometer.z_g")]);
    }
  }

  function addPathPoint(x, y) {
    if (x === null || y === null) return;
    var last = path[path.length - 1];
    if (last && Math.abs(last[0] - x) < MIN_STEP_M && Math.abs(last[1] - y) < MIN_STEP_M) return;
    path.push([x, y]);
    if (path.length > MAX_PATH_POINTS) {
      var kept = [];
      for (var i = 0; i < path.length; i += 2) kept.push(path[i]);
      if (kept[kept.length - 1] !== path[path.length - 1]) kept.push(path[path.length - 1]);
      path = kept;
    }
    if (bounds === null) bounds = { minX: x, maxX: x, minY: y, maxY: y };
    else {
      bounds.minX = Math.min(bounds.minX, x); bounds.maxX = Math.max(bounds.maxX, x);
      bounds.minY = Math.min(bounds.minY, y); bounds.maxY = Math.max(bounds.maxY, y);
    }
  }

  function pushSample(list, at, values) {
    if (values[0] === null && values[1] === null && values[2] === null) return;
    list.push({ t: at, v: values });
    var cutoff = at - CHART_WINDOW_MS * 1.5;
    var drop = 0;
    while (drop < list.length && list[drop].t < cutoff) drop++;
    if (list.length - drop > MAX_SAMPLES) drop = list.length - MAX_SAMPLES;
    if (drop > 0) list.splice(0, drop);
  }

  /* ---- socket ---- */

  function telemetryUrl() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    return proto + "//" + location.host + "/telemetry?client=dashboard" +
      (apiKey ? "&key=" + encodeURIComponent(apiKey) : "");
  }

  function setWs(status, detail) {
    wsStatus = status;
    wsDetail = detail || "";
    scheduleRender();
  }

  function connect() {
    setWs("connecting", attempts > 0 ? "attempt " + (attempts + 1) : "");
    var ws;
    try {
      ws = new WebSocket(telemetryUrl());
    } catch (e) {
      lastError = "cannot open the telemetry socket: " + (e && e.message ? e.message : String(e));
      scheduleReconnect(0);
      return;
    }
    socket = ws;
    ws.onopen = function () {
      if (socket !== ws) return;
      stats.connects++;
      setWs("open", "");
    };
    ws.onmessage = function (ev) {
      if (socket !== ws) return;
      try {
        onFrame(JSON.parse(ev.data));
        attempts = 0;
      } catch (e) {
        stats.errors++;
        lastError = e && e.message ? e.message : String(e);
        console.error("telemetry: " + lastError);
        scheduleRender();
      }
    };
    ws.onerror = function () {
      if (socket !== ws) return;
      lastError = "telemetry socket error (" + telemetryUrl().replace(/key=[^&]*/, "key=...") + ")";
      scheduleRender();
    };
    ws.onclose = function (ev) {
      if (socket !== ws) return;
      socket = null;
      lastSeq = null;
      awaitingFull = false;
      scheduleReconnect(ev.code);
    };
  }

  function scheduleReconnect(code) {
    attempts++;
    var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, attempts - 1));
    delay = Math.round(delay * (0.8 + Math.random() * 0.4));
    setWs("closed", "retry in " + (delay / 1000).toFixed(1) + " s" + (code ? ", code " + code : ""));
    setTimeout(connect, delay);
  }

  /* ---- e-stop ---- */

  /* A reply body in one line: "key=value, ..." for a JSON object, else its first 160 chars. */
  function summarize(body) {
    var json;
    try {
      json = JSON.parse(body);
    } catch (notJson) {
      return body.slice(0, 160);
    }
    if (json === null || typeof json !== "object") return String(json);
    if (json.estop === true) {
      return "e-stop latched, " + (json.sent === false ? "stop NOT sent" +
        (json.error ? " (" + json.error + ")" : "") : "stop sent to the robot") +
        (json.cancelledQueued ? ", " + json.cancelledQueued + " queued commands cancelled" : "");
    }
    if (typeof json.error === "string") return json.error;
    return Object.keys(json).slice(0, 4).map(function (k) {
      var v = json[k];
      return k + "=" + (v !== null && typeof v === "object" ? "{...}" : String(v));
    }).join(", ");
  }

  function estop() {
    var button = $("estop-button");
    var out = $("estop-result");
    button.disabled = true;
    out.className = "";
    out.textContent = "sending...";
    out.setAttribute("data-status", "pending");
    var headers = {};
    if (apiKey) headers.Authorization = "Bearer " + apiKey;
    fetch("/estop", { method: "POST", headers: headers })
      .then(function (res) {
        return res.text().then(function (body) {
          var summary = summarize(body);
          out.className = res.ok ? "ok" : "bad";
          out.textContent = res.ok ? "stopped: " + summary : "failed: HTTP " + res.status + " " + summary;
          out.title = body;
          out.setAttribute("data-status", String(res.status));
        });
      })
      .catch(function (e) {
        out.className = "bad";
        out.textContent = "failed: " + (e && e.message ? e.message : String(e));
        out.setAttribute("data-status", "error");
      })
      .then(function () { button.disabled = false; });
  }

  /* ---- rendering ---- */

  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    /* rAF pauses in hidden tabs; the timer keeps the numbers fresh there. */
    requestAnimationFrame(render);
    setTimeout(render, 250);
  }

  function setText(id, text, value) {
    var el = $(id);
    if (el.textContent !== text) el.textContent = text;
    if (value !== undefined) {
      var v = value === null ? "" : String(value);
      if (el.getAttribute("data-value") !== v) el.setAttribute("data-value", v);
    }
  }

  function fmt(v, digits, unit) {
    return v === null ? "-" : v.toFixed(digits) + (unit || "");
  }

  function setPill(el, level) {
    var pill = el.parentNode;
    pill.classList.remove("ok", "warn", "bad", "alarm");
    if (level) pill.classList.add(level);
  }

  function headingOf(s) {
    var h = num(s, "pose.heading_deg");
    if (h !== null) return h;
    var yaw = num(s, "pose.yaw_deg");
    if (yaw === null) yaw = num(s, "imu.yaw_deg");
    return yaw === null ? null : ((-yaw % 360) + 360) % 360;
  }

  function yawOf(s) {
    var yaw = num(s, "pose.yaw_deg");
    if (yaw !== null) return yaw;
    yaw = num(s, "imu.yaw_deg");
    if (yaw !== null) return yaw;
    var h = num(s, "pose.heading_deg");
    return h === null ? null : -h;
  }

  function speedOf(s) {
    var v = num(s, "speed_mps");
    if (v !== null) return v;
    var vx = num(s, "velocity.x_mps");
    var vy = num(s, "velocity.y_mps");
    return vx === null || vy === null ? null : Math.sqrt(vx * vx + vy * vy);
  }

  function render() {
    if (!renderQueued) return;
    renderQueued = false;
    var s = state || {};

    var ws = $("ws-status");
    ws.textContent = (wsStatus === "open" ? (awaitingFull ? "resyncing" : "live") : wsStatus) +
      (wsDetail ? " (" + wsDetail + ")" : "");
    ws.setAttribute("data-status", wsStatus);
    setPill(ws, wsStatus === "open" ? "ok" : wsStatus === "connecting" ? "warn" : "bad");

    var status = get(s, "connection.status");
    var conn = $("conn-status");
    conn.textContent = typeof status === "string" ? status : "unknown";
    conn.setAttribute("data-status", typeof status === "string" ? status : "unknown");
    setPill(conn, status === "connected" ? "ok" :
      status === "connecting" || status === "reconnecting" ? "warn" : status ? "bad" : "");
    var port = get(s, "connection.port");
    var sim = get(s, "connection.simulated");
    setText("conn-detail", (port ? "port " + port : "no port") + (sim === true ? " (simulator)" : ""));

    var estopRaw = get(s, "safety.estop");
    var latched = estopRaw === true || (estopRaw !== null && typeof estopRaw === "object" &&
      estopRaw.latched === true);
    var known = state !== null && estopRaw !== undefined && estopRaw !== null;
    var es = $("estop-state");
    es.textContent = !known ? "unknown" : latched ? "LATCHED" : "clear";
    es.setAttribute("data-latched", !known ? "unknown" : String(latched));
    setPill(es, !known ? "" : latched ? "alarm" : "ok");
    document.body.classList.toggle("estop", latched);
    var reason = get(s, "safety.estop_reason");
    var reasonEl = $("estop-reason");
    reasonEl.textContent = latched ? "latched" + (reason ? ": " + reason : "") : known ? "clear" : "-";
    reasonEl.className = latched ? "alarm-text" : "";

    var x = num(s, "pose.x_m");
    var y = num(s, "pose.y_m");
    var heading = headingOf(s);
    var yaw = yawOf(s);
    var speed = speedOf(s);
    setText("pose-x", fmt(x, 3, " m"), x);
    setText("pose-y", fmt(y, 3, " m"), y);
    setText("heading", fmt(heading, 0, DEG), heading);
    setText("yaw", fmt(yaw, 1, DEG), yaw);
    setText("speed", fmt(speed, 2, " m/s"), speed);

    var pct = num(s, "battery.percent");
    var volts = num(s, "battery.volts");
    var bstate = get(s, "battery.state");
    setText("battery-percent", fmt(pct, 0, "%"), pct);
    setText("battery-volts", fmt(volts, 2, " V"), volts);
    setText("battery-state", typeof bstate === "string" ? bstate : "-", typeof bstate === "string" ? bstate : null);
    var bar = $("battery-bar");
    bar.style.width = (pct === null ? 0 : Math.max(0, Math.min(100, pct))) + "%";
    bar.style.background = bstate === "critical" || (pct !== null && pct < 10) ? "var(--bad)" :
      bstate === "low" || (pct !== null && pct < 25) ? "var(--warn)" : "var(--ok)";

    var r = num(s, "color.r");
    var g = num(s, "color.g");
    var b = num(s, "color.b");
    var swatch = $("color-swatch");
    if (r !== null && g !== null && b !== null) {
      var rgb = "rgb(" + Math.round(r) + ", " + Math.round(g) + ", " + Math.round(b) + ")";
      swatch.style.background = rgb;
      swatch.setAttribute("data-rgb", Math.round(r) + "," + Math.round(g) + "," + Math.round(b));
      var idx = num(s, "color.index");
      var conf = num(s, "color.confidence");
      setText("color-detail", rgb + (idx !== null ? ", index " + idx : "") +
        (conf !== null ? ", " + (conf <= 1 ? (conf * 100).toFixed(0) : conf.toFixed(0)) + "% sure" : ""));
    } else {
      swatch.style.background = "";
      swatch.setAttribute("data-rgb", "");
      setText("color-detail", "-");
    }
    var lux = num(s, "ambient_lux");
    setText("ambient-lux", fmt(lux, 0, " lux"), lux);

    var limit = num(s, "safety.speed_limit_percent");
    setText("speed-limit", fmt(limit, 0, "%"), limit);
    var crit = get(s, "safety.battery_critical");
    var critEl = $("battery-critical");
    critEl.textContent = crit === true ? "YES - movement blocked" : crit === false ? "no" : "-";
    critEl.className = crit === true ? "alarm-text" : "";
    var power = get(s, "power");
    setText("power-status", typeof power === "string" ? power :
      power && typeof power === "object" && typeof power.status === "string" ? power.status : "-");
    motor("motor-left", num(s, "motors.left_c"), get(s, "motors.left_status"));
    motor("motor-right", num(s, "motors.right_c"), get(s, "motors.right_status"));

    setText("imu-pitch", fmt(num(s, "imu.pitch_deg"), 1, DEG), num(s, "imu.pitch_deg"));
    setText("imu-roll", fmt(num(s, "imu.roll_deg"), 1, DEG), num(s, "imu.roll_deg"));
    setText("imu-yaw", fmt(num(s, "imu.yaw_deg"), 1, DEG), num(s, "imu.yaw_deg"));
    setText("accel-x", fmt(num(s, "accelerometer.x_g"), 3, " g"), num(s, "accelerometer.x_g"));
    setText("accel-y", fmt(num(s, "accelerometer.y_g"), 3, " g"), num(s, "accelerometer.y_g"));
    setText("accel-z", fmt(num(s, "accelerometer.z_g"), 3, " g"), num(s, "accelerometer.z_g"));

    var updated = num(s, "updated_at");
    setText("updated-at", updated === null ? (state ? "updated: -" : "no data yet") :
      "updated " + new Date(updated).toLocaleTimeString());
    var st = $("telemetry-stats");
    st.textContent = state === null && stats.frames === 0 ? "no frames" :
      "seq " + (lastSeq === null ? "-" : lastSeq) + ", frames " + stats.frames + " (" + stats.full +
      " full), gaps " + stats.gaps + ", resyncs " + stats.resyncs;
    st.setAttribute("data-seq", lastSeq === null ? "" : String(lastSeq));
    st.setAttribute("data-frames", String(stats.frames));
    st.setAttribute("data-resyncs", String(stats.resyncs));
    st.setAttribute("data-gaps", String(stats.gaps));
    st.setAttribute("data-errors", String(stats.errors));
    setText("telemetry-error", lastError);

    drawPath(x, y, yaw);
    drawDial(heading);
    drawChart("imu-chart", imuSamples, ["#4fc3f7", "#ffb74d", "#ba68c8"], DEG);
    drawChart("accel-chart", accelSamples, ["#ef5350", "#66bb6a", "#42a5f5"], " g");
  }

  function motor(id, celsius, status) {
    var text = fmt(celsius, 1, " " + DEG + "C");
    if (typeof status === "string" && status) text += " (" + status + ")";
    setText(id, text, celsius);
    $(id).className = status === "critical" ? "alarm-text" : "";
  }

  /* Sizes the canvas backing store to its CSS box; returns the 2D context in CSS pixels. */
  function prep(canvas) {
    var dpr = window.devicePixelRatio || 1;
    var w = Math.max(1, canvas.clientWidth);
    var h = Math.max(1, canvas.clientHeight);
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    var ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    return { ctx: ctx, w: w, h: h };
  }

  function niceStep(span) {
    var raw = span / 6;
    var mag = Math.pow(10, Math.floor(Math.log(raw) / Math.LN10));
    var n = raw / mag;
    return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
  }

  function label(v, step) {
    if (Math.abs(v) < step * 1e-6) v = 0;
    var digits = Math.max(0, -Math.floor(Math.log(step) / Math.LN10 + 1e-9));
    return v.toFixed(Math.min(4, digits));
  }

  function drawPath(x, y, yaw) {
    var canvas = $("path-canvas");
    var p = prep(canvas);
    var ctx = p.ctx;
    var minX = 0, maxX = 0, minY = 0, maxY = 0;
    if (bounds) {
      minX = Math.min(minX, bounds.minX); maxX = Math.max(maxX, bounds.maxX);
      minY = Math.min(minY, bounds.minY); maxY = Math.max(maxY, bounds.maxY);
    }
    if (x !== null && y !== null) {
      minX = Math.min(minX, x); maxX = Math.max(maxX, x);
      minY = Math.min(minY, y); maxY = Math.max(maxY, y);
    }
    var pad = 36;
    var span = Math.max(maxX - minX, maxY - minY, 0.5) * 1.15;
    var scale = Math.min(p.w - 2 * pad, p.h - 2 * pad) / span;
    var cx = (minX + maxX) / 2;
    var cy = (minY + maxY) / 2;
    function sx(v) { return p.w / 2 + (v - cx) * scale; }
    function sy(v) { return p.h / 2 - (v - cy) * scale; }

    var step = niceStep(Math.max(p.w, p.h) / scale);
    var x0 = cx - p.w / 2 / scale, x1 = cx + p.w / 2 / scale;
    var y0 = cy - p.h / 2 / scale, y1 = cy + p.h / 2 / scale;
    ctx.lineWidth = 1;
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#6b7686";
    ctx.strokeStyle = "#1f2732";
    ctx.beginPath();
    for (var gx = Math.ceil(x0 / step) * step; gx <= x1; gx += step) {
      ctx.moveTo(Math.round(sx(gx)) + 0.5, 0); ctx.lineTo(Math.round(sx(gx)) + 0.5, p.h);
    }
    for (var gy = Math.ceil(y0 / step) * step; gy <= y1; gy += step) {
      ctx.moveTo(0, Math.round(sy(gy)) + 0.5); ctx.lineTo(p.w, Math.round(sy(gy)) + 0.5);
    }
    ctx.stroke();
    for (gx = Math.ceil(x0 / step) * step; gx <= x1; gx += step) {
      var tx = label(gx, step);
      if (sx(gx) + 3 + ctx.measureText(tx).width < p.w - 2) ctx.fillText(tx, sx(gx) + 3, p.h - 5);
    }
    for (gy = Math.ceil(y0 / step) * step; gy <= y1; gy += step) {
      if (sy(gy) - 3 > 12) ctx.fillText(label(gy, step), 4, sy(gy) - 3);
    }
    ctx.strokeStyle = "#364252";
    ctx.beginPath();
    ctx.moveTo(sx(0), 0); ctx.lineTo(sx(0), p.h);
    ctx.moveTo(0, sy(0)); ctx.lineTo(p.w, sy(0));
    ctx.stroke();
    ctx.fillStyle = "#8b97a7";
    ctx.fillText("+y forward", sx(0) + 4, 14);
    ctx.fillText("+x right", p.w - 52, sy(0) - 5);

    if (path.length > 1) {
      ctx.strokeStyle = "#4fc3f7";
      ctx.lineWidth = 2.5;
      ctx.lineJoin = "round";
      ctx.lineCap = "round";
      ctx.beginPath();
      ctx.moveTo(sx(path[0][0]), sy(path[0][1]));
      for (var i = 1; i < path.length; i++) ctx.lineTo(sx(path[i][0]), sy(path[i][1]));
      ctx.stroke();
    }
    if (path.length > 0) {
      ctx.fillStyle = "#4caf50";
      ctx.beginPath();
      ctx.arc(sx(path[0][0]), sy(path[0][1]), 4, 0, Math.PI * 2);
      ctx.fill();
    }
    if (x !== null && y !== null) {
      var a = (yaw === null ? 0 : yaw) * Math.PI / 180;
      /* yaw is counter-clockwise from +y: the nose points along (-sin a, cos a). */
      var dx = -Math.sin(a), dy = Math.cos(a);
      var px = sx(x), py = sy(y);
      var size = 13;
      ctx.fillStyle = "#ffffff";
      ctx.strokeStyle = "#0b0f14";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(px + dx * size, py - dy * size);
      ctx.lineTo(px - dx * size * 0.6 + dy * size * 0.6, py + dy * size * 0.6 + dx * size * 0.6);
      ctx.lineTo(px - dx * size * 0.6 - dy * size * 0.6, py + dy * size * 0.6 - dx * size * 0.6);
      ctx.closePath();
      ctx.stroke();
      ctx.fill();
    }
    var count = $("path-points");
    count.setAttribute("data-count", String(path.length));
    count.textContent = path.length + (path.length === 1 ? " point" : " points");
  }

  function drawDial(heading) {
    var p = prep($("heading-dial"));
    var ctx = p.ctx;
    var c = Math.min(p.w, p.h) / 2;
    var r = c - 8;
    ctx.strokeStyle = "#364252";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(c, c, r, 0, Math.PI * 2);
    ctx.stroke();
    ctx.lineWidth = 1;
    for (var d = 0; d < 360; d += 30) {
      var t = d * Math.PI / 180;
      var inner = d % 90 === 0 ? r - 9 : r - 5;
      ctx.beginPath();
      ctx.moveTo(c + Math.sin(t) * inner, c - Math.cos(t) * inner);
      ctx.lineTo(c + Math.sin(t) * r, c - Math.cos(t) * r);
      ctx.stroke();
    }
    ctx.fillStyle = "#8b97a7";
    ctx.font = "10px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.fillText("0", c, c - r + 20);
    ctx.fillText("90", c + r - 19, c + 4);
    ctx.fillText("180", c, c + r - 13);
    ctx.fillText("270", c - r + 20, c + 4);
    ctx.textAlign = "start";
    if (heading === null) return;
    var h = heading * Math.PI / 180;
    ctx.strokeStyle = "#4fc3f7";
    ctx.lineWidth = 3;
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(c, c);
    ctx.lineTo(c + Math.sin(h) * (r - 32), c - Math.cos(h) * (r - 32));
    ctx.stroke();
    ctx.fillStyle = "#4fc3f7";
    ctx.beginPath();
    ctx.arc(c, c, 4, 0, Math.PI * 2);
    ctx.fill();
  }

  function drawChart(id, samples, colors, unit) {
    var p = prep($(id));
    var ctx = p.ctx;
    ctx.font = "11px system-ui, sans-serif";
    if (samples.length === 0) {
      ctx.fillStyle = "#6b7686";
      ctx.fillText("waiting for data", 12, p.h / 2);
      return;
    }
    var tMax = samples[samples.length - 1].t;
    var tMin = tMax - CHART_WINDOW_MS;
    var lo = Infinity, hi = -Infinity;
    var first = 0;
    while (first < samples.length - 1 && samples[first].t < tMin) first++;
    for (var i = first; i < samples.length; i++) {
      for (var k = 0; k < 3; k++) {
        var v = samples[i].v[k];
        if (v === null) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    if (lo === Infinity) { lo = -1; hi = 1; }
    if (hi - lo < 1e-6) { lo -= 0.5; hi += 0.5; }
    var padV = (hi - lo) * 0.08;
    lo -= padV; hi += padV;
    var left = 48, right = 8, top = 6, bottom = 18;
    var w = p.w - left - right, h = p.h - top - bottom;
    function sx(t) { return left + (t - tMin) / CHART_WINDOW_MS * w; }
    function sy(v) { return top + (hi - v) / (hi - lo) * h; }
    var step = niceStep(hi - lo);
    ctx.strokeStyle = "#1f2732";
    ctx.fillStyle = "#6b7686";
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (var gv = Math.ceil(lo / step) * step; gv <= hi; gv += step) {
      var yy = Math.round(sy(gv)) + 0.5;
      ctx.moveTo(left, yy); ctx.lineTo(p.w - right, yy);
      ctx.fillText(label(gv, step) + unit, 4, yy + 4);
    }
    for (var s = 0; s <= CHART_WINDOW_MS; s += 5000) {
      var xx = Math.round(sx(tMin + s)) + 0.5;
      ctx.moveTo(xx, top); ctx.lineTo(xx, top + h);
      var txt = s === CHART_WINDOW_MS ? "now" : "-" + (CHART_WINDOW_MS - s) / 1000 + " s";
      ctx.fillText(txt, Math.min(xx - 10, p.w - 28), p.h - 4);
    }
    ctx.stroke();
    ctx.lineWidth = 1.8;
    ctx.lineJoin = "round";
    for (k = 0; k < 3; k++) {
      ctx.strokeStyle = colors[k];
      ctx.beginPath();
      var pen = false;
      for (i = first; i < samples.length; i++) {
        var val = samples[i].v[k];
        if (val === null) { pen = false; continue; }
        var X = Math.max(left, sx(samples[i].t)), Y = sy(val);
        if (pen) ctx.lineTo(X, Y); else { ctx.moveTo(X, Y); pen = true; }
      }
      ctx.stroke();
    }
  }

  $("estop-button").addEventListener("click", estop);
  $("path-clear").addEventListener("click", function () {
    path = [];
    bounds = null;
    scheduleRender();
  });
  window.addEventListener("resize", scheduleRender);
  window.rvrDashboard = {
    get state() { return state; },
    get seq() { return lastSeq; },
    get stats() { return stats; },
    get pathPoints() { return path.length; },
    get socket() { return socket; },
    applyFrame: onFrame
  };
  scheduleRender();
  connect();
})();
`;

/** The dashboard page: one self-contained HTML document (ASCII, no external resources). */
export function dashboardHtml(): string {
  return "<!doctype html>\n" +
    '<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    "<title>RVR telemetry</title>\n" +
    "<style>" + STYLE + "</style>\n</head>\n<body>" + BODY +
    "<script>" + SCRIPT + "</script>\n</body>\n</html>\n";
}
