/**
 * The emergency stop button: `POST /estop` (with `Authorization: Bearer <key>` when the page was
 * opened with `?key=`), the HTTP status and a one-line summary of the reply shown next to it in
 * `#estop-result` (`data-status`: "pending", the HTTP status, or "error").
 *
 * @module
 */

/** A reply body in one line: what the e-stop did for its JSON reply, else its first 160 chars. */
export function summarizeReply(body: string): string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (notJson) {
    if (!(notJson instanceof SyntaxError)) throw notJson;
    return body.slice(0, 160);
  }
  if (json === null || typeof json !== "object") return String(json);
  const o = json as Record<string, unknown>;
  if (o.estop === true) {
    return "e-stop latched, " +
      (o.sent === false
        ? "stop NOT sent" + (o.error ? " (" + String(o.error) + ")" : "")
        : "stop sent to the robot") +
      (o.cancelledQueued ? ", " + String(o.cancelledQueued) + " queued commands cancelled" : "");
  }
  if (typeof o.error === "string") return o.error;
  return Object.keys(o).slice(0, 4).map((k) => {
    const v = o[k];
    return k + "=" + (v !== null && typeof v === "object" ? "{...}" : String(v));
  }).join(", ");
}

/** Sends the e-stop and shows the outcome; the button is disabled while it is under way. */
export async function pressEstop(
  button: HTMLButtonElement,
  out: HTMLElement,
  apiKey: string | null,
): Promise<void> {
  button.disabled = true;
  out.className = "";
  out.textContent = "sending...";
  out.setAttribute("data-status", "pending");
  const headers: Record<string, string> = {};
  if (apiKey) headers.Authorization = "Bearer " + apiKey;
  try {
    const res = await fetch("/estop", { method: "POST", headers });
    const body = await res.text();
    const summary = summarizeReply(body);
    out.className = res.ok ? "ok" : "bad";
    out.textContent = res.ok ? "stopped: " + summary : "failed: HTTP " + res.status + " " + summary;
    out.title = body;
    out.setAttribute("data-status", String(res.status));
  } catch (e) {
    out.className = "bad";
    out.textContent = "failed: " + (e instanceof Error ? e.message : String(e));
    out.setAttribute("data-status", "error");
  } finally {
    button.disabled = false;
  }
}
