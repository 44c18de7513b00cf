import assert from "node:assert/strict";
import { PortClosedError } from "../../src/core/byte_port.ts";
import { MemoryPort } from "../../src/link/memory_port.ts";
import { settle } from "../_helpers/mod.ts";

function collect(port: MemoryPort): { chunks: Uint8Array[]; closes: (Error | undefined)[] } {
  const chunks: Uint8Array[] = [];
  const closes: (Error | undefined)[] = [];
  port.start({ onData: (c) => chunks.push(c), onClose: (e) => closes.push(e) });
  return { chunks, closes };
}

Deno.test("MemoryPort", async (t) => {
  await t.step("pair names both ends and starts open", async () => {
    const [host, device] = MemoryPort.pair("x");
    assert.equal(host.path, "memory:x/host");
    assert.equal(device.path, "memory:x/device");
    assert.ok(host.isOpen && device.isOpen);
    await host.close();
  });

  await t.step("bytes flow both ways, in order, asynchronously, as copies", async () => {
    const [host, device] = MemoryPort.pair();
    const h = collect(host);
    const d = collect(device);
    const data = new Uint8Array([1, 2, 3]);
    const written = host.write(data);
    assert.equal(d.chunks.length, 0, "delivery is not synchronous");
    data[0] = 99; // the peer got a copy taken at write time
    await written;
    await host.write(new Uint8Array([4]));
    await device.write(new Uint8Array([5, 6]));
    await settle();
    assert.deepEqual(d.chunks.map((c) => [...c]), [[1, 2, 3], [4]]);
    assert.deepEqual(h.chunks.map((c) => [...c]), [[5, 6]]);
    assert.equal(host.bytesWritten, 4);
    assert.equal(device.bytesWritten, 2);
    await host.close();
  });

  await t.step("bytes that arrive before start are delivered at start", async () => {
    const [host, device] = MemoryPort.pair();
    await host.write(new Uint8Array([7]));
    await settle();
    const d = collect(device);
    assert.deepEqual(d.chunks.map((c) => [...c]), [[7]]);
    await host.close();
  });

  await t.step("start twice throws", async () => {
    const [host] = MemoryPort.pair();
    collect(host);
    assert.throws(() => collect(host), /already started/);
    await host.close();
  });

  await t.step("close ends both sides once, without an error; writes then reject", async () => {
    const [host, device] = MemoryPort.pair();
    const h = collect(host);
    const d = collect(device);
    await host.close();
    await host.close();
    await settle();
    assert.deepEqual(h.closes, [undefined]);
    assert.deepEqual(d.closes, [undefined]);
    assert.equal(device.isOpen, false);
    await assert.rejects(host.write(new Uint8Array([1])), PortClosedError);
    await assert.rejects(device.write(new Uint8Array([1])), PortClosedError);
    assert.throws(() => collect(host), PortClosedError);
  });
});
