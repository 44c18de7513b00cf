/**
 * The rules of the layer check (scripts/check_layers.ts), as pure functions over modules the
 * caller has read: which layer each file belongs to, which arrows between layers are allowed,
 * which files may touch `Deno.*`, what counts as a robot word in core. The picture they enforce is
 * the architecture's "Dependencies point down only" (DESIGN.md):
 *
 *   protocol, core            import nothing of ours
 *   link                      -> protocol, core
 *   sim                       -> protocol, core (never link or robot)
 *   robot                     -> link, protocol, core
 *   telemetry                 -> robot and below
 *   tools                     -> telemetry, robot and below
 *   mcp, http, fleet          -> anything below; each other only for the shared HTTP modules
 *                                (auth.ts: keys and binding; body_limit.ts: bounded bodies)
 *   src/mcp/app/              -> also the dashboard page's files (src/http/dashboard/): the MCP
 *                                App's page is that page, fed through the host
 *   composition               main.ts, src/config.ts, src/logging.ts: anything; imported by none
 */
import { scanCode } from "./_code_scan.ts";

export const LAYERS = [
  "protocol",
  "core",
  "link",
  "sim",
  "robot",
  "telemetry",
  "tools",
  "mcp",
  "http",
  "fleet",
  "composition",
] as const;
export type Layer = (typeof LAYERS)[number];

/** Files of the composition root: main.ts configures logging and composes everything. */
export const COMPOSITION_FILES: readonly string[] = ["main.ts", "src/config.ts", "src/logging.ts"];

const BELOW_TOOLS: readonly Layer[] = ["telemetry", "robot", "link", "protocol", "core"];

/** What each layer may import (besides its own files). Composition may import anything. */
export const ALLOWED: Readonly<Record<Exclude<Layer, "composition">, readonly Layer[]>> = {
  protocol: [],
  core: [],
  link: ["protocol", "core"],
  sim: ["protocol", "core"],
  robot: ["link", "protocol", "core"],
  telemetry: ["robot", "link", "protocol", "core"],
  tools: BELOW_TOOLS,
  mcp: ["tools", ...BELOW_TOOLS],
  http: ["tools", ...BELOW_TOOLS],
  fleet: ["tools", ...BELOW_TOOLS],
};

/** The one module mcp, http and fleet may import from each other: bearer key, loopback, bind host. */
export const SHARED_AUTH_MODULE = "src/http/auth.ts";
/** Bounded request bodies (413 before parsing): the other module every HTTP server shares. */
export const SHARED_BODY_LIMIT_MODULE = "src/http/body_limit.ts";
/** The modules mcp, http and fleet may import from each other, and only these. */
export const SHARED_HTTP_MODULES: readonly string[] = [
  SHARED_AUTH_MODULE,
  SHARED_BODY_LIMIT_MODULE,
];
const AUTH_USERS: readonly Layer[] = ["mcp", "http", "fleet"];

/**
 * The side port dashboard's page files (browser code, HTML, CSS), which the MCP App's page reuses
 * (same elements, look and drawing code): files under {@link SHARED_PAGE_USERS} may import them.
 */
export const SHARED_PAGE_FILES = "src/http/dashboard/";
/** The folder whose files may import {@link SHARED_PAGE_FILES}: the MCP App's page. */
export const SHARED_PAGE_USERS = "src/mcp/app/";

/**
 * The adapters: the only files that touch `Deno.*` (the tty, the HTTP servers, the fleet's NATS
 * connection, the recorder's file, logging, and main.ts which composes).
 */
export const DENO_ADAPTERS: readonly string[] = [
  "main.ts",
  "src/logging.ts",
  "src/link/tty_port.ts",
  "src/link/stty.ts",
  "src/http/server.ts",
  "src/mcp/http.ts",
  "src/fleet/nats.ts",
  "src/telemetry/recorder.ts",
];

/**
 * Words that name the robot: core is robot-agnostic, so none of them may appear in its identifiers
 * or string literals (comments may explain what core is used for). The string "rvr" alone is the
 * project's log-category root (`getLogger(["rvr", "core"])`), not a robot word.
 */
const LOG_CATEGORY_ROOT = "rvr";

export const ROBOT_WORDS: ReadonlySet<string> = new Set([
  "rvr",
  "robot",
  "robots",
  "sphero",
  "battery",
  "motor",
  "motors",
  "drive",
  "driving",
  "sensor",
  "sensors",
  "led",
  "leds",
  "wheel",
  "wheels",
  "tread",
  "treads",
  "estop",
  "yaw",
  "imu",
]);

export const RULES = [
  "layer-arrow",
  "composition-import",
  "outside-src",
  "unknown-layer",
  "private-import",
  "unresolved-import",
  "computed-import",
  "deno-outside-adapter",
  "robot-word-in-core",
  "stale-allowlist",
] as const;
export type Rule = (typeof RULES)[number];

/** One import of a module, resolved: `target` is a repo-relative path or an external specifier. */
export interface ImportEdge {
  /** As written: `../core/mod.ts`. */
  specifier: string;
  /** `src/core/mod.ts`, or `npm:zod@^4.1.0` / `node:util` for what is not ours. */
  target: string;
  line: number;
  /** Set when the resolver could not resolve or load the target. */
  error?: string;
}

export interface ModuleInput {
  /** Repo-relative, with forward slashes: `src/sim/simulated_rvr.ts`, `main.ts`. */
  path: string;
  source: string;
  imports: readonly ImportEdge[];
}

export interface Violation {
  file: string;
  line: number;
  rule: Rule;
  /** What the allowlist matches: the import target, `Deno.*`, or the robot word. */
  subject: string;
  /** One line: the arrow or the use, then what the rule allows. */
  message: string;
}

/** A known violation that waits for the restructure issue. */
export interface AllowlistEntry {
  file: string;
  rule: Rule;
  subject: string;
  why: string;
}

/** The layer of a repo-relative path, or undefined when the path is in none. */
export function layerOf(path: string): Layer | undefined {
  if (COMPOSITION_FILES.includes(path)) return "composition";
  const match = /^src\/([^/]+)\//.exec(path);
  if (!match) return undefined;
  return (LAYERS as readonly string[]).includes(match[1]) && match[1] !== "composition"
    ? match[1] as Layer
    : undefined;
}

/** True for what is not a file of this repository: npm:, node:, jsr:, https:, data:. */
export function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/.test(target);
}

/**
 * The folder a `_`-prefixed file or folder is private to: the parent of the first path segment
 * that starts with `_` (`src/mcp/_tool.ts` -> `src/mcp/`), or undefined when nothing is private.
 * Its subfolders count as inside (src/mcp/tools/ may import src/mcp/_tool.ts).
 */
export function privateScope(path: string): string | undefined {
  const segments = path.split("/");
  const at = segments.findIndex((s) => s.startsWith("_"));
  return at < 0 ? undefined : segments.slice(0, at).join("/") + "/";
}

function arrowViolation(file: string, edge: ImportEdge): Violation | undefined {
  const from = layerOf(file);
  const { target, line } = edge;
  const v = (rule: Rule, message: string): Violation => ({
    file,
    line,
    rule,
    subject: target,
    message,
  });
  if (edge.error) {
    return v(
      "unresolved-import",
      `${edge.specifier}: ${edge.error.replace(/\.$/, "")}; fix the path.`,
    );
  }
  if (isExternal(target)) return undefined;
  const to = layerOf(target);
  if (from === undefined) return undefined; // reported once as unknown-layer
  if (to === undefined) {
    if (from === "composition") return undefined; // main.ts reads deno.json
    return v(
      "outside-src",
      `${from} -> ${target}: a layer imports only files of src/ (nothing outside the project).`,
    );
  }
  if (from === to) return undefined;
  if (from === "composition") return undefined;
  if (to === "composition") {
    return v(
      "composition-import",
      `${from} -> composition (${target}): only main.ts composes; move what ${file} needs into ` +
        `its own layer or below and let the composition root pass it in.`,
    );
  }
  if (ALLOWED[from].includes(to)) return undefined;
  if (SHARED_HTTP_MODULES.includes(target) && AUTH_USERS.includes(from)) return undefined;
  if (file.startsWith(SHARED_PAGE_USERS) && target.startsWith(SHARED_PAGE_FILES)) return undefined;
  const allowed = ALLOWED[from].length > 0 ? ALLOWED[from].join(", ") : "nothing of ours";
  const auth = AUTH_USERS.includes(from) ? ` (and ${SHARED_HTTP_MODULES.join(", ")})` : "";
  return v(
    "layer-arrow",
    `${from} -> ${to} (${target}): ${from} may import ${allowed}${auth}; dependencies point down only.`,
  );
}

/** Every violation in `modules`, before the allowlist, in file and line order. */
export function findViolations(modules: readonly ModuleInput[]): Violation[] {
  const out: Violation[] = [];
  for (const mod of modules) {
    const layer = layerOf(mod.path);
    if (layer === undefined) {
      out.push({
        file: mod.path,
        line: 1,
        rule: "unknown-layer",
        subject: mod.path,
        message: `${mod.path} is in no layer: put it in src/<${
          LAYERS.filter((l) => l !== "composition").join("|")
        }>/ or add it to the picture in scripts/_layer_rules.ts.`,
      });
    }
    for (const edge of mod.imports) {
      const arrow = arrowViolation(mod.path, edge);
      if (arrow) out.push(arrow);
      const scope = isExternal(edge.target) ? undefined : privateScope(edge.target);
      if (scope !== undefined && !mod.path.startsWith(scope)) {
        out.push({
          file: mod.path,
          line: edge.line,
          rule: "private-import",
          subject: edge.target,
          message: `${mod.path} -> ${edge.target}: _-prefixed files are private to ${scope}; ` +
            `import it through ${scope}mod.ts.`,
        });
      }
    }
    const scan = scanCode(mod.source);
    for (const line of scan.computedImports) {
      out.push({
        file: mod.path,
        line,
        rule: "computed-import",
        subject: "import()",
        message: "import() of a computed specifier: the layer check cannot follow it; " +
          "import a string literal.",
      });
    }
    if (!DENO_ADAPTERS.includes(mod.path)) {
      for (const use of scan.denoUses) {
        out.push({
          file: mod.path,
          line: use.line,
          rule: "deno-outside-adapter",
          subject: "Deno.*",
          message: `${use.text} in ${layer ?? "no layer"}: only the adapters (${
            DENO_ADAPTERS.join(", ")
          }) touch Deno.*; take what you need as a parameter.`,
        });
      }
    }
    if (layer === "core") {
      const seen = new Map<string, { line: number; count: number }>();
      for (const { word, line, literal } of scan.words) {
        if (!ROBOT_WORDS.has(word) || literal === LOG_CATEGORY_ROOT) continue;
        const entry = seen.get(word);
        if (entry) entry.count++;
        else seen.set(word, { line, count: 1 });
      }
      for (const [word, { line, count }] of seen) {
        out.push({
          file: mod.path,
          line,
          rule: "robot-word-in-core",
          subject: word,
          message: `"${word}" (${count}x) in core: core is robot-agnostic; what names the robot ` +
            `belongs in robot/ (or the layer that owns it).`,
        });
      }
    }
  }
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

function matches(entry: AllowlistEntry, v: Violation): boolean {
  return entry.file === v.file && entry.rule === v.rule && entry.subject === v.subject;
}

/**
 * The violations the allowlist does not cover, plus one `stale-allowlist` violation for each
 * entry that matched nothing (fixed: remove the entry, so the list only shrinks).
 */
export function applyAllowlist(
  violations: readonly Violation[],
  allowlist: readonly AllowlistEntry[],
): Violation[] {
  const left = violations.filter((v) => !allowlist.some((e) => matches(e, v)));
  const stale = allowlist.filter((e) => !violations.some((v) => matches(e, v)));
  return [
    ...left,
    ...stale.map((e): Violation => ({
      file: e.file,
      line: 1,
      rule: "stale-allowlist",
      subject: e.subject,
      message: `the allowlist entry {${e.rule}, ${e.subject}} matches nothing any more: ` +
        `remove it from ALLOWLIST in scripts/check_layers.ts.`,
    })),
  ];
}

/** `file:line: rule: message`, one line. */
export function formatViolation(v: Violation): string {
  return `${v.file}:${v.line}: ${v.rule}: ${v.message}`;
}

/** The whole check: every violation left after the allowlist, stale entries included. */
export function checkLayers(
  modules: readonly ModuleInput[],
  allowlist: readonly AllowlistEntry[],
): Violation[] {
  return applyAllowlist(findViolations(modules), allowlist);
}
