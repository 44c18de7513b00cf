/**
 * A small TypeScript tokenizer for the layer check (scripts/check_layers.ts): it walks the source
 * past comments, strings, template literals and regular-expression literals, so what it reports is
 * code, never prose. Imports come from Deno's own parser (`deno info --json`); this scan finds
 * what that graph does not show: uses of the `Deno` global, the words of identifiers and string
 * literals (for "core has no robot words"), and `import(...)` calls whose specifier is computed.
 */

/** One use of the `Deno` global: `Deno.open`, `Deno.errors`, `Deno` alone. */
export interface DenoUse {
  line: number;
  /** `Deno.open`, or `Deno` when no member follows. */
  text: string;
}

/** One word (lower case) of an identifier or string literal. */
export interface WordUse {
  line: number;
  word: string;
  /** The whole string literal the word came from (undefined for identifiers and templates). */
  literal?: string;
}

export interface CodeScan {
  denoUses: DenoUse[];
  words: WordUse[];
  /** Lines of `import(` calls whose argument is not a plain string literal. */
  computedImports: number[];
}

/** Keywords after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER_WORDS = new Set([
  "return",
  "typeof",
  "case",
  "do",
  "else",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "instanceof",
  "yield",
  "await",
]);

const IDENT_START = /[A-Za-z_$]/;
const IDENT_PART = /[\w$]/;

/** Splits `linkRobotErrorsTotal`, `BATTERY_STATES`, `"drive stop"` into lower-case words. */
export function wordsOf(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[^A-Za-z]+/)
    .filter((w) => w.length > 0)
    .map((w) => w.toLowerCase());
}

/** Scans `source` (TypeScript) for Deno uses, words and computed dynamic imports. */
export function scanCode(source: string): CodeScan {
  const denoUses: DenoUse[] = [];
  const words: WordUse[] = [];
  const computedImports: number[] = [];
  let i = 0;
  let line = 1;
  /** The last significant code token: decides whether `/` starts a regex. */
  let prev = "";
  /** Brace depth at which each open template literal's `${` began. */
  const templates: number[] = [];
  let braces = 0;

  const addWords = (text: string, at: number, literal?: string) => {
    for (const word of wordsOf(text)) {
      words.push(literal === undefined ? { line: at, word } : { line: at, word, literal });
    }
  };
  const nextCodeChar = (from: number): { index: number; char: string } => {
    let j = from;
    while (j < source.length && /\s/.test(source[j])) j++;
    return { index: j, char: source[j] ?? "" };
  };
  /** Reads a quoted string starting at `i` (the quote); returns its text. */
  const readString = (): string => {
    const quote = source[i++];
    let text = "";
    while (i < source.length && source[i] !== quote) {
      if (source[i] === "\\") {
        if (source[i + 1] === "\n") line++;
        i += 2;
        continue;
      }
      if (source[i] === "\n") line++; // unterminated: stop at the line end like the parser would
      text += source[i++];
    }
    i++;
    return text;
  };
  /** Reads template text from `i` up to and past the closing backtick or a `${`. */
  const readTemplate = () => {
    const start = line;
    let text = "";
    while (i < source.length) {
      const c = source[i];
      if (c === "\\") {
        i += 2;
        continue;
      }
      if (c === "`") {
        i++;
        addWords(text, start);
        prev = "`";
        return;
      }
      if (c === "$" && source[i + 1] === "{") {
        i += 2;
        templates.push(braces);
        braces++;
        addWords(text, start);
        prev = "{";
        return;
      }
      if (c === "\n") line++;
      text += c;
      i++;
    }
    addWords(text, start);
  };
  const readRegex = () => {
    i++; // the opening slash
    let inClass = false;
    while (i < source.length && source[i] !== "\n") {
      const c = source[i];
      if (c === "\\") {
        i += 2;
        continue;
      }
      if (c === "[") inClass = true;
      else if (c === "]") inClass = false;
      else if (c === "/" && !inClass) break;
      i++;
    }
    i++;
    while (i < source.length && IDENT_PART.test(source[i])) i++; // flags
    prev = "regex";
  };
  const regexAllowed = () =>
    prev === "" || REGEX_AFTER_WORDS.has(prev) ||
    (prev.length === 1 && "(,=:[!&|?{};+-*%<>~^".includes(prev));

  while (i < source.length) {
    const c = source[i];
    if (c === "\n") {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === "/" && source[i + 1] === "/") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (c === "/" && source[i + 1] === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? source.length : end + 2;
      for (let j = i; j < stop; j++) if (source[j] === "\n") line++;
      i = stop;
    } else if (c === "'" || c === '"') {
      const at = line;
      const text = readString();
      addWords(text, at, text);
      prev = "string";
    } else if (c === "`") {
      i++;
      readTemplate();
    } else if (c === "/" && regexAllowed()) {
      readRegex();
    } else if (IDENT_START.test(c)) {
      let j = i;
      while (j < source.length && IDENT_PART.test(source[j])) j++;
      const ident = source.slice(i, j);
      let k = i - 1;
      while (k >= 0 && /\s/.test(source[k])) k--;
      const before = source.slice(Math.max(0, k - 10), k + 1);
      const isMember = before.endsWith(".") && !before.endsWith("...") &&
        !before.endsWith("globalThis.");
      const after = nextCodeChar(j);
      if (ident === "Deno" && !isMember) {
        let text = "Deno";
        if (after.char === ".") {
          const member = /^\s*([A-Za-z_$][\w$]*)/.exec(source.slice(after.index + 1));
          if (member) text = `Deno.${member[1]}`;
        }
        denoUses.push({ line, text });
      }
      if (ident === "import" && !isMember && after.char === "(") {
        const arg = nextCodeChar(after.index + 1);
        const quote = arg.char;
        let literal = false;
        if (quote === '"' || quote === "'") {
          const close = source.indexOf(quote, arg.index + 1);
          literal = close > 0 && /^\s*[,)]/.test(source.slice(close + 1));
        }
        if (!literal) computedImports.push(line);
      }
      addWords(ident, line);
      prev = ident;
      i = j;
    } else if (/[0-9]/.test(c)) {
      while (i < source.length && /[\w.]/.test(source[i])) i++;
      prev = "number";
    } else {
      if (c === "{") braces++;
      else if (c === "}") {
        braces--;
        if (templates.length > 0 && templates[templates.length - 1] === braces) {
          templates.pop();
          i++;
          readTemplate();
          continue;
        }
      }
      prev = c;
      i++;
    }
  }
  return { denoUses, words, computedImports };
}
