/**
 * The one auth module of the HTTP servers: MCP over Streamable HTTP (src/mcp/http.ts) and the side
 * port (src/http/server.ts) both bind and check keys through it, so the rules cannot drift apart.
 * It is the only arrow allowed between mcp, http and fleet (scripts/_layer_rules.ts). The fleet
 * gateway's side port (fleet_side.ts) uses the same key, Host and Origin checks.
 *
 * Without RVR_API_KEY a server binds to loopback only; with one, every request needs
 * `Authorization: Bearer <key>` (browsers, which cannot set headers on a WebSocket or a page load,
 * may send `?key=<key>` to the side port), compared in constant time.
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import { ConfigError } from "../core/errors.ts";

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith("127.");
}

/**
 * The Host headers a server bound to loopback on `port` accepts (DNS rebinding protection): a
 * page of another site that resolves its own name to 127.0.0.1 sends its name, and is refused.
 */
export function loopbackHostHeaders(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
}

/**
 * Why a server bound to loopback on `port` refuses `req` (403): a Host header that is not this
 * server (DNS rebinding protection); undefined when it is.
 */
export function hostProblem(req: Request, port: number): string | undefined {
  const host = req.headers.get("host") ?? "";
  if (loopbackHostHeaders(port).includes(host)) return undefined;
  return `Forbidden: Host ${
    JSON.stringify(host)
  } is not this server (DNS rebinding protection); use http://127.0.0.1:${port}.`;
}

/**
 * Why a request that acts (an e-stop, ...) on `path` is refused (403): it comes from a page of
 * another origin (an `Origin` header whose host differs from `Host`); undefined when it may act.
 */
export function originProblem(req: Request, path: string): string | undefined {
  const origin = req.headers.get("origin");
  if (origin === null || sameOrigin(origin, req.headers.get("host"))) return undefined;
  return `Forbidden: ${path} from a page of another origin (${origin}); open the ` +
    `page served by this port instead.`;
}

function sameOrigin(origin: string, host: string | null): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false; // "null" or garbage: not this origin
  }
}

/** The bind address for `options`: loopback unless an API key allows more. */
export function bindHost(host: string, apiKey: string | undefined): string {
  if (apiKey) return host;
  if (!isLoopback(host)) {
    throw new ConfigError(
      `Refusing to serve MCP over HTTP on ${host} without RVR_API_KEY: anyone on the network could ` +
        `drive the robot. Set RVR_API_KEY (16+ characters) or use 127.0.0.1.`,
    );
  }
  return "127.0.0.1";
}

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** True when `req` carries `Authorization: Bearer <apiKey>` (constant-time comparison). */
export async function authorized(req: Request, apiKey: string): Promise<boolean> {
  const header = req.headers.get("authorization") ?? "";
  const match = /^Bearer (.+)$/.exec(header);
  if (!match) return false;
  const [a, b] = await Promise.all([digest(match[1]), digest(apiKey)]);
  return timingSafeEqual(a, b);
}

/** The request carries the key in its Authorization header or (browsers) in `?key=`. */
export async function hasKey(req: Request, url: URL, apiKey: string): Promise<boolean> {
  if (req.headers.has("authorization")) return await authorized(req, apiKey);
  const key = url.searchParams.get("key");
  if (key === null) return false;
  // The same constant-time comparison, fed the query parameter as a bearer token.
  return await authorized(
    new Request(url, { headers: { authorization: `Bearer ${key}` } }),
    apiKey,
  );
}
