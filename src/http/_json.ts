/**
 * The JSON responses of both side ports (server.ts, the robot's; fleet_side.ts, the gateway's):
 * one line of JSON, never cached.
 *
 * Private to src/http.
 *
 * @module
 */

const JSON_HEADERS = { "content-type": "application/json", "cache-control": "no-store" };

/** `body` as a JSON response with `status` (and any `headers` beside the JSON ones). */
export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { ...JSON_HEADERS, ...headers },
  });
}
