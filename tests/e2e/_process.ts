/**
 * Test helpers for running the program and socat as real processes: await a line on a stream
 * (never a fixed sleep), with an overall deadline so a broken build fails instead of hanging.
 */

export const ROOT = new URL("../../", import.meta.url).pathname;

/** deno.json's tasks, as a user runs them. */
export function denoTasks(): Record<string, string> {
  return JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks;
}

/**
 * `deno task bundle`'s command (Deno's arguments, run from ROOT) with its output moved to `out`
 * and, for a bench, another entry module: anything built this way is built like the shipped
 * program.
 */
export function bundleArgs(out: string, entry = "main.ts"): string[] {
  const task = denoTasks().bundle;
  const words = task.split(/\s+/);
  if (words[0] !== "deno" || words.at(-1) !== "scripts/bundle.ts") {
    throw new Error(`deno.json's bundle task is not "deno ... scripts/bundle.ts": ${task}`);
  }
  return [...words.slice(1), "--entry", entry, "--out", out];
}

/** Runs `deno ...args` from ROOT to its end; throws with its output when it fails. */
export async function runDeno(args: string[], what: string): Promise<void> {
  const result = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    const log = new TextDecoder().decode(result.stderr) + new TextDecoder().decode(result.stdout);
    throw new Error(`${what} failed (deno ${args.join(" ")}, exit ${result.code}):\n${log}`);
  }
}

/** Builds `entry` into `out` with `deno task bundle`'s own command. */
export function buildBundle(out: string, entry = "main.ts"): Promise<void> {
  return runDeno(bundleArgs(out, entry), `bundling ${entry}`);
}

/** The program's V8 flags: the `--v8-flags=...` argument of `deno task start`. */
export function programV8Flags(): string {
  const flags = denoTasks().start.split(/\s+/).find((w) => w.startsWith("--v8-flags="));
  if (!flags) throw new Error(`deno.json's start task has no --v8-flags=: ${denoTasks().start}`);
  return flags;
}

/** Lines of a byte stream, decoded as they arrive; keeps everything seen for later assertions. */
export class LineReader {
  readonly lines: string[] = [];
  #waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  #ended = false;
  #endWaiters: (() => void)[] = [];
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#pump(stream);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let partial = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      partial += text;
      const parts = partial.split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) this.#add(line);
    }
    if (partial) this.#add(partial);
    this.#ended = true;
    for (const w of this.#endWaiters) w();
  }

  #add(line: string): void {
    this.lines.push(line);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.test(line)) return true;
      w.resolve(line);
      return false;
    });
  }

  /** The first line (seen or future) matching `test`; rejects when the stream ends or after `timeoutMs`. */
  waitFor(test: (line: string) => boolean, what: string, timeoutMs = 20_000): Promise<string> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(
          new Error(`${why} while waiting for ${what}; lines so far:\n${this.lines.join("\n")}`),
        );
      };
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      const waiter = {
        test,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      this.#waiters.push(waiter);
      if (this.#ended) fail("stream ended");
      else this.#endWaiters.push(() => fail("stream ended"));
    });
  }
}

/** A socat pty pair; `a` and `b` are symlinks to the two ends. */
export interface PtyPair {
  a: string;
  b: string;
  process: Deno.ChildProcess;
  close(): Promise<void>;
}

export async function openPtyPair(dir: string): Promise<PtyPair> {
  const a = `${dir}/a`;
  const b = `${dir}/b`;
  let process: Deno.ChildProcess;
  try {
    process = new Deno.Command("socat", {
      args: ["-d", "-d", `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error("socat is not installed: apt-get install socat (the tty tests need it).");
    }
    throw e;
  }
  const stderr = new LineReader(process.stderr);
  await stderr.waitFor((l) => l.includes("starting data transfer loop"), "socat to open both ptys");
  return {
    a,
    b,
    process,
    close: async () => {
      try {
        process.kill("SIGTERM");
      } catch (e) {
        if (!(e instanceof TypeError)) throw e; // already exited
      }
      await process.status;
      await stderr.done;
    },
  };
}

/** Runs `deno task <task> ...args` from the project root, as a user would, with piped stdio. */
export function spawnTask(
  task: string,
  args: string[] = [],
  env: Record<string, string> = {},
): { child: Deno.ChildProcess; stdout: LineReader; stderr: LineReader } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", task, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return { child, stdout: new LineReader(child.stdout), stderr: new LineReader(child.stderr) };
}

/** Runs `deno run -A <the program's V8 flags> main.ts ...args` with piped stdio. */
export function spawnMain(
  args: string[],
  env: Record<string, string> = {},
  entry = `${ROOT}main.ts`,
): { child: Deno.ChildProcess; stdout: LineReader; stderr: LineReader } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", programV8Flags(), entry, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return { child, stdout: new LineReader(child.stdout), stderr: new LineReader(child.stderr) };
}
