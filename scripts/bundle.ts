/**
 * `deno task bundle`: the program as one minified file, dist/rvr-mcp.js (README "Install on a
 * Raspberry Pi", "Memory"). Minified because it runs in about 9 MB less memory than the plain bundle.
 *
 *   deno run -A scripts/bundle.ts [--entry main.ts] [--out dist/rvr-mcp.js]
 *
 * It runs `deno bundle --platform deno --minify` and then makes sure CommonJS dependencies can load
 * Node's built-ins. esbuild leaves a `require` shim in the bundle for their `require("util")` and
 * the like, which throws "Dynamic require of ... is not supported" in an ES module; Deno replaces
 * that shim with `createRequire(import.meta.url)` by matching its text, and in minified output the
 * match fails whenever esbuild names the shim with a `$` (denoland/deno#30023, open). This script
 * does the same replacement for any name and fails the build if a shim is left, so a bundle that
 * would crash at start-up is never written.
 */
import { parseArgs } from "node:util";

/**
 * esbuild's `__require` shim for ES module output, as its minifier writes it, with any
 * identifiers: `var NAME=(x=>typeof require<"u"?require:...)(function(x){...throw Error(...)});`.
 */
const MINIFIED_SHIM = new RegExp(
  String
    .raw`var ([\w$]+)=\(([\w$]+)=>typeof require<"u"\?require:typeof Proxy<"u"\?new Proxy\(\2,` +
    String.raw`\{get:\(([\w$]+),([\w$]+)\)=>\(typeof require<"u"\?require:\3\)\[\4\]\}\):\2\)` +
    String
      .raw`\(function\(([\w$]+)\)\{if\(typeof require<"u"\)return require\.apply\(this,arguments\);` +
    String.raw`throw Error\('Dynamic require of "'\+\5\+'" is not supported'\)\}\);`,
  "g",
);

/** Where `deno task bundle` writes, and what it bundles. */
export const DEFAULT_OUT = "dist/rvr-mcp.js";
export const DEFAULT_ENTRY = "main.ts";

/** What esbuild's shim throws: left in a bundle, Node's built-ins cannot be loaded. */
const SHIM_MESSAGE = "Dynamic require of ";

/**
 * Replaces every minified esbuild `require` shim in `code` with Node's `createRequire`, bound to
 * the bundle's own URL. Returns the code and how many shims were replaced; throws when a shim is
 * left that this does not recognise.
 */
export function fixRequireShims(code: string): { code: string; replaced: number } {
  let replaced = 0;
  const fixed = code.replace(MINIFIED_SHIM, (_match, name: string) => {
    replaced++;
    // An import declaration is valid anywhere at the top level of a module (it is hoisted).
    return `import{createRequire as __rvr_createRequire${replaced}}from"node:module";` +
      `var ${name}=__rvr_createRequire${replaced}(import.meta.url);`;
  });
  if (fixed.includes(SHIM_MESSAGE)) {
    const at = fixed.indexOf(SHIM_MESSAGE);
    throw new Error(
      `the bundle still holds esbuild's require shim, which throws at start-up ` +
        `(near: ${JSON.stringify(fixed.slice(Math.max(0, at - 200), at + 60))}). ` +
        `deno bundle's output changed: adapt MINIFIED_SHIM in scripts/bundle.ts.`,
    );
  }
  return { code: fixed, replaced };
}

/** Bundles `entry` into `out`, minified, with the shims fixed. */
export async function bundle(
  entry: string,
  out: string,
): Promise<{ bytes: number; replaced: number }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", "deno", "--minify", "-o", out, entry],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    const log = new TextDecoder().decode(result.stderr) + new TextDecoder().decode(result.stdout);
    throw new Error(`deno bundle ${entry} failed:\n${log}`);
  }
  const { code, replaced } = fixRequireShims(await Deno.readTextFile(out));
  await Deno.writeTextFile(out, code);
  return { bytes: new TextEncoder().encode(code).length, replaced };
}

if (import.meta.main) {
  const args = parseArgs({
    args: Deno.args,
    options: {
      entry: { type: "string", default: DEFAULT_ENTRY },
      out: { type: "string", default: DEFAULT_OUT },
    },
    strict: true,
  });
  const out = args.values.out;
  try {
    const { bytes, replaced } = await bundle(args.values.entry, out);
    console.error(
      `${out}: ${(bytes / 1024 / 1024).toFixed(2)} MB` +
        (replaced > 0 ? ` (${replaced} require shim(s) replaced)` : ""),
    );
  } catch (e) {
    console.error(`bundle: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
