/**
 * The side port's dashboard page (`GET /`): one self-contained HTML document (no CDN, no other
 * request; canvas for every plot), put together from the real files in src/http/dashboard/:
 * index.html, with dashboard.css inlined for its `<link>` and dashboard.js (the browser code of
 * main.ts and the modules it imports, bundled by `deno task dashboard`) for its `<script src>`.
 * They are text imports, so `deno bundle` and `deno compile` embed them: the program stays one
 * file and serves the page from wherever it runs.
 *
 * What the page does is described in src/http/dashboard/main.ts; the element ids tests and
 * scripts may rely on in {@link DASHBOARD_ELEMENT_IDS}. The page is ASCII.
 *
 * @module
 */
import script from "./dashboard/dashboard.js" with { type: "text" };
import style from "./dashboard/dashboard.css" with { type: "text" };
import index from "./dashboard/index.html" with { type: "text" };

export { DASHBOARD_ELEMENT_IDS, type DashboardElementId } from "./dashboard/ids.ts";

const STYLE_LINK = '<link rel="stylesheet" href="dashboard.css">';
const SCRIPT_TAG = '<script src="dashboard.js"></script>';

/** `html` with its one `placeholder` replaced by `content` (taken literally). */
function inline(html: string, placeholder: string, content: string): string {
  const at = html.indexOf(placeholder);
  if (at < 0 || html.indexOf(placeholder, at + 1) >= 0) {
    throw new Error(
      `src/http/dashboard/index.html must hold ${placeholder} exactly once (it is replaced by ` +
        `the inlined file); put it back.`,
    );
  }
  return html.slice(0, at) + content + html.slice(at + placeholder.length);
}

const PAGE = inline(
  inline(index, STYLE_LINK, "<style>\n" + style + "</style>"),
  SCRIPT_TAG,
  "<script>\n" + script + "</script>",
);

/** The dashboard page: one self-contained HTML document (ASCII, no external resources). */
export function dashboardHtml(): string {
  return PAGE;
}
