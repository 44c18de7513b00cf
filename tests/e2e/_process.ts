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

/**
 * The simulated robot on a tty, as a bench runs it: a fresh socat pty pair in a temporary
 * directory whose name starts with `prefix`, and deno.json's sim task's command line (without the
 * task runner) on its `b` end, its inactivity sleep off; resolves once it listens. `pty.a` is the
 * robot's port for the program under test. `close()` stops the simulator, then socat, and removes
 * the directory.
 */
export async function simulatorOnPty(
  prefix: string,
): Promise<{ pty: PtyPair; log: LineReader; close(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix });
  const pty = await openPtyPair(dir);
  const sim = new Deno.Command(Deno.execPath(), {
    args: [...taskArgs("sim"), "--port", pty.b, "--inactivity-timeout-ms", "0"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = new LineReader(sim.stderr);
  await log.waitFor((l) => l.includes("Simulated RVR listening"), "the simulator");
  return {
    pty,
    log,
    close: async () => {
      sim.kill("SIGTERM");
      await sim.status;
      await log.done;
      await pty.close();
      await Deno.remove(dir, { recursive: true });
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

/**
 * Runs `deno run -A <the program's V8 flags> [denoFlags] main.ts ...args` with piped stdio.
 * `denoFlags`: more of Deno's own flags, e.g. `--preload` of a test module.
 */
export function spawnMain(
  args: string[],
  env: Record<string, string> = {},
  options: { entry?: string; denoFlags?: string[] } = {},
): { child: Deno.ChildProcess; stdout: LineReader; stderr: LineReader } {
  const { entry = `${ROOT}main.ts`, denoFlags = [] } = options;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", programV8Flags(), ...denoFlags, entry, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return { child, stdout: new LineReader(child.stdout), stderr: new LineReader(child.stderr) };
}

/** {@link spawnTaskBehindReader}'s program: the task's stdout (and maybe stderr) read by `cat`. */
const BEHIND_READER = [
  'exec 3<&0; dir="$1"; merge="$2"; shift 2',
  "run() {",
  '  if [ "$merge" = 1 ]; then "$@" <&3 3<&- 2>&1; else "$@" <&3 3<&-; fi',
  '  echo $? > "$dir/code"',
  "}",
  'run "$@" | cat &',
  'echo $! > "$dir/reader.pid"',
  "wait",
].join("\n");

/**
 * Deno's arguments of deno.json's `task` ("deno run -A ... main.ts" without the "deno"), so a test
 * runs exactly the task's command line without the `deno task` wrapper process in between.
 */
export function taskArgs(task: string): string[] {
  const command = denoTasks()[task];
  const words = command?.split(/\s+/) ?? [];
  if (words[0] !== "deno" || words.some((w) => /[&|;<>$`]/.test(w))) {
    throw new Error(`deno.json's ${task} task is not one plain "deno ..." command: ${command}`);
  }
  return words.slice(1);
}

/**
 * Runs deno.json's `task` command line (see {@link taskArgs}) and `...args` with its stdout read by
 * a separate `cat` process, as an MCP
 * client or an ssh session reads it; the test reads what cat passes on. `closeReader()` kills
 * that reader: the pipe is left without one, so the program's next write to stdout fails with
 * EPIPE, as when its client crashed. (Cancelling the child's own stdout stream cannot show this:
 * Deno keeps the pipe open until a pending read completes, so the next write still succeeds.)
 * `withStderr`: stderr goes to the same reader too (`stderr` is then `stdout`), as when a whole
 * ssh session goes away. `code()`: the task's own exit code, once it ended. `dir`: a scratch
 * directory for the reader's pid and the exit code. Without the `deno task` wrapper: under load
 * that wrapper was seen to hang after the program had exited once its stdout had no reader, and the
 * program, not the wrapper, is what these tests are about.
 */
export function spawnTaskBehindReader(
  task: string,
  args: string[],
  env: Record<string, string>,
  options: { dir: string; withStderr?: boolean },
): {
  child: Deno.ChildProcess;
  stdout: LineReader;
  stderr: LineReader;
  closeReader(): Promise<void>;
  code(): Promise<number>;
} {
  const { dir, withStderr = false } = options;
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      BEHIND_READER,
      "sh",
      dir,
      withStderr ? "1" : "0",
      Deno.execPath(),
      ...taskArgs(task),
      ...args,
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: withStderr ? "inherit" : "piped",
  }).spawn();
  const stdout = new LineReader(child.stdout);
  const stderr = withStderr ? stdout : new LineReader(child.stderr);
  const readFile = async (name: string, what: string) => {
    try {
      return (await Deno.readTextFile(`${dir}/${name}`)).trim();
    } catch (e) {
      throw new Error(`${what}: ${dir}/${name} is not there (${(e as Error).message})`);
    }
  };
  return {
    child,
    stdout,
    stderr,
    closeReader: async () => {
      const pid = Number(await readFile("reader.pid", "the stdout reader's pid"));
      const comm = (await Deno.readTextFile(`/proc/${pid}/comm`)).trim();
      if (comm !== "cat") throw new Error(`pid ${pid} is ${comm}, not the stdout reader (cat)`);
      Deno.kill(pid, "SIGKILL");
      // The kill only asks; the pipe loses its reader once cat has died (a zombie holds no fds).
      // Until then a write still succeeds, and the program would not hear EPIPE. No event says
      // so: /proc does, checked every 5 ms for at most 5 s.
      const deadline = Date.now() + 5000;
      while (await running(pid)) {
        if (Date.now() > deadline) throw new Error(`the stdout reader (cat, ${pid}) did not die`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    code: async () => {
      await child.status;
      return Number(await readFile("code", `the exit code of deno task ${task}`));
    },
  };
}

/**
 * `child`'s exit status, or after `timeoutMs` a failure naming `what` (the child and its own
 * children are killed first), so a program that does not exit fails the test instead of hanging
 * the run.
 */
export async function exitWithin(
  child: Deno.ChildProcess,
  timeoutMs: number,
  what: string,
): Promise<Deno.CommandStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) =>
    timer = setTimeout(() => resolve("late"), timeoutMs)
  );
  try {
    const first = await Promise.race([child.status, late]);
    if (first !== "late") return first;
  } finally {
    clearTimeout(timer);
  }
  // The children first (a shell wrapper's program), then the child itself.
  await new Deno.Command("pkill", { args: ["-KILL", "-P", String(child.pid)] }).output();
  try {
    child.kill("SIGKILL");
  } catch (error) {
    // Killing its children may already have ended a shell wrapper: then there is nothing to kill.
    if (!/already terminated/.test(String(error))) throw error;
  }
  await child.status;
  throw new Error(`${what}: still running after ${timeoutMs} ms (killed)`);
}

/** True while `pid` runs (not gone, not a zombie). */
async function running(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** SIGTERM to a {@link spawnMain} process unless it already exited; resolves once it and its
 * output streams ended. */
export async function stopProcess(p: ReturnType<typeof spawnMain>): Promise<void> {
  try {
    p.child.kill("SIGTERM");
  } catch (e) {
    if (!(e instanceof TypeError)) throw e; // TypeError: it already exited
  }
  await p.child.status;
  await p.stdout.done;
  await p.stderr.done;
}
