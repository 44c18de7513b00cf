/**
 * A real nats-server for the fleet tests and benches, on a free loopback port: started, killed
 * (SIGKILL, as a crash) and started again on the same port. Ready means its log said
 * "Server is ready"; no fixed sleeps.
 */
import { LineReader } from "../e2e/_process.ts";

/** A loopback port nothing listens on now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

export class NatsServer {
  readonly port: number;
  readonly token: string | undefined;
  #child: Deno.ChildProcess | undefined;

  private constructor(port: number, token: string | undefined) {
    this.port = port;
    this.token = token;
  }

  /** Starts nats-server on a free port (with token auth when `token` is given). */
  static async start(options: { token?: string } = {}): Promise<NatsServer> {
    const server = new NatsServer(freePort(), options.token);
    await server.restart();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts it (again) on its port; resolves once it is ready for clients. */
  async restart(): Promise<void> {
    if (this.#child) throw new Error("nats-server is already running");
    const args = ["-a", "127.0.0.1", "-p", String(this.port)];
    if (this.token) args.push("--auth", this.token);
    const child = new Deno.Command("nats-server", { args, stdout: "null", stderr: "piped" })
      .spawn();
    this.#child = child;
    // The reader keeps reading its log until it exits (a full pipe would stall the server).
    const lines = new LineReader(child.stderr);
    await lines.waitFor((l) => l.includes("Server is ready"), "nats-server ready", 10_000);
  }

  /** SIGKILL, like a crash; resolves once it exited. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    child.kill("SIGKILL");
    await child.status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
  }
}
