/**
 * The MCP App's page (`ui://rvr-mcp/dashboard`): one self-contained HTML document (no request of
 * its own: the host's sandbox gives it no network), put together from the side port dashboard's
 * real files (src/http/dashboard/index.html and dashboard.css: the same elements and look) and
 * this folder's app.js (main.ts and the dashboard's view code, bundled by `deno task app`)
 * instead of the dashboard's socket code. They are text imports, so `deno bundle` and `deno
 * compile` embed them.
 *
 * @module
 */
import style from "../../http/dashboard/dashboard.css" with { type: "text" };
import index from "../../http/dashboard/index.html" with { type: "text" };
import script from "./app.js" with { type: "text" };

const STYLE_LINK = '<link rel="stylesheet" href="dashboard.css">';
const SCRIPT_TAG = '<script src="dashboard.js"></script>';

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
 * The page: one self-contained HTML document (ASCII, no external resources). Made anew for each
 * read (a host reads it once per session; putting it together takes about a millisecond), so the
 * program does not hold a second copy of the page code.
 */
export function appHtml(): string {
  return replaceOnce(
    replaceOnce(index, STYLE_LINK, "<style>\n" + style + "</style>"),
    SCRIPT_TAG,
    "<script>\n" + script + "</script>",
  );
}
