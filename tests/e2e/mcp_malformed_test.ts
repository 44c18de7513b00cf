/**
 * Issue 13 end to end, on one real process serving MCP on stdio and over HTTP (the simulator):
 * every malformed request gets its JSON-RPC error with its id on both transports (none is left
 * unanswered); a prototype key in tool arguments is refused on both; a 20 MB body and a 20 MB
 * stdio line are refused after reading about the limit (bytes read asserted; timing is in
 * bench/mcp_limits_bench.ts), RSS does not grow by the payload, and while the long line is still
 * arriving the HTTP side answers a tool call and an emergency stop.
 */
import assert from "node:assert/strict";
import { type LineReader, spawnMain } from "./_process.ts";
import { StdioRpc } from "./_jsonrpc.ts";

/** [what, line, id the answer carries, JSON-RPC code, what its message says]. */
const MALFORMED: readonly [string, string, string | number | null, number, RegExp][] = [
  [
    "params a string",
    `{"jsonrpc":"2.0","id":"p1","method":"tools/call","params":"not-an-object"}`,
    "p1",
    -32602,
    /params must be an object.*"not-an-object"/,
  ],
  [
    "params a number",
    `{"jsonrpc":"2.0","id":"p2","method":"tools/call","params":12345}`,
    "p2",
    -32602,
    /params must be an object.*12345/,
  ],
  [
    "params an array",
    `{"jsonrpc":"2.0","id":"p3","method":"tools/call","params":[1,2,3]}`,
    "p3",
    -32602,
    /params must be an object.*\[1,2,3\]/,
  ],
  [
    "params null",
    `{"jsonrpc":"2.0","id":"p4","method":"tools/call","params":null}`,
    "p4",
    -32602,
    /params must be an object.*null/,
  ],
  [
    'ping with params "x"',
    `{"jsonrpc":"2.0","id":"p5","method":"ping","params":"x"}`,
    "p5",
    -32602,
    /ping: params must be an object/,
  ],
  [
    "jsonrpc 1.0",
    `{"jsonrpc":"1.0","id":"r1","method":"ping"}`,
    "r1",
    -32600,
    /jsonrpc must be "2.0", got "1.0"/,
  ],
  ["no jsonrpc", `{"id":"r2","method":"ping"}`, "r2", -32600, /jsonrpc must be "2.0", got nothing/],
  [
    "method a number",
    `{"jsonrpc":"2.0","id":"r3","method":42}`,
    "r3",
    -32600,
    /method must be a non-empty string, got 42/,
  ],
  ["no method", `{"jsonrpc":"2.0","id":"r4"}`, "r4", -32600, /no method/],
  [
    "a progress token that is an object",
    `{"jsonrpc":"2.0","id":"q8","method":"tools/call","params":{"name":"stop","_meta":{"progressToken":{}}}}`,
    "q8",
    -32602,
    /tools\/call: params\._meta\.progressToken: .*got \{\}/,
  ],
  [
    "a member JSON-RPC does not have",
    `{"jsonrpc":"2.0","id":"r5","method":"ping","extra":1}`,
    "r5",
    -32600,
    /unknown member "extra"; a JSON-RPC 2\.0 request has only jsonrpc, id, method and params/,
  ],
  [
    "a fractional id",
    `{"jsonrpc":"2.0","id":1.5,"method":"ping"}`,
    1.5,
    -32600,
    /id must be a string or an integer, got 1\.5/,
  ],
  ["not JSON", `{"jsonrpc":"2.0","id":"x1",`, null, -32700, /Parse error: the message is not JSON/],
  ["a batch", `[{"jsonrpc":"2.0","id":"b1","method":"ping"}]`, null, -32600, /batch/],
  [
    "tool name a number",
    `{"jsonrpc":"2.0","id":"q1","method":"tools/call","params":{"name":5}}`,
    "q1",
    -32602,
    /tools\/call: params\.name: expected string, got 5\.$/,
  ],
  [
    "arguments [1]",
    `{"jsonrpc":"2.0","id":"q2","method":"tools/call","params":{"name":"stop","arguments":[1]}}`,
    "q2",
    -32602,
    /params\.arguments: expected an object, got \[1\]/,
  ],
  [
    'arguments "str"',
    `{"jsonrpc":"2.0","id":"q3","method":"tools/call","params":{"name":"stop","arguments":"str"}}`,
    "q3",
    -32602,
    /params\.arguments: expected an object, got "str"/,
  ],
  [
    "params {}",
    `{"jsonrpc":"2.0","id":"q4","method":"tools/call","params":{}}`,
    "q4",
    -32602,
    /params\.name: expected string, got nothing/,
  ],
  [
    "a numeric cursor",
    `{"jsonrpc":"2.0","id":"q5","method":"tools/list","params":{"cursor":5}}`,
    "q5",
    -32602,
    /tools\/list: params\.cursor: expected string, got 5/,
  ],
  [
    "a numeric uri",
    `{"jsonrpc":"2.0","id":"q6","method":"resources/read","params":{"uri":5}}`,
    "q6",
    -32602,
    /resources\/read: params\.uri: expected string, got 5/,
  ],
  [
    'level "loudest"',
    `{"jsonrpc":"2.0","id":"q7","method":"logging/setLevel","params":{"level":"loudest"}}`,
    "q7",
    -32602,
    /params\.level: expected one of "debug"\|.*"emergency", got "loudest"/,
  ],
];

/** Tool calls with a prototype key: each an isError result naming it, the robot untouched. */
const PROTOTYPE_CALLS: readonly [string, Record<string, unknown>][] = [
  ["get_safety_status", {}],
  ["stop", {}],
  ["set_speed_limit", { percent: 50 }],
];

/** `{..., "__proto__": {"polluted": true}}` as JSON text (an object literal cannot say it). */
function protoCall(id: string, name: string, args: Record<string, unknown>): string {
  const inner = JSON.stringify(args).slice(1, -1);
  const withProto = `{${inner}${inner ? "," : ""}"__proto__":{"polluted":true}}`;
  return `{"jsonrpc":"2.0","id":"${id}","method":"tools/call","params":{"name":"${name}",` +
    `"arguments":${withProto}}}`;
}

/** The next stdout line after the first `from` lines that `test` accepts. */
function nextLine(
  out: LineReader,
  from: number,
  test: (m: Record<string, unknown>) => boolean,
  what: string,
) {
  let index = 0;
  return out.waitFor((line) => {
    if (index++ < from) return false;
    try {
      return test(JSON.parse(line));
    } catch {
      return false;
    }
  }, what);
}

function rssBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  assert.ok(kb > 0, `VmRSS of ${pid}`);
  return kb * 1024;
}

interface Http {
  url: string;
  session: string;
  post(body: BodyInit, headers?: Record<string, string>): Promise<Response>;
}

async function openHttp(stderr: LineReader): Promise<Http> {
  const line = await stderr.waitFor((l) => l.includes("MCP over Streamable HTTP at"), "MCP HTTP");
  const url = String(JSON.parse(line).url);
  const base = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
  };
  const init = await fetch(url, {
    method: "POST",
    headers: base,
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "malformed", version: "1" },
      },
    }),
  });
  await init.body?.cancel();
  const session = init.headers.get("mcp-session-id");
  assert.ok(session, `initialize gave a session (${init.status})`);
  const headers = { ...base, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" };
  const initialized = await fetch(url, {
    method: "POST",
    headers,
    body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`,
  });
  await initialized.body?.cancel();
  return {
    url,
    session,
    post: (body, extra = {}) =>
      fetch(url, { method: "POST", headers: { ...headers, ...extra }, body }),
  };
}

/** The JSON-RPC message with `id` in a response body (JSON, or an SSE stream of them). */
async function answerOf(
  res: Response,
  id: string | number | null,
): Promise<Record<string, unknown>> {
  const text = await res.text();
  const messages = (res.headers.get("content-type") ?? "").includes("text/event-stream")
    ? text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6)))
    : [JSON.parse(text)];
  const found = messages.find((m) => m.id === id);
  assert.ok(found, `an answer with id ${id} in ${text.slice(0, 300)}`);
  return found;
}

function start() {
  return spawnMain([], { RVR_SERIAL_PORT: "sim", RVR_MCP_HTTP_PORT: "0" });
}

async function stop(server: ReturnType<typeof start>, rpc: StdioRpc): Promise<void> {
  await rpc.close();
  const status = await server.child.status;
  await Promise.all([server.stdout.done, server.stderr.done]);
  assert.equal(status.code, 0, server.stderr.lines.slice(-20).join("\n"));
  rpc.assertOnlyJsonRpc();
}

Deno.test("every malformed request gets its JSON-RPC error with its id, over stdio and over HTTP", async () => {
  const server = start();
  const rpc = new StdioRpc(server.child.stdin, server.stdout);
  try {
    await rpc.initialize();
    const http = await openHttp(server.stderr);
    for (const [what, line, id, code, says] of MALFORMED) {
      // stdio: written raw; the answer is the next line with this id.
      const from = server.stdout.lines.length;
      await rpc.writeRaw(line + "\n");
      const answer = JSON.parse(
        await nextLine(server.stdout, from, (m) => m.id === id, `the answer to ${what} on stdio`),
      );
      assert.equal(answer.jsonrpc, "2.0", what);
      assert.equal(answer.error?.code, code, `${what} on stdio: ${JSON.stringify(answer)}`);
      assert.match(answer.error.message, says, `${what} on stdio`);
      assert.doesNotMatch(answer.error.message, /\n/, `${what}: one line`);

      // HTTP, in a 2025-era session: in-band (200) for a request's params, else 400.
      const res = await http.post(line);
      assert.equal(res.status, code === -32602 ? 200 : 400, `${what} over HTTP`);
      const viaHttp = await answerOf(res, id);
      assert.equal((viaHttp.error as { code: number }).code, code, `${what} over HTTP`);
      assert.match((viaHttp.error as { message: string }).message, says, `${what} over HTTP`);
    }
    // Still serving after all that, on both.
    assert.deepEqual(await rpc.request("ping"), {});
    assert.equal((await http.post(`{"jsonrpc":"2.0","id":"ok","method":"ping"}`)).status, 200);

    for (const [name, args] of PROTOTYPE_CALLS) {
      const from = server.stdout.lines.length;
      await rpc.writeRaw(protoCall(`s-${name}`, name, args) + "\n");
      const onStdio = JSON.parse(
        await nextLine(server.stdout, from, (m) => m.id === `s-${name}`, `${name} on stdio`),
      );
      const viaHttp = await answerOf(
        await http.post(protoCall(`h-${name}`, name, args)),
        `h-${name}`,
      );
      for (const [how, answer] of [["stdio", onStdio], ["HTTP", viaHttp]] as const) {
        const result = answer.result as { isError?: boolean; content: { text: string }[] };
        assert.equal(result.isError, true, `${name} with __proto__ over ${how} is refused`);
        assert.match(
          result.content[0].text,
          new RegExp(
            `^Input validation error: ${name}: unknown argument "__proto__" \\(a prototype key`,
          ),
          `${name} over ${how}`,
        );
      }
    }
    // The same calls without the key pass: the refusal was the key's.
    const limit = await rpc.callTool("set_speed_limit", { percent: 50 });
    assert.equal(limit.isError, undefined, JSON.stringify(limit));
  } finally {
    await stop(server, rpc);
  }
});

Deno.test("a 20 MB body and a 20 MB stdio line are refused after about the limit; HTTP and an e-stop are served meanwhile", async () => {
  const server = start();
  const rpc = new StdioRpc(server.child.stdin, server.stdout);
  const encoder = new TextEncoder();
  const limit = 1024 * 1024; // RVR_MAX_BODY_BYTES's default
  try {
    await rpc.initialize();
    const http = await openHttp(server.stderr);
    await server.stderr.waitFor((l) => l.includes("Ready:"), "the robot");
    const pid = server.child.pid;
    const idle = rssBytes(pid);

    // 20 MB declared: refused from Content-Length, nothing read.
    const big = new Uint8Array(20 * 1024 * 1024).fill(0x20);
    const declared = await http.post(big);
    assert.equal(declared.status, 413);
    const declaredError = await declared.json();
    assert.match(
      declaredError.error.message,
      /of 20971520 bytes \(Content-Length\) is over the limit of 1048576 bytes \(RVR_MAX_BODY_BYTES\)/,
    );

    // 20 MB streamed without a length: refused once the limit is passed, the rest unread.
    let offered = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offered >= big.length) return controller.close();
        const chunk = big.subarray(offered, offered + 64 * 1024);
        offered += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const streamed = await http.post(stream);
    assert.equal(streamed.status, 413);
    const streamedError = await streamed.json();
    const read = Number(
      /at (\d+) bytes and was not read further/.exec(streamedError.error.message)?.[1],
    );
    assert.ok(read > limit && read <= limit + 256 * 1024, `read ${read} bytes of 20 MB`);
    const afterBodies = rssBytes(pid);
    assert.ok(
      afterBodies - idle < big.length,
      `RSS grew ${afterBodies - idle} bytes, not by 20 MB`,
    );

    // A 20 MB line (as large as the body, so the RSS check below is not lost in the noise of a
    // loaded machine: a few MB): the first 1.5 MB, then the refusal arrives before the rest.
    const line = new Uint8Array(20 * 1024 * 1024).fill(0x61);
    line.set(encoder.encode(`{"jsonrpc":"2.0","id":"huge","method":"ping","params":{"pad":"`));
    const from = server.stdout.lines.length;
    const chunk = 64 * 1024;
    let written = 0;
    for (; written < 1.5 * 1024 * 1024; written += chunk) {
      await rpc.writeRaw(line.subarray(written, written + chunk));
    }
    const refusal = JSON.parse(
      await nextLine(server.stdout, from, (m) => m.id === null, "the refusal of the long line"),
    );
    assert.equal(refusal.error.code, -32600);
    const lineRead = Number(
      /limit of 1048576 bytes \(RVR_MAX_BODY_BYTES\) at (\d+) bytes/.exec(refusal.error.message)
        ?.[1],
    );
    assert.ok(
      lineRead > limit && lineRead <= limit + chunk,
      `the line was refused at ${lineRead} bytes`,
    );

    // The line is still open (18.5 MB to come): HTTP answers a tool call and an emergency stop.
    const status = await answerOf(
      await http.post(
        `{"jsonrpc":"2.0","id":"st","method":"tools/call","params":{"name":"get_safety_status","arguments":{}}}`,
      ),
      "st",
    );
    assert.equal(
      (status.result as { isError?: boolean }).isError,
      undefined,
      JSON.stringify(status),
    );
    const estop = await answerOf(
      await http.post(
        `{"jsonrpc":"2.0","id":"es","method":"tools/call","params":{"name":"emergency_stop","arguments":{}}}`,
      ),
      "es",
    );
    const stopped = estop.result as {
      isError?: boolean;
      structuredContent: Record<string, unknown>;
    };
    assert.equal(stopped.isError, undefined, JSON.stringify(estop));
    assert.ok(written < line.length, "both were answered before the long line was written whole");

    for (; written < line.length; written += chunk) {
      await rpc.writeRaw(line.subarray(written, Math.min(line.length, written + chunk)));
    }
    await rpc.writeRaw(`"}}\n`);
    // Reading resynced at the newline: the next request is answered, and it is the only answer
    // since the refusal (the long line got one, not two).
    assert.deepEqual(await rpc.request("ping"), {});
    const answers = server.stdout.lines.slice(from).map((l) => JSON.parse(l));
    assert.equal(answers.filter((m) => m.id === null).length, 1, "one refusal for the long line");
    assert.equal(
      answers.filter((m) => m.id === "huge").length,
      0,
      "the long line was never parsed",
    );
    const afterLine = rssBytes(pid);
    assert.ok(
      afterLine - afterBodies < line.length,
      `RSS grew ${afterLine - afterBodies} bytes over the line`,
    );
    // The e-stop latched: movement over stdio is refused.
    const refused = await rpc.callTool("drive_with_heading", { speed: 50, heading: 0 });
    assert.equal(refused.isError, true);
  } finally {
    await stop(server, rpc);
  }
});
