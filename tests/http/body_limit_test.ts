/**
 * Bounded request bodies (src/http/body_limit.ts) and the side port's use of them: a 20 MB body is
 * refused having read at most the limit and one chunk (counted at the source, in process), from
 * Content-Length before a single body byte is sent (over a real socket), or while streaming; a
 * POST /estop over the limit still stops the robot. Nothing here measures wall time.
 */
import assert from "node:assert/strict";
import {
  BodyTooLargeError,
  checkBodyLimit,
  DEFAULT_MAX_BODY_BYTES,
  readBody,
} from "../../src/http/mod.ts";
import { loadConfig } from "../../src/config.ts";
import { assertJson, bodySource, bounded, makeSideRig, request } from "./_side_port.ts";

const MB20 = 20_000_000;
/** The chunk bodySource pulls (its default). */
const CHUNK = 64 * 1024;

const post = (body: BodyInit, headers: HeadersInit = {}) =>
  new Request("http://127.0.0.1/estop", { method: "POST", body, headers });

Deno.test("readBody: the default limit is 1 MiB, and the setting's default is the same", () => {
  assert.equal(DEFAULT_MAX_BODY_BYTES, 1024 * 1024);
  assert.equal(loadConfig([], {}).config.maxBodyBytes, DEFAULT_MAX_BODY_BYTES);
  assert.equal(loadConfig(["--max-body-bytes", "4096"], {}).config.maxBodyBytes, 4096);
  assert.throws(
    () => loadConfig([], { RVR_MAX_BODY_BYTES: "12" }),
    /Invalid RVR_MAX_BODY_BYTES="12": allowed is an integer 1024-1073741824 \(bytes\)\./,
  );
  assert.throws(
    () => checkBodyLimit(0),
    /whole number of bytes >= 1 \(RVR_MAX_BODY_BYTES\), got 0/,
  );
});

Deno.test("readBody: 20 MB streamed is refused after the limit and one chunk, the rest never pulled", async () => {
  const { stream, pulled } = bodySource(MB20);
  const error = await readBody(post(stream), { maxBytes: DEFAULT_MAX_BODY_BYTES }).then(
    () => assert.fail("a 20 MB body was accepted"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof BodyTooLargeError, String(error));
  assert.equal(error.status, 413);
  assert.equal(error.declaredBytes, undefined);
  assert.ok(error.readBytes > DEFAULT_MAX_BODY_BYTES, "refused once past the limit");
  assert.ok(error.readBytes <= DEFAULT_MAX_BODY_BYTES + CHUNK, `read ${error.readBytes}`);
  assert.ok(pulled() <= DEFAULT_MAX_BODY_BYTES + 2 * CHUNK, `pulled ${pulled()} of ${MB20}`);
  assert.equal(
    error.message,
    `Payload too large: the request body passed the limit of 1048576 bytes (RVR_MAX_BODY_BYTES) ` +
      `at ${error.readBytes} bytes and was not read further; send a smaller body, or raise ` +
      "RVR_MAX_BODY_BYTES.",
  );
});

Deno.test("readBody: a declared 20 MB is refused from Content-Length, nothing pulled", async () => {
  const { stream, pulled } = bodySource(MB20);
  const req = post(stream, { "content-length": String(MB20) });
  const error = await readBody(req, { maxBytes: DEFAULT_MAX_BODY_BYTES }).catch((e: unknown) => e);
  assert.ok(error instanceof BodyTooLargeError, String(error));
  assert.equal(error.declaredBytes, MB20);
  assert.equal(error.readBytes, 0);
  assert.equal(pulled(), 0);
  assert.match(error.message, /the request body of 20000000 bytes \(Content-Length\) is over/);
});

Deno.test("readBody: bodies within the limit come back whole (or counted and dropped)", async () => {
  const bytes = Uint8Array.from({ length: 3 * CHUNK + 17 }, (_, i) => i % 251);
  const chunked = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < bytes.length; at += CHUNK) {
        controller.enqueue(bytes.slice(at, at + CHUNK));
      }
      controller.close();
    },
  });
  assert.deepEqual(await readBody(post(chunked), { maxBytes: bytes.length }), bytes);
  const { stream } = bodySource(4096);
  assert.equal((await readBody(post(stream), { maxBytes: 4096, discard: true })).length, 0);
  const empty = new Request("http://127.0.0.1/metrics");
  assert.equal((await readBody(empty, { maxBytes: 1 })).length, 0);
  const text = new TextEncoder().encode('{"jsonrpc":"2.0"}');
  assert.deepEqual(await readBody(post(text), { maxBytes: text.length }), text);
  await assert.rejects(readBody(post(text), { maxBytes: text.length - 1 }), BodyTooLargeError);
});

/** Sends the head of a request on a raw socket; returns the status line and body of the answer. */
async function headOnly(url: string, head: string): Promise<{ status: string; body: string }> {
  const u = new URL(url);
  const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
  try {
    await conn.write(new TextEncoder().encode(head.replaceAll("\n", "\r\n") + "\r\n"));
    let text = "";
    const buf = new Uint8Array(4096);
    // Read until the JSON body of the answer has arrived (the connection may stay open).
    while (!/\r\n\r\n[\s\S]*\}\n/.test(text)) {
      const n = await bounded(conn.read(buf), "the answer to a request head");
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    const [status] = text.split("\r\n");
    return { status, body: text.slice(text.indexOf("\r\n\r\n") + 4) };
  } finally {
    conn.close();
  }
}

Deno.test("side port: bodies over the limit get 413 before they are read; /estop stops anyway", async (t) => {
  const limit = 64 * 1024;
  const rig = await makeSideRig({ maxBodyBytes: limit });
  try {
    await t.step("Content-Length 20 MB: 413 before one body byte is sent", async () => {
      const port = new URL(rig.url).port;
      for (const path of ["/metrics", "/healthz"]) {
        const answer = await headOnly(
          rig.url,
          `GET ${path} HTTP/1.1\nHost: 127.0.0.1:${port}\nContent-Length: ${MB20}\n`,
        );
        assert.equal(answer.status, "HTTP/1.1 413 Payload Too Large", path);
        assert.match(
          String(assertJson(answer.body).error),
          /the request body of 20000000 bytes \(Content-Length\) is over the limit of 65536 bytes \(RVR_MAX_BODY_BYTES\)/,
        );
      }
    });

    await t.step("POST /estop streaming 20 MB: stopped, then 413 once past the limit", async () => {
      const before = rig.wire.received("drive_stop").length;
      const { stream, pulled } = bodySource(MB20);
      const res = await bounded(
        fetch(`${rig.url}/estop`, { method: "POST", body: stream }),
        "POST /estop with 20 MB",
      );
      const body = assertJson(await res.text());
      assert.equal(res.status, 413);
      assert.equal(body.estop, true);
      assert.equal(body.sent, true);
      const read = Number(/at (\d+) bytes and was not read further/.exec(String(body.error))?.[1]);
      assert.ok(read > limit && read <= limit + CHUNK, `the server read ${read} bytes`);
      assert.match(String(body.error), /The emergency stop was engaged anyway/);
      assert.ok(pulled() < MB20, `the upload was cut off (${pulled()} bytes left the client)`);
      assert.equal(rig.wire.received("drive_stop").length, before + 1, "drive_stop on the wire");
      assert.equal(rig.runtime.safety.estopLatched, true);
    });

    await t.step(
      "a body within the limit is read and dropped: the route answers as always",
      async () => {
        const r = await request(`${rig.url}/estop`, { method: "POST", body: "x".repeat(limit) });
        assert.equal(r.status, 200);
        assert.equal(assertJson(r.text).estop, true);
      },
    );
  } finally {
    await rig.close();
  }
});

Deno.test("side port with a key: a big body without the key gets 401 unread", async () => {
  const key = "k".repeat(24);
  const rig = await makeSideRig({ apiKey: key, maxBodyBytes: 1024 });
  try {
    const port = new URL(rig.url).port;
    const answer = await headOnly(
      rig.url,
      `POST /estop HTTP/1.1\nHost: 127.0.0.1:${port}\nContent-Length: ${MB20}\n`,
    );
    assert.equal(answer.status, "HTTP/1.1 401 Unauthorized");
    assert.equal(rig.runtime.safety.estopLatched, false, "no key, no stop");
  } finally {
    await rig.close();
  }
});
