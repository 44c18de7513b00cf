import assert from "node:assert/strict";
import { isLoopback, loopbackHostHeaders } from "../../src/http/auth.ts";

Deno.test("auth: loopback hosts, and the Host headers a loopback-bound server accepts", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) assert.ok(isLoopback(h), h);
  for (const h of ["0.0.0.0", "192.168.1.5", "example.com", "[::1]"]) {
    assert.ok(!isLoopback(h), h);
  }
  assert.deepEqual(loopbackHostHeaders(9100), ["127.0.0.1:9100", "localhost:9100", "[::1]:9100"]);
});
