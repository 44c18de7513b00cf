import assert from "node:assert/strict";
import { fixRequireShims } from "../../scripts/bundle.ts";

/** esbuild's minified `require` shim as it writes it, with the names it happened to pick. */
const shim = (name: string, x: string, e: string, r: string, t: string) =>
  `var ${name}=(${x}=>typeof require<"u"?require:typeof Proxy<"u"?new Proxy(${x},{get:(${e},${r})=>` +
  `(typeof require<"u"?require:${e})[${r}]}):${x})(function(${t}){if(typeof require<"u")return ` +
  `require.apply(this,arguments);throw Error('Dynamic require of "'+${t}+'" is not supported')});`;

Deno.test("fixRequireShims: any minified name, $ included, becomes createRequire", () => {
  const code = `var a=1;${shim("$o", "t", "e", "r", "t")}var u=$o("node:util");`;
  const fixed = fixRequireShims(code);
  assert.equal(fixed.replaced, 1);
  assert.equal(
    fixed.code,
    `var a=1;import{createRequire as __rvr_createRequire1}from"node:module";` +
      `var $o=__rvr_createRequire1(import.meta.url);var u=$o("node:util");`,
  );
});

Deno.test("fixRequireShims: code without a shim is left as it is", () => {
  const code =
    `import{createRequire as c}from"node:module";var fr=c(import.meta.url);fr("node:v8");`;
  assert.deepEqual(fixRequireShims(code), { code, replaced: 0 });
});

Deno.test("fixRequireShims: a shim it does not recognise fails the build", () => {
  const changed = shim("q", "t", "e", "r", "t").replace("typeof Proxy", "typeof  Proxy");
  assert.throws(
    () => fixRequireShims(changed),
    /still holds esbuild's require shim.*adapt MINIFIED_SHIM in scripts\/bundle\.ts/s,
  );
});
