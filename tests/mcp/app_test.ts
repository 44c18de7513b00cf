/**
 * The MCP App (`show_dashboard`, `ui://rvr-mcp/dashboard`: src/mcp/apps.ts, src/mcp/app/): the
 * committed app.js is what `deno task app` makes from the sources now, and the page is one
 * self-contained ASCII document. Then the real thing: a headless Chromium (Debian `chromium`,
 * driven over the DevTools Protocol) loads a minimal host page (tests/mcp/_app_host/host.ts: an SDK v2
 * client over Streamable HTTP to the real server, serveMcpHttp over createServer, on a Runtime
 * with a keep-alive simulated robot in real time; ext-apps' AppBridge and PostMessageTransport)
 * that calls show_dashboard, reads the page from the `ui://` resource and shows it in a
 * sandboxed iframe. The page reaches the robot only through the host: the robot drives (a
 * drive tool called by a second client) and the page's map follows it; its EMERGENCY STOP button
 * calls the app-only app_emergency_stop (hidden from the model by the host), which puts
 * drive_stop on the simulator's wire and latches a person's e-stop: the model's
 * clear_emergency_stop, with no person to ask, is refused and the latch holds. A screenshot of
 * the host page with the app is written to /tmp/rvr-mcp-app.png for a human to look at.
 */
import assert from "node:assert/strict";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { APP_ESTOP_REASON, APP_MIME_TYPE, APP_ONLY_TOOL_NAMES, APPS } from "../../src/mcp/apps.ts";
import { appHtml } from "../../src/mcp/app/page.ts";
import { type McpHttpServer, serveMcpHttp } from "../../src/mcp/http.ts";
import { createServer } from "../../src/mcp/server.ts";
import { Runtime } from "../../src/robot/runtime.ts";
import { bundleBrowserScript, ROOT } from "../../scripts/dashboard.ts";
import { APP_OUT, buildAppScript } from "../../scripts/mcp_app.ts";
import { keepAliveSimOpener, testSettings } from "../_helpers/mod.ts";
import {
  type CdpPage,
  Chromium,
  CHROMIUM_BIN,
  chromiumAvailable,
  pollScript,
} from "../http/_chromium.ts";
import { receivedNames } from "./_rig.ts";
import { robotMetrics } from "../../src/robot/mod.ts";

/** The host page with the app, after the robot drove (for a human to look at). */
const SCREENSHOT = "/tmp/rvr-mcp-app.png";

// Continuous drives go on until stopped: the watchdog must not be what stops the robot.
const SETTINGS = testSettings({ requestTimeoutMs: 500, wakeTimeout: 5, commandTimeout: 600 });

Deno.test("app.js is what `deno task app` makes from the sources now; the page is self-contained", async () => {
  const committed = await Deno.readTextFile(ROOT + APP_OUT);
  const fresh = await buildAppScript();
  assert.ok(
    committed === fresh,
    `${APP_OUT} is out of date (${committed.length} bytes, the sources make ${fresh.length}): ` +
      "run `deno task app` and commit it.",
  );
  const html = appHtml();
  assert.ok(html.includes(fresh), "appHtml() inlines app.js");
  const nonAscii = /[^\n\x20-\x7e]/.exec(html);
  assert.equal(nonAscii, null, `non-ASCII at ${nonAscii?.index}`);
  // Nothing to fetch: no external script, stylesheet or image.
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|<img[^>]+src=/i);
  assert.equal(APPS.length, 1);
  assert.equal(APPS[0].uri, "ui://rvr-mcp/dashboard");
  assert.equal(APP_MIME_TYPE, "text/html;profile=mcp-app");
  // The button calls the app-only tool (src/mcp/app/main.ts ESTOP_TOOL), never the model's.
  assert.deepEqual(APPS[0].appTools.map((t) => t.name), ["app_emergency_stop"]);
  assert.deepEqual(APP_ONLY_TOOL_NAMES, ["app_emergency_stop"]);
  assert.ok(fresh.includes('"app_emergency_stop"'), "app.js calls app_emergency_stop");
  assert.ok(!fresh.includes('"emergency_stop"'), "app.js never calls the model's emergency_stop");
  assert.doesNotMatch(html, /rvr-estop-arguments/);
});

interface Rig {
  runtime: Runtime;
  mcp: McpHttpServer;
  /** Serves the host page at / and passes /mcp on to the MCP endpoint (one origin). */
  host: Deno.HttpServer<Deno.NetAddr>;
  hostUrl: string;
  opener: ReturnType<typeof keepAliveSimOpener>;
  close(): Promise<void>;
}

async function makeRig(hostPage: string): Promise<Rig> {
  const opener = keepAliveSimOpener({}, "app");
  const runtime = new Runtime(SETTINGS, opener.open, robotMetrics());
  const closers: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    closers.push(async () => {
      await runtime.close("sigterm");
      if (opener.wires.length > 0) await opener.sim.stop();
    });
    await runtime.connection.connect();
    await runtime.rvr.ready();
    await runtime.streams.start(["locator", "imu", "speed"], { intervalMs: 100 });
    const deps = {
      runtime,
      streams: runtime.streams,
      moves: runtime.moves,
      version: "0.0.0-test",
    };
    const mcp = await serveMcpHttp({
      port: 0,
      host: "127.0.0.1",
      createServer: (era) => createServer(deps, { era }),
    });
    closers.push(() => mcp.close());
    const host = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const url = new URL(req.url);
      if (url.pathname === "/") {
        return new Response(hostPage, { headers: { "content-type": "text/html; charset=utf-8" } });
      }
      if (url.pathname !== "/mcp") return new Response("not found", { status: 404 });
      const headers = new Headers(req.headers);
      headers.delete("host");
      headers.delete("origin");
      return fetch(mcp.url, {
        method: req.method,
        headers,
        body: req.body,
      });
    });
    closers.push(() => host.shutdown());
    return {
      runtime,
      mcp,
      host,
      hostUrl: `http://127.0.0.1:${host.addr.port}/`,
      opener,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The host page: the bundled host script inline. */
async function hostPage(): Promise<string> {
  const script = await bundleBrowserScript("tests/mcp/_app_host/host.ts", "", { minify: true });
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>test host</title>` +
    `</head><body><script>\n${script}</script></body></html>`;
}

/**
 * A way to evaluate in the app's iframe: an isolated world (the page's DOM, its own globals, so
 * what the test reads is what the page put in the DOM).
 */
async function frameEvaluator(page: CdpPage): Promise<(expression: string) => Promise<unknown>> {
  const tree = await page.send("Page.getFrameTree") as {
    frameTree: { childFrames?: { frame: { id: string } }[] };
  };
  const child = tree.frameTree.childFrames?.[0]?.frame.id;
  assert.ok(child, "the host page has the app's iframe");
  const { executionContextId } = await page.send("Page.createIsolatedWorld", {
    frameId: child,
    worldName: "app-test",
  }) as { executionContextId: number };
  return async (expression: string) => {
    const r = await page.send("Runtime.evaluate", {
      expression,
      contextId: executionContextId,
      returnByValue: true,
      awaitPromise: true,
      userGesture: true,
    });
    const details = r.exceptionDetails as { exception?: { description?: string } } | undefined;
    if (details) throw new Error(`the app's frame threw: ${details.exception?.description}`);
    return (r.result as { value?: unknown }).value;
  };
}

/** Resolves with the first truthy value of `expression` in the frame, polled on its own loop. */
async function waitInFrame<T>(
  evaluate: (expression: string) => Promise<unknown>,
  expression: string,
  page: CdpPage,
  timeoutMs = 20_000,
): Promise<T> {
  const r = await evaluate(pollScript(expression, timeoutMs)) as { ok: boolean; value: T };
  if (!r.ok) {
    throw new Error(
      `timed out after ${timeoutMs} ms waiting in the app for ${expression}; last value ` +
        `${JSON.stringify(r.value)}; console:\n${page.console.slice(-20).join("\n")}`,
    );
  }
  return r.value;
}

const attr = (id: string, name: string) =>
  `document.getElementById(${JSON.stringify(id)}).getAttribute(${JSON.stringify(name)})`;

Deno.test({
  name: "the MCP App in headless Chromium inside a host page: the map follows the robot, " +
    "the button stops it",
  fn: async (t) => {
    if (!chromiumAvailable()) {
      throw new Error(
        `${CHROMIUM_BIN} is missing: install it (apt-get install -y chromium) or set CHROMIUM_BIN ` +
          `to a Chromium/Chrome binary.`,
      );
    }
    const rig = await makeRig(await hostPage());
    let browser: Chromium | undefined;
    const driver = new Client({ name: "app-test-driver", version: "1.0.0" });
    try {
      // The app's sandboxed iframe stays in the page's process, where the page's DevTools
      // session can evaluate in it (Chromium otherwise isolates sandboxed frames).
      browser = await Chromium.launch({
        args: ["--disable-features=IsolateSandboxedIframes", "--disable-site-isolation-trials"],
      });
      const page = await browser.newPage(1280, 1100);
      await driver.connect(new StreamableHTTPClientTransport(new URL(rig.mcp.url)));
      let inFrame: (expression: string) => Promise<unknown> = () => Promise.reject();

      await t.step("the host opens show_dashboard's ui:// page, which connects", async () => {
        await page.navigate(rig.hostUrl);
        const host = await page.waitFor<{ step: string; error: string }>(
          `(window.testHost.step === "shown" || window.testHost.error) && window.testHost`,
        );
        assert.equal(host.error, "", host.error);
        assert.deepEqual(
          await page.evaluate(`[testHost.resourceUri, testHost.mimeType]`),
          ["ui://rvr-mcp/dashboard", APP_MIME_TYPE],
        );
        // The host offers the model everything but the app's button, which only the page sees.
        const seen = await page.evaluate(`[testHost.modelTools, testHost.appOnlyTools]`) as [
          string[],
          string[],
        ];
        assert.deepEqual(seen[1], ["app_emergency_stop"]);
        assert.ok(!seen[0].includes("app_emergency_stop"), seen[0].join(", "));
        assert.ok(seen[0].includes("emergency_stop") && seen[0].includes("show_dashboard"));
        await page.waitFor(`window.testHost.initialized`);
        inFrame = await frameEvaluator(page);
        // The page polls get_telemetry through the host and shows the robot.
        await waitInFrame(
          inFrame,
          `Number(${attr("telemetry-stats", "data-frames")}) >= 2 &&
            ${attr("ws-status", "data-status")} === "open"`,
          page,
        );
        assert.equal(await inFrame(attr("conn-status", "data-status")), "connected");
        assert.equal(await inFrame(attr("estop-state", "data-latched")), "false");
        assert.equal(await inFrame(`document.getElementById("telemetry-error").textContent`), "");
        const battery = Number(await inFrame(attr("battery-percent", "data-value")));
        assert.ok(battery > 0 && battery <= 100, `battery ${battery}`);
        // Sandboxed: an opaque origin, and nothing fetched over the network.
        assert.equal(await inFrame(`location.origin`), "null");
        assert.deepEqual(await inFrame(`performance.getEntriesByType("resource").length`), 0);
      });

      await t.step("the robot drives and the map follows it", async () => {
        const before = Number(await inFrame(attr("path-points", "data-count")));
        const drive = await driver.callTool({
          name: "drive_with_heading",
          arguments: { speed: 80, heading: 0 },
        });
        assert.notEqual(drive.isError, true, JSON.stringify(drive.content));
        const last = await waitInFrame<string>(
          inFrame,
          `(() => { const l = ${attr("path-canvas", "data-last")};
            const n = Number(${attr("path-points", "data-count")});
            return l && Number(l.split(",")[1]) > 0.15 && n >= ${before + 3} && l; })()`,
          page,
        );
        const [x, y] = last.split(",").map(Number);
        const body = rig.opener.sim.body.pose;
        assert.ok(y > 0.15 && y <= body.y + 0.01, `plotted y ${y} m, the robot is at ${body.y} m`);
        assert.ok(Math.abs(x) < 0.05, `straight ahead: x ${x} m`);
        const after = Number(await inFrame(attr("path-points", "data-count")));
        assert.ok(after > before + 2, `path points ${before} -> ${after}`);
        assert.ok(Number(await inFrame(attr("speed", "data-value"))) > 0, "moving");
        // For a human to look at: the host page with the app in its iframe.
        await Deno.writeFile(SCREENSHOT, await page.screenshot());
      });

      await t.step(
        "EMERGENCY STOP through the host: drive_stop on the wire, a person's latch",
        async () => {
          const wire = rig.opener.wire;
          const from = wire.events.length;
          assert.equal(rig.runtime.safety.status().estop.latched, false);
          await inFrame(`document.getElementById("estop-button").click()`);
          const status = await waitInFrame<string>(
            inFrame,
            `(() => { const s = ${attr("estop-result", "data-status")};
            return s && s !== "pending" && s; })()`,
            page,
          );
          assert.equal(
            status,
            "ok",
            String(await inFrame(`document.getElementById("estop-result").textContent`)),
          );
          assert.ok(
            receivedNames(wire, from).includes("drive_stop"),
            `drive_stop reached the robot: ${receivedNames(wire, from).join(", ")}`,
          );
          // The page called the app-only tool through the host, never the model's emergency_stop.
          const calls = await page.evaluate(`testHost.toolCalls`) as Record<string, number>;
          assert.equal(calls.app_emergency_stop, 1, JSON.stringify(calls));
          assert.equal(calls.emergency_stop, undefined, JSON.stringify(calls));
          const estop = rig.runtime.safety.status().estop;
          assert.equal(estop.latched, true);
          assert.equal(estop.latchedBy, "person");
          assert.equal(estop.source, "app");
          assert.equal(estop.reason, APP_ESTOP_REASON);
          // What the model sees: a person's stop.
          const safety = await driver.callTool({ name: "get_safety_status", arguments: {} });
          assert.notEqual(safety.isError, true, JSON.stringify(safety.content));
          const seen = (safety.structuredContent as { estop: Record<string, unknown> }).estop;
          assert.equal(seen.latched, true);
          assert.equal(seen.latched_by, "person");
          assert.equal(seen.source, "app");
          assert.equal(seen.reason, APP_ESTOP_REASON);
          // The page shows the latch (it polls at once after the press).
          await waitInFrame(inFrame, `${attr("estop-state", "data-latched")} === "true"`, page);
          // Movement is refused while latched: the robot stays stopped.
          const again = await driver.callTool({
            name: "drive_with_heading",
            arguments: { speed: 80, heading: 0 },
          });
          assert.equal(again.isError, true);
          // The model cannot clear a person's stop alone: this client has no person to ask.
          const clear = await driver.callTool({ name: "clear_emergency_stop", arguments: {} });
          assert.equal(clear.isError, true, JSON.stringify(clear.content));
          assert.match(JSON.stringify(clear.content), /cannot ask a person/);
          assert.equal(rig.runtime.safety.status().estop.latched, true, "the latch holds");
          const still = await driver.callTool({
            name: "drive_with_heading",
            arguments: { speed: 80, heading: 0 },
          });
          assert.equal(still.isError, true);
          assert.ok(
            !receivedNames(wire, from).includes("drive_with_heading"),
            `no drive after the stop: ${receivedNames(wire, from).join(", ")}`,
          );
        },
      );
      assert.deepEqual(
        page.console.filter((l) => l.startsWith("exception") || l.startsWith("error")),
        [],
      );
    } finally {
      await driver.close();
      await browser?.close();
      await rig.close();
    }
  },
});
