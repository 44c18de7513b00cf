/**
 * The fleet gateway's side port, as a request handler (main.ts serves it with Deno.serve on
 * RVR_HTTP_PORT): `/metrics` (Prometheus; the gateway's instruments carry a `robot` label),
 * `/robots` (list_robots as JSON), `POST /estop` (stop every robot: the fleet's e-stop), `/healthz`,
 * and `/`, one page with every robot of the fleet and one STOP ALL button. With RVR_API_KEY every
 * request needs it (`Authorization: Bearer`, or `?key=` from a browser), as on the robot's side
 * port; a request without it is refused before its body is read. Without a key (loopback only) a
 * Host header that is not this server is refused, and POST /estop from another origin's page too.
 * No route needs a body: one declared or streamed past `maxBodyBytes` (RVR_MAX_BODY_BYTES) gets
 * 413 having read at most that much (body_limit.ts), and POST /estop stops every robot first,
 * whatever its body. It knows nothing of NATS: the gateway hands in what it shows and does.
 *
 * @module
 */
import { hasKey, hostProblem, originProblem } from "./auth.ts";
import { json } from "./_json.ts";
import { bodyRefusal, checkBodyLimit, DEFAULT_MAX_BODY_BYTES } from "./body_limit.ts";

export interface FleetSideOptions {
  readonly apiKey?: string;
  /**
   * The port, when the side port is bound to loopback without a key: then a Host header that is
   * not this server is refused (DNS rebinding protection), as on the robot's side port.
   */
  readonly loopbackPort?: () => number;
  /** Largest request body, bytes (RVR_MAX_BODY_BYTES); default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Prometheus text and its content type. */
  readonly metrics: () => Promise<string>;
  readonly metricsContentType: string;
  /** What list_robots shows. */
  readonly robots: () => Promise<unknown>;
  /** Stops every robot; resolves with who confirmed. */
  readonly stopAll: () => Promise<unknown>;
}

/** The page: every robot, refreshed every second, and STOP ALL. */
export const FLEET_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>RVR classroom</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:1rem;background:#111;color:#eee}
button#stop{font-size:2rem;padding:1rem 2rem;background:#c00;color:#fff;border:0;border-radius:.5rem;cursor:pointer}
table{border-collapse:collapse;margin-top:1rem;width:100%}td,th{padding:.3rem .6rem;border-bottom:1px solid #333;text-align:left}
.offline{color:#888}.latched{color:#f66;font-weight:bold}#msg{margin-left:1rem}
</style></head><body>
<h1>RVR classroom</h1>
<button id="stop">STOP ALL</button><span id="msg"></span>
<table><thead><tr><th>robot</th><th>status</th><th>battery</th><th>e-stop</th><th>circuit</th><th>last seen</th><th>simulated</th></tr></thead>
<tbody id="robots"></tbody></table>
<script>
const key = new URLSearchParams(location.search).get("key");
const q = key ? "?key=" + encodeURIComponent(key) : "";
const cell = (text, cls) => { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; };
async function refresh() {
  try {
    const r = await fetch("robots" + q); const body = await r.json();
    const rows = (body.robots || []).map((x) => {
      const tr = document.createElement("tr"); if (x.status === "offline") tr.className = "offline";
      tr.append(cell(x.id), cell(x.status), cell(x.battery_percent === null ? "?" : x.battery_percent + " %"),
        cell(x.estop_latched ? "LATCHED" : "-", x.estop_latched ? "latched" : ""), cell(x.circuit),
        cell(new Date(x.last_seen).toLocaleTimeString()), cell(x.simulated ? "yes" : "no"));
      return tr;
    });
    document.getElementById("robots").replaceChildren(...rows);
  } catch (e) { document.getElementById("msg").textContent = "gateway unreachable: " + e.message; }
}
document.getElementById("stop").onclick = async () => {
  const msg = document.getElementById("msg"); msg.textContent = "stopping every robot...";
  try {
    const r = await fetch("estop" + q, { method: "POST" }); const body = await r.json();
    msg.textContent = r.ok ? "stopped: " + body.robots.filter((x) => x.confirmed).length + " confirmed" +
      (body.unconfirmed.length ? ", NOT confirmed: " + body.unconfirmed.join(", ") : "") : "failed: " + body.error;
  } catch (e) { msg.textContent = "failed: " + e.message; }
  refresh();
};
refresh(); setInterval(refresh, 1000);
</script></body></html>
`;

/** The side port's handler; see the module doc. */
export function fleetSideHandler(options: FleetSideOptions): (req: Request) => Promise<Response> {
  const maxBodyBytes = checkBodyLimit(options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
  return async (req) => {
    const url = new URL(req.url);
    const badHost = options.loopbackPort ? hostProblem(req, options.loopbackPort()) : undefined;
    if (badHost) return json(403, { error: badHost });
    if (options.apiKey && !(await hasKey(req, url, options.apiKey))) {
      return json(401, {
        error: "Unauthorized: send Authorization: Bearer <RVR_API_KEY> (browsers: add ?key=<key>).",
      }, { "www-authenticate": 'Bearer realm="rvr-mcp"' });
    }
    const route = `${req.method} ${url.pathname}`;
    try {
      if (route === "POST /estop") {
        // Another site's page may not press STOP ALL (as on the robot's side port).
        const foreign = originProblem(req, "/estop");
        if (foreign) return json(403, { error: foreign });
        // The stop goes out first: it never waits for a body, nor depends on one.
        const [tooLarge, result] = await Promise.all([
          bodyRefusal(req, maxBodyBytes),
          options.stopAll(),
        ]);
        if (!tooLarge) return json(200, result);
        return json(413, {
          ...(result as Record<string, unknown>),
          error: `${tooLarge.message} Every robot was stopped anyway: POST /estop needs no body.`,
        });
      }
      const tooLarge = await bodyRefusal(req, maxBodyBytes);
      if (tooLarge) return json(413, { error: tooLarge.message });
      switch (route) {
        case "GET /":
          return new Response(FLEET_PAGE, {
            headers: { "content-type": "text/html; charset=utf-8" },
          });
        case "GET /robots":
          return json(200, await options.robots());
        case "GET /metrics":
          return new Response(await options.metrics(), {
            headers: { "content-type": options.metricsContentType },
          });
        case "GET /healthz":
          return json(200, { ok: true });
        default:
          return json(404, {
            error: `No ${route}: use GET /, /robots, /metrics, /healthz or POST /estop.`,
          });
      }
    } catch (e) {
      // A DomainError (e.g. broker unreachable) carries what to do; show it.
      const hint = (e as { hint?: unknown }).hint;
      return json(503, { error: typeof hint === "string" ? hint : (e as Error).message });
    }
  };
}
