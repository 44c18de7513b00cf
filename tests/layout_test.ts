/**
 * docs/design.md and README's "Layout" table stay true to the tree:
 *
 * - every folder under src/ is named by docs/design.md's layout (a `### \`src/x/\`` heading, or a
 *   group such as `devices/*`), and every top-level folder src/<layer>/ has a README row;
 * - every file under src/ is covered by a line of docs/design.md's layout (a file, or a glob-like
 *   group: `*` within a name, `**` across folders);
 * - every path either document names exists (a group must match at least one file);
 * - README's rows are in layer order, and it links docs/design.md;
 * - docs/design.md's table of allowed imports is the one scripts/_layer_rules.ts enforces, and it
 *   names the adapters that may touch `Deno.*` and the shared HTTP modules.
 *
 * The checks are pure functions of the documents and the tree's paths, so the second test feeds
 * them mutated copies and shows each one fails.
 */
import assert from "node:assert/strict";
import {
  ALLOWED,
  DENO_ADAPTERS,
  type Layer,
  LAYERS,
  SHARED_HTTP_MODULES,
} from "../scripts/_layer_rules.ts";

const root = new URL("../", import.meta.url);
const DESIGN = "docs/design.md";

/** The paths under src/, repo-relative with forward slashes: files, and folders ending in "/". */
interface Tree {
  files: string[];
  folders: string[];
}

/** One path a document names in its layout: `base` + `pattern`, from `line` of `doc`. */
interface Entry {
  doc: string;
  line: number;
  /** Repo-relative; may end in "/" (a folder) or hold `*` / `**` (a group). */
  path: string;
}

async function readTree(dir: string): Promise<Tree> {
  const tree: Tree = { files: [], folders: [] };
  const walk = async (path: string) => {
    for await (const entry of Deno.readDir(new URL(path, root))) {
      if (entry.isDirectory) {
        tree.folders.push(`${path}${entry.name}/`);
        await walk(`${path}${entry.name}/`);
      } else tree.files.push(`${path}${entry.name}`);
    }
  };
  await walk(dir);
  tree.files.sort();
  tree.folders.sort();
  return tree;
}

/** The lines of the `## title` section of `markdown` (to the next `## `), with their numbers. */
function section(markdown: string, title: string): { line: number; text: string }[] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l === `## ${title}`);
  if (start < 0) return [];
  const out: { line: number; text: string }[] = [];
  for (let i = start + 1; i < lines.length && !lines[i].startsWith("## "); i++) {
    out.push({ line: i + 1, text: lines[i] });
  }
  return out;
}

/** The backticked tokens of `text`. */
function ticked(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
}

/** The first cell of a table row, or undefined for anything else (header rule included). */
function firstCell(text: string): string | undefined {
  const m = /^\|([^|]*)\|/.exec(text.trim());
  if (!m || /^\s*:?-+:?\s*$/.test(m[1])) return undefined;
  return m[1];
}

/** docs/design.md's layout: the folder headings and every path its tables' first column names. */
function designLayout(markdown: string): { headings: string[]; entries: Entry[] } {
  const headings: string[] = [];
  const entries: Entry[] = [];
  let base: string | undefined;
  for (const { line, text } of section(markdown, "Layout")) {
    if (text.startsWith("### ")) {
      base = ticked(text)[0];
      if (base === undefined || !base.endsWith("/")) {
        throw new Error(`${DESIGN}:${line}: a layout heading names its folder: ### \`src/x/\``);
      }
      headings.push(base);
      continue;
    }
    const cell = firstCell(text);
    if (cell === undefined || base === undefined) continue;
    for (const token of ticked(cell)) entries.push({ doc: DESIGN, line, path: base + token });
  }
  return { headings, entries };
}

/** README's Layout table: every path its first column names (repo-relative). */
function readmeLayout(markdown: string): Entry[] {
  const entries: Entry[] = [];
  for (const { line, text } of section(markdown, "Layout")) {
    const cell = firstCell(text);
    if (cell === undefined) continue;
    for (const token of ticked(cell)) entries.push({ doc: "README.md", line, path: token });
  }
  return entries;
}

/** Backticked tokens of a section that look like repository paths (checked for existence). */
function pathsIn(doc: string, lines: { line: number; text: string }[]): Entry[] {
  const out: Entry[] = [];
  for (const { line, text } of lines) {
    for (const token of ticked(text)) {
      if (/^(src|tests|bench|docs|scripts|deploy|proto)\/[\w./*-]*$|^main\.ts$/.test(token)) {
        out.push({ doc, line, path: token });
      }
    }
  }
  return out;
}

/** `*` stays within one name, `**` crosses folders; a path ending in "/" is that folder. */
function globRegExp(path: string): RegExp {
  const body = path.split(/(\*\*|\*)/).map((part) =>
    part === "**" ? ".*" : part === "*" ? "[^/]*" : part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")
  ).join("");
  return new RegExp(`^${body}$`);
}

/** True when `path` names something: a file or folder of `known`, or a group matching a file. */
function exists(path: string, known: ReadonlySet<string>, files: readonly string[]): boolean {
  if (!path.includes("*")) return known.has(path);
  const re = globRegExp(path);
  return files.some((f) => re.test(f));
}

/** The folder a group or folder entry names (`src/sim/devices/` for `src/sim/devices/*`). */
function namedFolder(path: string): { folder: string; deep: boolean } | undefined {
  const m = /^(.*\/)(\*\*?)?$/.exec(path);
  return m ? { folder: m[1], deep: m[2] === "**" } : undefined;
}

interface Docs {
  design: string;
  readme: string;
}

/** Everything wrong between the documents and the tree; empty when they agree. */
function layoutProblems(docs: Docs, tree: Tree, others: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const at = (e: Entry) => `${e.doc}:${e.line}`;
  const known = new Set(["src/", ...tree.files, ...tree.folders, ...others]);
  const { headings, entries } = designLayout(docs.design);
  const readme = readmeLayout(docs.readme);

  // Paths that do not exist.
  const named = [
    ...entries,
    ...readme,
    ...pathsIn(DESIGN, docs.design.split("\n").map((text, i) => ({ line: i + 1, text }))),
    ...pathsIn("README.md", section(docs.readme, "Layout")),
  ];
  for (const e of named) {
    if (!exists(e.path, known, tree.files)) {
      problems.push(`${at(e)}: \`${e.path}\` names nothing in the tree; fix or remove the line.`);
    }
  }
  for (const h of headings) {
    if (!known.has(h) || !h.startsWith("src/")) {
      problems.push(`${DESIGN}: the layout heading \`${h}\` is not a folder under src/.`);
    }
  }

  // Folders the layout does not name.
  const groups = entries.map((e) => namedFolder(e.path)).filter((g) => g !== undefined);
  for (const folder of tree.folders) {
    const covered = headings.includes(folder) ||
      groups.some((g) => g.folder === folder || (g.deep && folder.startsWith(g.folder)));
    if (!covered) {
      problems.push(
        `${DESIGN}: folder ${folder} is missing from the layout; add a \`### \\\`${folder}\\\`\` ` +
          `section or a group line such as \`${folder.split("/").at(-2)}/*\` under its parent.`,
      );
    }
  }
  const readmePaths = new Set(readme.map((e) => e.path));
  const topLevel = tree.folders.filter((f) => /^src\/[^/]+\/$/.test(f));
  for (const folder of topLevel) {
    if (!readmePaths.has(folder)) {
      problems.push(`README.md: folder ${folder} has no row in the Layout table; add one.`);
    }
  }

  // Files the layout does not cover.
  const patterns = entries.map((e) => globRegExp(e.path));
  for (const file of tree.files) {
    if (!patterns.some((re) => re.test(file))) {
      problems.push(
        `${DESIGN}: ${file} is not covered by the layout; add a line for it (or widen a group) ` +
          `under its folder's section.`,
      );
    }
  }

  // README: rows in layer order, and the link to the design.
  const order = readme.map((e) => /^src\/([^/]+)\/$/.exec(e.path)?.[1])
    .filter((l): l is Layer => l !== undefined && (LAYERS as readonly string[]).includes(l));
  const expected = [...order].sort((a, b) => LAYERS.indexOf(a) - LAYERS.indexOf(b));
  if (order.join() !== expected.join()) {
    problems.push(
      `README.md: the Layout rows are out of layer order: ${order.join(", ")}; ` +
        `expected ${expected.join(", ")} (scripts/_layer_rules.ts LAYERS).`,
    );
  }
  if (!section(docs.readme, "Layout").some((l) => l.text.includes("](docs/design.md)"))) {
    problems.push("README.md: the Layout section does not link docs/design.md.");
  }

  // docs/design.md's arrows are the enforced ones.
  const allowed = new Map<string, string[]>();
  for (const { line, text } of section(docs.design, "Layers")) {
    const m = /^\|\s*`(\w+)`\s*\|([^|]*)\|/.exec(text);
    if (!m) continue;
    const targets = m[2].trim() === "nothing of ours"
      ? []
      : m[2].split(",").map((s) => s.trim()).filter((s) => s !== "");
    if (allowed.has(m[1])) problems.push(`${DESIGN}:${line}: layer ${m[1]} has two rows.`);
    allowed.set(m[1], targets);
  }
  for (const [layer, targets] of Object.entries(ALLOWED)) {
    const written = allowed.get(layer);
    if (written === undefined) {
      problems.push(`${DESIGN}: the table of allowed imports has no row for ${layer}.`);
    } else if ([...written].sort().join() !== [...targets].sort().join()) {
      problems.push(
        `${DESIGN}: layer ${layer} may import "${written.join(", ")}" says the page, ` +
          `"${targets.join(", ")}" says scripts/_layer_rules.ts; make them agree.`,
      );
    }
    allowed.delete(layer);
  }
  for (const layer of allowed.keys()) {
    problems.push(`${DESIGN}: the table of allowed imports has a row for ${layer}, no layer.`);
  }
  const layersText = section(docs.design, "Layers").map((l) => l.text).join("\n");
  for (const path of [...DENO_ADAPTERS, ...SHARED_HTTP_MODULES]) {
    if (!layersText.includes(`\`${path}\``)) {
      problems.push(`${DESIGN}: the Layers section does not name \`${path}\` (layer rules).`);
    }
  }
  return problems;
}

const docs: Docs = {
  design: await Deno.readTextFile(new URL(DESIGN, root)),
  readme: await Deno.readTextFile(new URL("README.md", root)),
};
const tree = await readTree("src/");
/** Paths outside src/ the documents may name. */
async function othersNamed(): Promise<Set<string>> {
  const out = new Set<string>();
  const candidates = [
    ...readmeLayout(docs.readme),
    ...pathsIn(DESIGN, docs.design.split("\n").map((text, i) => ({ line: i + 1, text }))),
    ...pathsIn("README.md", section(docs.readme, "Layout")),
  ].map((e) => e.path).filter((p) => !p.startsWith("src/"));
  for (const path of candidates) {
    try {
      await Deno.stat(new URL(path, root));
      out.add(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return out;
}
const others = await othersNamed();

Deno.test("layout: docs/design.md and README's Layout table match the tree", () => {
  const problems = layoutProblems(docs, tree, others);
  assert.deepEqual(problems, [], problems.join("\n"));
  // The layout really is read: every file and folder counted, every layer in README.
  assert.ok(designLayout(docs.design).entries.length >= 100, "the design names its files");
  assert.ok(tree.files.length >= 200 && tree.folders.length >= 15, "the walk found the tree");
});

Deno.test("layout: the check fails when the documents or the tree drift", async (t) => {
  const problems = (d: Partial<Docs>, tr: Partial<Tree> = {}) =>
    layoutProblems({ ...docs, ...d }, { ...tree, ...tr }, others);
  const expectProblem = (found: string[], pattern: RegExp) =>
    assert.ok(found.some((p) => pattern.test(p)), `expected ${pattern}, got:\n${found.join("\n")}`);

  await t.step("a new file under src/ that the design does not cover", () => {
    const found = problems({}, { files: [...tree.files, "src/robot/new_concept.ts"] });
    expectProblem(found, /src\/robot\/new_concept\.ts is not covered/);
  });
  await t.step("a new folder under src/, in neither document", () => {
    const found = problems({}, {
      files: [...tree.files, "src/gizmo/mod.ts"],
      folders: [...tree.folders, "src/gizmo/"],
    });
    expectProblem(found, /folder src\/gizmo\/ is missing from the layout/);
    expectProblem(found, /README\.md: folder src\/gizmo\/ has no row/);
  });
  await t.step("a file the design names that was removed", () => {
    const found = problems({}, { files: tree.files.filter((f) => f !== "src/sim/line_rate.ts") });
    expectProblem(found, /`src\/sim\/line_rate\.ts` names nothing/);
  });
  await t.step("a group that matches nothing", () => {
    const found = problems({
      design: docs.design.replace("| `commands/*`", "| `command/*`"),
    });
    expectProblem(found, /`src\/protocol\/command\/\*` names nothing/);
    expectProblem(found, /folder src\/protocol\/commands\/ is missing/);
    expectProblem(found, /src\/protocol\/commands\/drive\.ts is not covered/);
  });
  await t.step("a README row for a path that does not exist, or a missing row", () => {
    const found = problems({
      readme: docs.readme.replace("| `src/sim/`", "| `src/simulator/`"),
    });
    expectProblem(found, /`src\/simulator\/` names nothing/);
    expectProblem(found, /README\.md: folder src\/sim\/ has no row/);
  });
  await t.step("README rows out of layer order", () => {
    const lines = docs.readme.split("\n");
    const core = lines.findIndex((l) => l.startsWith("| `src/core/`"));
    const fleet = lines.findIndex((l) => l.startsWith("| `src/fleet/`"));
    [lines[core], lines[fleet]] = [lines[fleet], lines[core]];
    expectProblem(problems({ readme: lines.join("\n") }), /out of layer order/);
  });
  await t.step("an arrow the layer rules do not allow, written in the design", () => {
    const found = problems({
      design: docs.design.replace(
        /^\| `sim` *\| protocol, core *\|/m,
        "| `sim` | link, protocol, core |",
      ),
    });
    expectProblem(found, /layer sim may import "link, protocol, core" says the page/);
  });
  await t.step("a stale path in the design's prose", () => {
    const found = problems({ design: docs.design + "\nSee `src/http/_auth.ts`.\n" });
    expectProblem(found, /`src\/http\/_auth\.ts` names nothing/);
  });
});
