/**
 * `deno task check` runs this: every import of every .ts under src/ and of main.ts against the
 * layer picture (rules in scripts/_layer_rules.ts), `Deno.*` only in the adapters, no robot words
 * in core, `_`-prefixed files private to their folder.
 *
 *   deno run --allow-read --allow-run scripts/check_layers.ts [--root DIR]
 *
 * Imports come from Deno's own parser and resolver (`deno info --json`), so `import type`,
 * `export ... from` and string-literal `import()` all count, resolved exactly as they run. Prints
 * one line per violation (`file:line: rule: arrow and what is allowed`) on stderr and exits 1, or
 * prints a one-line summary and exits 0.
 *
 * ALLOWLIST below holds the violations that wait for the restructure issue. It only shrinks: an
 * entry that matches nothing is itself a violation, so whoever fixes one removes its entry.
 */
import { parseArgs } from "node:util";
import {
  type AllowlistEntry,
  checkLayers,
  formatViolation,
  type ImportEdge,
} from "./_layer_rules.ts";
import type { ModuleInput } from "./_layer_rules.ts";

/** Known violations; each names its file, what, and why it is still here. Remove when fixed. */
export const ALLOWLIST: readonly AllowlistEntry[] = [];

/** Repo-relative .ts files the check covers: main.ts and everything under src/. */
export async function sourceFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(`${root}/${dir}`)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && path.endsWith(".ts")) out.push(path);
    }
  };
  await walk("src");
  out.push("main.ts");
  return out.sort();
}

interface InfoDependency {
  specifier: string;
  code?: InfoTarget;
  type?: InfoTarget;
}
interface InfoTarget {
  specifier?: string;
  error?: string;
  span: { start: { line: number } };
}
interface InfoModule {
  specifier: string;
  error?: string;
  dependencies?: InfoDependency[];
}

/** Runs `deno info --json` on `rootFile` (npm and remote modules are not loaded). */
async function denoInfo(root: string, rootFile: string): Promise<InfoModule[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--no-npm", "--no-remote", rootFile],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `deno info --json ${rootFile} failed (exit ${out.code}): ` +
        new TextDecoder().decode(out.stderr).trim(),
    );
  }
  return (JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] }).modules;
}

/** The modules of `files` with their resolved imports, read by Deno's own module graph. */
export async function readModules(root: string, files: readonly string[]): Promise<ModuleInput[]> {
  const rootUrl = new URL(`file://${await Deno.realPath(root)}/`);
  const relative = (specifier: string): string =>
    specifier.startsWith(rootUrl.href) ? specifier.slice(rootUrl.href.length) : specifier;
  const graph = new Map<string, InfoModule>();
  for (const file of files) {
    if (graph.has(file)) continue;
    for (const mod of await denoInfo(root, file)) graph.set(relative(mod.specifier), mod);
  }
  const modules: ModuleInput[] = [];
  for (const path of files) {
    const info = graph.get(path);
    if (!info) throw new Error(`deno info did not list ${path}; is it a module?`);
    const imports: ImportEdge[] = (info.dependencies ?? []).map((dep) => {
      const target = dep.code ?? dep.type;
      if (!target) {
        throw new Error(`deno info gave ${path} an import of ${dep.specifier} without a target`);
      }
      const resolved = target.specifier ?? dep.specifier;
      const missing = resolved.startsWith("file:")
        ? graph.get(relative(resolved))?.error
        : undefined;
      const error = target.error ?? missing;
      return {
        specifier: dep.specifier,
        target: relative(resolved),
        line: target.span.start.line + 1,
        ...(error ? { error } : {}),
      };
    });
    modules.push({ path, source: await Deno.readTextFile(`${root}/${path}`), imports });
  }
  return modules;
}

/** Checks the tree at `root`; returns the violation lines (empty when it passes). */
export async function checkTree(
  root: string,
  allowlist: readonly AllowlistEntry[] = ALLOWLIST,
): Promise<{ files: number; lines: string[] }> {
  const files = await sourceFiles(root);
  const violations = checkLayers(await readModules(root, files), allowlist);
  return { files: files.length, lines: violations.map(formatViolation) };
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { root: { type: "string" } } });
  const root = values.root ?? ".";
  const { files, lines } = await checkTree(root);
  for (const line of lines) console.error(line);
  if (lines.length > 0) {
    console.error(
      `check_layers: ${lines.length} violation(s) in ${files} files. Fix the import (or move the ` +
        `code to the layer it belongs to); the picture is in scripts/_layer_rules.ts.`,
    );
    Deno.exit(1);
  }
  console.error(
    `check_layers: ${files} files, no violations` +
      (ALLOWLIST.length > 0 ? ` (${ALLOWLIST.length} allowlisted).` : "."),
  );
}
