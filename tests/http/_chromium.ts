/**
 * A real headless Chromium (Debian package `chromium`) driven over the Chrome DevTools Protocol
 * with Deno's own WebSocket: launch with a throw-away profile, open a page, navigate, evaluate,
 * wait for a condition in the page, take screenshots, close (browser gone, profile removed).
 * Also a small PNG decoder (zlib through DecompressionStream) to look at screenshots.
 */

/** Where the browser is; override with CHROMIUM_BIN. */
export const CHROMIUM_BIN = Deno.env.get("CHROMIUM_BIN") ?? "/usr/bin/chromium";

/** True when the browser binary is there. */
export function chromiumAvailable(): boolean {
  try {
    return Deno.statSync(CHROMIUM_BIN).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

interface Pending {
  method: string;
  resolve: (result: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

type EventListener = (params: Record<string, unknown>, sessionId: string | undefined) => void;

/** A DevTools Protocol connection (browser endpoint, flat sessions). */
class CdpConnection {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Map<string, Set<EventListener>>();
  readonly closed: Promise<void>;
  #nextId = 1;
  #closedError: Error | null = null;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", () => {
        this.#closedError = new Error("DevTools connection closed");
        for (const p of this.#pending.values()) {
          p.reject(new Error(`${p.method}: DevTools connection closed before the reply`));
        }
        this.#pending.clear();
        resolve();
      });
    });
    ws.addEventListener("message", (ev) => this.#onMessage(String(ev.data)));
  }

  static open(url: string): Promise<CdpConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const conn = new CdpConnection(ws);
      const onError = () => reject(new Error(`cannot open the DevTools socket ${url}`));
      ws.addEventListener("error", onError, { once: true });
      ws.addEventListener("open", () => {
        ws.removeEventListener("error", onError);
        resolve(conn);
      }, { once: true });
    });
  }

  #onMessage(text: string): void {
    const msg = JSON.parse(text) as {
      id?: number;
      result?: Record<string, unknown>;
      error?: { code: number; message: string; data?: string };
      method?: string;
      params?: Record<string, unknown>;
      sessionId?: string;
    };
    if (msg.id !== undefined) {
      const p = this.#pending.get(msg.id);
      if (!p) throw new Error(`DevTools reply for unknown request id ${msg.id}`);
      this.#pending.delete(msg.id);
      if (msg.error) {
        p.reject(
          new Error(`${p.method} failed: ${msg.error.message} ${msg.error.data ?? ""}`.trim()),
        );
      } else p.resolve(msg.result ?? {});
      return;
    }
    if (msg.method) {
      for (const l of this.#listeners.get(msg.method) ?? []) l(msg.params ?? {}, msg.sessionId);
    }
  }

  send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    if (this.#closedError) {
      return Promise.reject(new Error(`${method}: ${this.#closedError.message}`));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { method, resolve, reject });
      this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  on(method: string, listener: EventListener): () => void {
    let set = this.#listeners.get(method);
    if (!set) this.#listeners.set(method, set = new Set());
    set.add(listener);
    return () => set.delete(listener);
  }

  close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) {
      this.#ws.close();
    }
    return this.closed;
  }
}

/** One page (tab) attached through a flat session. */
export class CdpPage {
  readonly #cdp: CdpConnection;
  readonly #session: string;
  /** Console messages and uncaught exceptions of the page, in order. */
  readonly console: string[] = [];

  constructor(cdp: CdpConnection, sessionId: string) {
    this.#cdp = cdp;
    this.#session = sessionId;
    cdp.on("Runtime.consoleAPICalled", (p, s) => {
      if (s !== this.#session) return;
      const args = (p.args as { value?: unknown; description?: string }[] | undefined) ?? [];
      this.console.push(`${p.type}: ${args.map((a) => a.value ?? a.description).join(" ")}`);
    });
    cdp.on("Runtime.exceptionThrown", (p, s) => {
      if (s !== this.#session) return;
      const d = p.exceptionDetails as { text?: string; exception?: { description?: string } };
      this.console.push(`exception: ${d.exception?.description ?? d.text}`);
    });
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.#cdp.send(method, params, this.#session);
  }

  /** Navigates and resolves once the page's load event fired. */
  async navigate(url: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    let off = () => {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    const loaded = new Promise<void>((resolve, reject) => {
      off = this.#cdp.on("Page.loadEventFired", (_p, s) => {
        if (s === this.#session) resolve();
      });
      timer = setTimeout(
        () => reject(new Error(`${url} did not load within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const r = await this.send("Page.navigate", { url });
      if (typeof r.errorText === "string") throw new Error(`navigate ${url}: ${r.errorText}`);
      await loaded;
    } finally {
      off();
      clearTimeout(timer);
    }
  }

  /** Evaluates `expression` in the page (promises awaited); returns its value as JSON. */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
      userGesture: true,
    });
    const details = r.exceptionDetails as
      | { text?: string; exception?: { description?: string } }
      | undefined;
    if (details) {
      throw new Error(
        `page threw evaluating ${expression.slice(0, 80)}: ` +
          `${details.exception?.description ?? details.text}`,
      );
    }
    return (r.result as { value?: T }).value as T;
  }

  /**
   * Resolves with the first truthy value of `expression`, evaluated in the page on every
   * animation frame and timer tick (the page's own event loop), or rejects after `timeoutMs`
   * with the last value and the page's console.
   */
  async waitFor<T = unknown>(expression: string, options: { timeoutMs?: number } = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const script = pollScript(expression, timeoutMs);
    const r = await this.evaluate<{ ok: boolean; value: T }>(script);
    if (!r.ok) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${expression}; last value ` +
          `${JSON.stringify(r.value)}; page console:\n${this.console.slice(-20).join("\n")}`,
      );
    }
    return r.value;
  }

  /** A PNG of the viewport. */
  async screenshot(): Promise<Uint8Array> {
    const r = await this.send("Page.captureScreenshot", { format: "png" });
    const bin = atob(r.data as string);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  }
}

/** A launched headless Chromium with its own temporary profile. */
export class Chromium {
  readonly #child: Deno.ChildProcess;
  readonly #cdp: CdpConnection;
  readonly #profile: string;
  readonly #stderrDone: Promise<void>;
  readonly stderrTail: string[];
  #closed = false;

  private constructor(
    child: Deno.ChildProcess,
    cdp: CdpConnection,
    profile: string,
    stderrDone: Promise<void>,
    stderrTail: string[],
  ) {
    this.#child = child;
    this.#cdp = cdp;
    this.#profile = profile;
    this.#stderrDone = stderrDone;
    this.stderrTail = stderrTail;
  }

  /**
   * Starts the browser and connects to its DevTools endpoint (read from its stderr). `args` are
   * more command-line switches (e.g. one that keeps sandboxed iframes in the page's process, so
   * the page's session reaches them).
   */
  static async launch(
    options: { timeoutMs?: number; args?: readonly string[] } = {},
  ): Promise<Chromium> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const profile = await Deno.makeTempDir({ prefix: "rvr-chromium-" });
    const child = new Deno.Command(CHROMIUM_BIN, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-dev-shm-usage",
        "--mute-audio",
        "--hide-scrollbars",
        `--user-data-dir=${profile}`,
        "--remote-debugging-port=0",
        "--window-size=1280,1000",
        ...(options.args ?? []),
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const tail: string[] = [];
    let resolveUrl: (url: string) => void = () => {};
    const urlFound = new Promise<string>((resolve) => resolveUrl = resolve);
    // Reads stderr to its end (so the pipe never fills), keeping the last lines for diagnostics.
    const stderrDone = (async () => {
      let buffered = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        buffered += chunk;
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) {
          tail.push(line);
          if (tail.length > 40) tail.shift();
          const m = /DevTools listening on (ws:\/\/\S+)/.exec(line);
          if (m) resolveUrl(m[1]);
        }
      }
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const url = await Promise.race([
        urlFound,
        child.status.then((s) => {
          throw new Error(`chromium exited with code ${s.code} before DevTools was up`);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`chromium printed no DevTools URL within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
      const cdp = await CdpConnection.open(url);
      return new Chromium(child, cdp, profile, stderrDone, tail);
    } catch (error) {
      try {
        child.kill("SIGKILL");
      } catch (killError) {
        if (!(killError instanceof TypeError)) throw killError; // TypeError: already exited
      }
      await child.status;
      await stderrDone;
      await Deno.remove(profile, { recursive: true });
      throw new Error(
        `${(error as Error).message}; ${CHROMIUM_BIN} stderr:\n${tail.join("\n")}`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** A new page of `width` x `height` CSS pixels, attached and with Page/Runtime events on. */
  async newPage(width = 1280, height = 1000): Promise<CdpPage> {
    const { targetId } = await this.#cdp.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.#cdp.send("Target.attachToTarget", {
      targetId,
      flatten: true,
    });
    const page = new CdpPage(this.#cdp, sessionId as string);
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    await page.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    });
    return page;
  }

  /** Closes the browser (Browser.close, SIGKILL if it lingers) and removes the profile. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const exited = this.#child.status.then(() => true);
      // Browser.close may never be answered (the browser exits first): its error only matters
      // when the browser did not exit.
      const reply = this.#cdp.send("Browser.close").then(() => null, (e: Error) => e);
      const inTime = await Promise.race([
        exited,
        new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 10_000)),
      ]);
      if (!inTime) {
        const error = await Promise.race([reply, Promise.resolve(null)]);
        this.stderrTail.push(`Browser.close: ${error?.message ?? "no exit in 10 s"}; SIGKILL`);
      }
      if (!inTime) this.#child.kill("SIGKILL");
      await this.#child.status;
      await this.#cdp.close();
      await this.#stderrDone;
    } finally {
      clearTimeout(timer);
      await Deno.remove(this.#profile, { recursive: true });
    }
  }
}

/** A decoded PNG: RGBA pixels, row-major. */
export interface Image {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/** Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium's screenshots are). */
export async function decodePng(png: Uint8Array): Promise<Image> {
  const sig = [137, 80, 78, 71, 13, 10, 26, 10];
  if (!sig.every((b, i) => png[i] === b)) throw new Error("not a PNG: bad signature");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let width = 0, height = 0, colorType = -1;
  const idat: Uint8Array[] = [];
  for (let off = 8; off < png.length;) {
    const len = view.getUint32(off);
    const type = String.fromCharCode(...png.subarray(off + 4, off + 8));
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") {
      width = view.getUint32(off + 8);
      height = view.getUint32(off + 12);
      const depth = data[8];
      colorType = data[9];
      if (depth !== 8 || (colorType !== 2 && colorType !== 6) || data[12] !== 0) {
        throw new Error(
          `PNG depth ${depth}, colour type ${colorType}, interlace ${data[12]}: only 8-bit ` +
            `RGB/RGBA non-interlaced is decoded here`,
        );
      }
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    off += 12 + len;
  }
  const compressed = new Blob(idat as BlobPart[]).stream();
  const raw = new Uint8Array(
    await new Response(compressed.pipeThrough(new DecompressionStream("deflate"))).arrayBuffer(),
  );
  const bpp = colorType === 6 ? 4 : 3;
  const stride = width * bpp;
  if (raw.length !== height * (stride + 1)) {
    throw new Error(`PNG data is ${raw.length} bytes, expected ${height * (stride + 1)}`);
  }
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? out[i - bpp] : 0;
      const b = prev[i];
      const c = i >= bpp ? prev[i - bpp] : 0;
      let v: number;
      switch (filter) {
        case 0:
          v = src[i];
          break;
        case 1:
          v = src[i] + a;
          break;
        case 2:
          v = src[i] + b;
          break;
        case 3:
          v = src[i] + ((a + b) >> 1);
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          v = src[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          break;
        }
        default:
          throw new Error(`PNG row ${y} has unknown filter ${filter}`);
      }
      out[i] = v & 0xff;
    }
  }
  if (bpp === 4) return { width, height, rgba: pixels };
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0, j = 0; i < pixels.length; i += 3, j += 4) {
    rgba[j] = pixels[i];
    rgba[j + 1] = pixels[i + 1];
    rgba[j + 2] = pixels[i + 2];
    rgba[j + 3] = 255;
  }
  return { width, height, rgba };
}

/** Distinct colours in the rectangle (CSS px = image px at scale 1). */
export function distinctColours(
  img: Image,
  rect: { x: number; y: number; width: number; height: number } = {
    x: 0,
    y: 0,
    width: img.width,
    height: img.height,
  },
): number {
  const seen = new Set<number>();
  const x1 = Math.min(img.width, Math.round(rect.x + rect.width));
  const y1 = Math.min(img.height, Math.round(rect.y + rect.height));
  for (let y = Math.max(0, Math.round(rect.y)); y < y1; y++) {
    for (let x = Math.max(0, Math.round(rect.x)); x < x1; x++) {
      const i = (y * img.width + x) * 4;
      seen.add((img.rgba[i] << 16) | (img.rgba[i + 1] << 8) | img.rgba[i + 2]);
    }
  }
  return seen.size;
}

/** Pixels that differ between two images of the same size, inside `rect`. */
export function differingPixels(
  a: Image,
  b: Image,
  rect: { x: number; y: number; width: number; height: number },
): number {
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`images differ in size: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
  let n = 0;
  const x1 = Math.min(a.width, Math.round(rect.x + rect.width));
  const y1 = Math.min(a.height, Math.round(rect.y + rect.height));
  for (let y = Math.max(0, Math.round(rect.y)); y < y1; y++) {
    for (let x = Math.max(0, Math.round(rect.x)); x < x1; x++) {
      const i = (y * a.width + x) * 4;
      if (
        a.rgba[i] !== b.rgba[i] || a.rgba[i + 1] !== b.rgba[i + 1] ||
        a.rgba[i + 2] !== b.rgba[i + 2]
      ) n++;
    }
  }
  return n;
}

/**
 * Page-side source of a promise that polls `expression` on the page's own loop (every 25 ms)
 * and resolves `{ ok: true, value }` with its first truthy value, or `{ ok: false, value }`
 * with the last one after `timeoutMs`. Shared by {@link CdpPage.waitFor} and frame-level waits.
 */
export function pollScript(expression: string, timeoutMs: number): string {
  return `new Promise((resolve) => {
    const t0 = performance.now();
    let last;
    const check = () => {
      try { last = (${expression}); } catch (e) { last = "threw: " + e.message; }
      if (last && !(typeof last === "string" && last.startsWith("threw: "))) {
        resolve({ ok: true, value: last });
      } else if (performance.now() - t0 > ${timeoutMs}) {
        resolve({ ok: false, value: last });
      } else setTimeout(check, 25);
    };
    check();
  })`;
}
