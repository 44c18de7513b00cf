/**
 * The MCP App's page (`ui://rvr-mcp/dashboard`): one self-contained HTML document (no request of
 * its own: the host's sandbox gives it no network), put together from the side port dashboard's
 * real files (src/http/dashboard/index.html and dashboard.css: the same elements and look) and
 * this folder's app.js (main.ts and the dashboard's view code, bundled by `deno task app`)
 * instead of the dashboard's socket code. They are text imports, so `deno bundle` and `deno
 * compile` embed them.
 *
 * The page names the arguments its EMERGENCY STOP button passes to `emergency_stop` in
 * `<meta name="rvr-estop-arguments">` ({@link estopArguments}).
 *
 * @module
 */
import style from "../../http/dashboard/dashboard.css" with { type: "text" };
import index from "../../http/dashboard/index.html" with { type: "text" };
import { z } from "zod";
import { CATALOG } from "../../tools/mod.ts";
import script from "./app.js" with { type: "text" };

const STYLE_LINK = '<link rel="stylesheet" href="dashboard.css">';
const SCRIPT_TAG = '<script src="dashboard.js"></script>';
const CHARSET = '<meta charset="utf-8">';

/** `html` with its one `placeholder` replaced by `content` (taken literally). */
function replaceOnce(html: string, placeholder: string, content: string): string {
  const at = html.indexOf(placeholder);
  if (at < 0 || html.indexOf(placeholder, at + 1) >= 0) {
    throw new Error(
      `src/http/dashboard/index.html must hold ${placeholder} exactly once (the MCP App's page ` +
        `replaces it); put it back.`,
    );
  }
  return html.slice(0, at) + content + html.slice(at + placeholder.length);
}

/**
 * The arguments of the page's `emergency_stop` call: a press of its button is a person's, so
 * when the catalog's emergency_stop takes a `source` that accepts "person" the call says so;
 * otherwise it takes no arguments (the tool refuses unknown ones).
 */
export function estopArguments(): Record<string, unknown> {
  const estop = CATALOG.find((t) => t.name === "emergency_stop");
  if (estop === undefined) throw new Error("The tool catalog has no emergency_stop.");
  const source = estop.input.source;
  return source !== undefined && z.safeParse(source, "person").success ? { source: "person" } : {};
}

function attribute(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;");
}

let page: string | undefined;

/** The page: one self-contained HTML document (ASCII, no external resources). */
export function appHtml(): string {
  page ??= replaceOnce(
    replaceOnce(
      replaceOnce(
        index,
        CHARSET,
        CHARSET + '\n    <meta name="rvr-estop-arguments" content="' +
          attribute(JSON.stringify(estopArguments())) + '">',
      ),
      STYLE_LINK,
      "<style>\n" + style + "</style>",
    ),
    SCRIPT_TAG,
    "<script>\n" + script + "</script>",
  );
  return page;
}
