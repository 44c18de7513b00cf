/**
 * The dashboard page (src/http/dashboard.ts and the real files of src/http/dashboard/): the
 * committed dashboard.js is what `deno task dashboard` makes from the sources now; then the real
 * thing: a headless Chromium (Debian `chromium`) driven over the DevTools Protocol loads the page
 * from the real side port (serveSidePort with an API key, ?key= in the page URL) over a real
 * Runtime, Aggregator and a keep-alive simulated robot streaming locator, IMU, accelerometer,
 * speed and colour in real time. Everything is checked as the browser sees it: the document (one
 * request, every hook once), then the robot drives and the test reads the page's DOM (pose,
 * heading, path point count, battery, connection, colour), checks the page's state equals the
 * server's, forces a seq gap and a dropped socket, compares screenshots before and after driving,
 * and presses the e-stop button while the robot drives (drive_stop on the simulator's wire). The
 * last screenshots are written to /tmp/rvr-dashboard.png and /tmp/rvr-dashboard-estop.png for a
 * human to look at.
 */
import assert from "node:assert/strict";
import { DASHBOARD_ELEMENT_IDS, dashboardHtml } from "../../src/http/dashboard.ts";
import { serveSidePort, type SidePort } from "../../src/http/server.ts";
import { Aggregator } from "../../src/telemetry/mod.ts";
import { Runtime } from "../../src/robot/runtime.ts";
import { SimulatedRvr, SimWorld } from "../../src/sim/mod.ts";
import { buildDashboardScript, OUT as DASHBOARD_JS, ROOT } from "../../scripts/dashboard.ts";
import { keepAliveSimOpener, testSettings, type WireTap } from "../_helpers/mod.ts";
import { until } from "./_side_port.ts";
import {
  type CdpPage,
  Chromium,
  CHROMIUM_BIN,
  chromiumAvailable,
  decodePng,
  differingPixels,
  distinctColours,
  type Image,
} from "./_chromium.ts";
import { programMetrics } from "../../main.ts";

const SCREENSHOT = "/tmp/rvr-dashboard.png";
const SCREENSHOT_ESTOP = "/tmp/rvr-dashboard-estop.png";
const API_KEY = "dashboard-test-key-0123456789";

const SETTINGS = testSettings({ requestTimeoutMs: 500, wakeTimeout: 5, maxSpeedPercent: 100 });

/** Green floor from y = 0.25 m on: the colour under the robot changes as it drives forward. */
const GREEN = { r: 20, g: 200, b: 40 };

interface Rig {
  runtime: Runtime;
  aggregator: Aggregator;
  side: SidePort;
  sim: SimulatedRvr;
  /** The simulator's side of the current connection, recorded. */
  readonly wire: WireTap;
  close(): Promise<void>;
}

/** Runtime over a keep-alive simulator (real time), streams on, aggregator, side port with a key. */
async function makeRig(): Promise<Rig> {
  const world = new SimWorld({
    floor: [{ xMin: -50, xMax: 50, yMin: 0.25, yMax: 50, color: GREEN }],
  });
  const opener = keepAliveSimOpener({ world }, "dashboard");
  const runtime = new Runtime(SETTINGS, opener.open, programMetrics({ processMetrics: false }));
  const closers: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    closers.push(async () => {
      await runtime.close("sigterm");
      if (opener.wires.length > 0) await opener.sim.stop();
    });
    // As in the program: the telemetry listens before the robot connects (the safety set-up
    // publishes the battery reading then).
    const aggregator = new Aggregator(runtime.bus, { windowMs: 100, metrics: runtime.metrics });
    closers.push(() => aggregator.close());
    const side = await serveSidePort({
      port: 0,
      host: "127.0.0.1",
      apiKey: API_KEY,
      runtime,
      aggregator,
      dashboardHtml,
    });
    closers.push(() => side.close());
    await runtime.connection.connect();
    await runtime.rvr.ready();
    // Streaming color_detection switches the detector (and its belly LED) on by itself.
    await runtime.streams.start(
      ["locator", "imu", "accelerometer", "speed", "velocity", "color_detection"],
      { intervalMs: 100 },
    );
    return {
      runtime,
      aggregator,
      side,
      sim: opener.sim,
      get wire() {
        return opener.wire;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The page's text and data attributes, read in one evaluation. */
interface Dom {
  conn: string;
  ws: string;
  estop: string;
  x: number | null;
  y: number | null;
  heading: number | null;
  speed: number | null;
  battery: number | null;
  batteryText: string;
  batteryState: string;
  volts: number | null;
  voltsText: string;
  points: number;
  rgb: string;
  imuYaw: number | null;
  accelZ: number | null;
  seq: number | null;
  frames: number;
  errors: number;
}

const READ_DOM = `(() => {
  const el = (id) => document.getElementById(id);
  const v = (id) => { const s = el(id).getAttribute("data-value"); return s === "" || s === null ? null : Number(s); };
  const st = el("telemetry-stats");
  return {
    conn: el("conn-status").getAttribute("data-status"),
    ws: el("ws-status").getAttribute("data-status"),
    estop: el("estop-state").getAttribute("data-latched"),
    x: v("pose-x"), y: v("pose-y"), heading: v("heading"), speed: v("speed"),
    battery: v("battery-percent"), batteryText: el("battery-percent").textContent,
    batteryState: el("battery-state").textContent,
    volts: v("battery-volts"), voltsText: el("battery-volts").textContent,
    points: Number(el("path-points").getAttribute("data-count")),
    rgb: el("color-swatch").getAttribute("data-rgb"),
    imuYaw: v("imu-yaw"), accelZ: v("accel-z"),
    seq: st.getAttribute("data-seq") === "" ? null : Number(st.getAttribute("data-seq")),
    frames: Number(st.getAttribute("data-frames")),
    errors: Number(st.getAttribute("data-errors")),
  };
})()`;

function readDom(page: CdpPage): Promise<Dom> {
  return page.evaluate<Dom>(READ_DOM);
}

async function shot(page: CdpPage): Promise<{ png: Uint8Array; img: Image }> {
  const png = await page.screenshot();
  return { png, img: await decodePng(png) };
}

async function rectOf(page: CdpPage, id: string) {
  return await page.evaluate<{ x: number; y: number; width: number; height: number }>(
    `(() => { const r = document.getElementById(${JSON.stringify(id)}).getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height }; })()`,
  );
}

Deno.test("dashboard.js is what `deno task dashboard` makes from the sources now", async () => {
  const committed = await Deno.readTextFile(ROOT + DASHBOARD_JS);
  const fresh = await buildDashboardScript();
  assert.ok(
    committed === fresh,
    `${DASHBOARD_JS} is out of date (${committed.length} bytes, the sources make ` +
      `${fresh.length}): run \`deno task dashboard\` and commit it.`,
  );
  // The page the server embeds carries exactly that script.
  assert.ok(dashboardHtml().includes(fresh), "dashboardHtml() inlines dashboard.js");
});

Deno.test({
  name: "the dashboard in headless Chromium against the side port and the simulator",
  // Real time: the simulator, the aggregator and the browser all run on their own clocks.
  fn: async (t) => {
    if (!chromiumAvailable()) {
      throw new Error(
        `${CHROMIUM_BIN} is missing: install it (apt-get install -y chromium) or set CHROMIUM_BIN ` +
          `to a Chromium/Chrome binary.`,
      );
    }
    const rig = await makeRig();
    let browser: Chromium | undefined;
    try {
      browser = await Chromium.launch();
      const page = await browser.newPage(1280, 1000);
      const { runtime, side } = rig;
      let before: { png: Uint8Array; img: Image } | undefined;

      await t.step("loads with ?key=, connects, shows the robot", async () => {
        await page.navigate(`${side.url}/?key=${encodeURIComponent(API_KEY)}`);
        assert.equal(await page.evaluate("document.title"), "RVR telemetry");
        // The browser parsed a standards-mode, English, UTF-8 document, styled and scripted by
        // what is inlined in it: after loading, it has asked the server for nothing else.
        assert.deepEqual(
          await page.evaluate(`({
            doctype: document.doctype && document.doctype.name,
            mode: document.compatMode,
            lang: document.documentElement.lang,
            charset: document.characterSet,
            resources: performance.getEntriesByType("resource").map((e) => e.name),
            scripts: [...document.scripts].map((s) => s.src),
            sheets: [...document.styleSheets].map((s) => s.href),
            styled: getComputedStyle(document.getElementById("estop-button")).backgroundColor,
            handle: typeof rvrDashboard.applyFrame,
          })`),
          {
            doctype: "html",
            mode: "CSS1Compat",
            lang: "en",
            charset: "UTF-8",
            resources: [],
            scripts: [""],
            sheets: [null],
            styled: "rgb(211, 47, 47)",
            handle: "function",
          },
        );
        // Every documented hook exactly once, and no id twice.
        const ids = await page.evaluate<{ counts: Record<string, number>; all: string[] }>(
          `({
            counts: Object.fromEntries(${JSON.stringify(DASHBOARD_ELEMENT_IDS)}
              .map((id) => [id, document.querySelectorAll("#" + id).length])),
            all: [...document.querySelectorAll("[id]")].map((e) => e.id),
          })`,
        );
        for (const id of DASHBOARD_ELEMENT_IDS) assert.equal(ids.counts[id], 1, `#${id}`);
        assert.equal(new Set(ids.all).size, ids.all.length, `ids are unique: ${ids.all}`);
        // The document as served is ASCII (symbols are entities or escapes).
        const served = await fetch(`${side.url}/`, {
          headers: { Authorization: `Bearer ${API_KEY}` },
        });
        const bytes = new Uint8Array(await served.arrayBuffer());
        const nonAscii = bytes.findIndex((b) => b > 0x7e || (b < 0x20 && b !== 0x0a));
        assert.equal(nonAscii, -1, `byte ${bytes[nonAscii]} at ${nonAscii}`);
        await page.waitFor(
          `document.getElementById("ws-status").getAttribute("data-status") === "open" &&
           document.getElementById("pose-y").getAttribute("data-value") !== "" &&
           document.getElementById("imu-yaw").getAttribute("data-value") !== ""`,
        );
        const dom = await readDom(page);
        assert.equal(dom.conn, "connected");
        assert.equal(dom.estop, "false");
        assert.ok(dom.battery !== null && dom.battery >= 0 && dom.battery <= 100, `${dom.battery}`);
        assert.equal(dom.batteryText, `${dom.battery}%`);
        assert.notEqual(dom.batteryState, "-");
        // Read at connect (the safety set-up publishes it): a 2S pack, shown to 10 mV.
        assert.ok(dom.volts !== null && dom.volts > 6 && dom.volts < 8.5, `${dom.volts} V`);
        assert.equal(dom.voltsText, `${dom.volts.toFixed(2)} V`);
        assert.ok(dom.points >= 1, `${dom.points} path points`);
        assert.ok(Math.abs(dom.x ?? NaN) < 0.01 && Math.abs(dom.y ?? NaN) < 0.01, "at the origin");
        assert.ok(dom.accelZ !== null && Math.abs(dom.accelZ - 1) < 0.1, `z ${dom.accelZ} g`);
        assert.equal(dom.errors, 0);
        assert.equal(side.hub.clients, 1, "one telemetry client");
        const [client] = side.hub.clientStats();
        assert.match(client.id, /-dashboard$/, "the page names itself client=dashboard");
        // Both charts have a sample to draw once the first frame came; let them draw.
        await page.waitFor(
          `document.getElementById("path-points").getAttribute("data-count") >= 1`,
        );
        before = await shot(page);
      });

      await t.step("path, pose, heading and colour follow the robot as it drives", async () => {
        const start = await readDom(page);
        await runtime.rvr.driveWithHeading({ speed: 90, headingDeg: 0 });
        const forward = await page.waitFor<Dom>(
          `(() => { const d = ${READ_DOM}; return d.y > 0.4 && d.points >= 10 ? d : null; })()`,
        );
        assert.ok(forward.points > start.points, `${forward.points} > ${start.points} points`);
        assert.ok(Math.abs(forward.x ?? NaN) < 0.05, `x stays near 0: ${forward.x}`);
        // Past y = 0.25 m the floor is green.
        await page.waitFor(
          `document.getElementById("color-swatch").getAttribute("data-rgb") === "${GREEN.r},${GREEN.g},${GREEN.b}"`,
        );
        await runtime.rvr.driveWithHeading({ speed: 90, headingDeg: 90 });
        const right = await page.waitFor<Dom>(
          `(() => { const d = ${READ_DOM};
            return d.x > 0.3 && Math.abs(d.heading - 90) < 5 ? d : null; })()`,
        );
        assert.ok(right.points > forward.points, `${right.points} > ${forward.points} points`);
        assert.ok(right.speed !== null && right.speed > 0.05, `moving: ${right.speed} m/s`);
        await runtime.rvr.stop();
        await page.waitFor(
          `document.getElementById("speed").getAttribute("data-value") !== "" &&
           Number(document.getElementById("speed").getAttribute("data-value")) < 0.01`,
        );
      });

      await t.step("the page's state is the server's state", async () => {
        // The robot stands still; the page catches up with the hub's seq and then must hold
        // exactly the hub's state (frames applied leaf by leaf, JSON round trip).
        for (let attempt = 0;; attempt++) {
          const seq = side.hub.seq;
          const expected = side.hub.state;
          const got = await page.waitFor<{ seq: number; state: unknown }>(
            `rvrDashboard.seq >= ${seq} && { seq: rvrDashboard.seq, state: rvrDashboard.state }`,
          );
          if (got.seq === seq) {
            assert.deepEqual(got.state, expected);
            break;
          }
          // A batch arrived in between (sensors keep streaming): compare again at the new seq.
          assert.ok(attempt < 50, `the page never sat at the hub's seq (last ${got.seq})`);
        }
        const dom = await readDom(page);
        const pose = side.hub.state.pose;
        assert.ok(Math.abs((dom.x ?? NaN) - (pose.x_m ?? NaN)) < 0.01, `x ${dom.x} vs ${pose.x_m}`);
        assert.ok(Math.abs((dom.y ?? NaN) - (pose.y_m ?? NaN)) < 0.01, `y ${dom.y} vs ${pose.y_m}`);
      });

      await t.step("screenshots: a real picture, and the path panel changed", async () => {
        assert.ok(before, "the first screenshot");
        const after = await shot(page);
        await Deno.writeFile(SCREENSHOT, after.png);
        assert.ok(after.png.length > 20_000, `PNG of ${after.png.length} bytes`);
        assert.equal(after.img.width, 1280);
        assert.equal(after.img.height, 1000);
        const colours = distinctColours(after.img);
        assert.ok(colours > 200, `${colours} distinct colours`);
        const path = await rectOf(page, "path-canvas");
        assert.ok(
          path.width > 300 && path.height > 300,
          `path canvas ${path.width}x${path.height}`,
        );
        const changed = differingPixels(before.img, after.img, path);
        assert.ok(changed > 1000, `${changed} pixels of the path panel changed while driving`);
        // The drawn path is there: many pixels of its colour (#4fc3f7) inside the canvas.
        let pathPixels = 0;
        for (let y = Math.round(path.y); y < path.y + path.height; y++) {
          for (let x = Math.round(path.x); x < path.x + path.width; x++) {
            const i = (y * after.img.width + x) * 4;
            const [r, g, b] = after.img.rgba.subarray(i, i + 3);
            if (Math.abs(r - 0x4f) < 12 && Math.abs(g - 0xc3) < 12 && Math.abs(b - 0xf7) < 12) {
              pathPixels++;
            }
          }
        }
        assert.ok(pathPixels > 200, `${pathPixels} path-coloured pixels`);
        const imu = await rectOf(page, "imu-chart");
        assert.ok(distinctColours(after.img, imu) > 20, "the IMU chart has lines");
      });

      await t.step("a seq gap makes the page ask for a full frame, and it gets one", async () => {
        const seq = await page.evaluate<number>("rvrDashboard.seq");
        await page.evaluate(
          `rvrDashboard.applyFrame({ type: "delta", seq: ${
            seq + 5
          }, at: Date.now(), changes: {} })`,
        );
        await page.waitFor(
          `(() => {
            const st = document.getElementById("telemetry-stats").dataset;
            return rvrDashboard.stats.resyncs === 1 && rvrDashboard.stats.full >= 2 &&
              st.gaps === "1" && st.resyncs === "1" && st.seq === String(rvrDashboard.seq) &&
              document.getElementById("ws-status").textContent === "live";
          })()`,
        );
        const client = side.hub.clientStats().find((c) => c.id.endsWith("-dashboard"));
        assert.ok(client, `the dashboard client in ${JSON.stringify(side.hub.clientStats())}`);
        assert.equal(client.resyncs, 1);
      });

      await t.step("a dropped socket reconnects and starts from a full frame", async () => {
        const full = await page.evaluate<number>("rvrDashboard.stats.full");
        await page.evaluate("rvrDashboard.socket.close()");
        await page.waitFor(
          `rvrDashboard.stats.connects === 2 && rvrDashboard.stats.full > ${full} &&
           document.getElementById("ws-status").getAttribute("data-status") === "open"`,
        );
        assert.equal(side.hub.clients, 1, "the old client is gone, the new one is there");
      });

      await t.step("the e-stop button stops the driving robot and latches its e-stop", async () => {
        assert.equal(runtime.state.safety.estopLatched, false);
        await runtime.rvr.driveWithHeading({ speed: 60, headingDeg: 180 });
        await page.waitFor(
          `Number(document.getElementById("speed").getAttribute("data-value")) > 0.05`,
        );
        const stopsBefore = rig.wire.received("drive_stop").length;
        await page.evaluate(`document.getElementById("estop-button").click()`);
        const status = await page.waitFor<string>(
          `(() => { const s = document.getElementById("estop-result").getAttribute("data-status");
            return s !== "" && s !== "pending" ? s : null; })()`,
        );
        assert.equal(status, "200");
        assert.equal(runtime.state.safety.estopLatched, true);
        // The click reached the robot: drive_stop on the simulator's wire, and it stands still.
        await until(
          () => rig.wire.received("drive_stop").length > stopsBefore,
          (changed) => {
            rig.wire.onReceived = changed;
            return () => rig.wire.onReceived = undefined;
          },
          "drive_stop at the simulator after the click",
        );
        await page.waitFor(
          `Number(document.getElementById("speed").getAttribute("data-value")) < 0.01`,
        );
        await page.waitFor(
          `document.getElementById("estop-state").getAttribute("data-latched") === "true" &&
           document.body.classList.contains("estop")`,
        );
        const result = await page.evaluate<string>(
          `document.getElementById("estop-result").textContent`,
        );
        assert.match(result, /^stopped: e-stop latched, stop sent to the robot/);
        assert.match(
          await runtime.metrics.text(),
          /rvr_safety_emergency_stops_total\{source="http"\} 1/,
        );
        const latched = await shot(page);
        await Deno.writeFile(SCREENSHOT_ESTOP, latched.png);
      });

      const problems = page.console.filter((l) => /^(exception|error)/.test(l));
      assert.deepEqual(problems, [], "no errors in the page's console");
    } finally {
      try {
        await browser?.close();
      } finally {
        await rig.close();
      }
    }
  },
});
