/**
 * Telemetry on the fleet: a member publishes every aggregator window on
 * rvr.<fleet>.<robot>.telemetry, and proto/rvr/v1/telemetry.proto is the source of truth: a
 * published batch is decoded by a reader built from the .proto file at run time (buf's own
 * decoder, `buf convert`, a Go program independent of this project's TypeScript encoder). The
 * JSON format sends the same message in proto3's JSON mapping.
 */
import assert from "node:assert/strict";
import { FleetLink, Gateway } from "../../src/fleet/mod.ts";
import { NatsServer } from "./_nats.ts";
import { startMember, until, untilMember } from "./_members.ts";
import { ROOT } from "../e2e/_process.ts";

/** The first payload published on `subject` after `trigger()`. */
async function capture(
  link: FleetLink,
  subject: string,
  trigger: () => Promise<unknown>,
  match: (data: Uint8Array) => boolean,
): Promise<Uint8Array> {
  const nc = await link.ready();
  const { promise, resolve } = Promise.withResolvers<Uint8Array>();
  const sub = nc.subscribe(subject, {
    callback: (_e, msg) => {
      if (match(msg.data)) resolve(msg.data);
    },
  });
  await nc.flush();
  await trigger();
  try {
    return await promise;
  } finally {
    sub.unsubscribe();
  }
}

/** `buf convert`: the payload decoded against proto/ as proto3 JSON. */
async function bufDecode(payload: Uint8Array): Promise<Record<string, unknown>> {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/batch.binpb`;
    await Deno.writeFile(file, payload);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "@bufbuild/buf",
        "convert",
        "proto",
        "--type",
        "rvr.v1.TelemetryBatch",
        "--from",
        file,
        "--to",
        "-#format=json",
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.ok(out.success, `buf convert failed: ${stderr}`);
    return JSON.parse(new TextDecoder().decode(out.stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("fleet telemetry: the .proto decodes a published batch; JSON sends the same", async (t) => {
  await using nats = await NatsServer.start();
  const listener = new FleetLink({ servers: [nats.url], name: "test listener" });
  const binary = await startMember("t-bin", nats.url);
  const json = await startMember("t-json", nats.url, { format: "json" });
  try {
    await untilMember(
      [binary, json],
      () => binary.member.stats.joined && json.member.stats.joined,
      "both joined",
    );

    await t.step("protobuf: buf decodes the batch with the e-stop in it", async () => {
      const payload = await capture(
        listener,
        "rvr.default.t-bin.telemetry",
        () => binary.runtime.rvr.emergencyStop("api", { reason: "proto test" }),
        (data) => new TextDecoder().decode(data).includes("proto test"),
      );
      const batch = await bufDecode(payload) as {
        robotId: string;
        fleet: string;
        seq: string;
        simulated: boolean;
        openedAtMs: string;
        closedAtMs: string;
        events: { safety?: { type: string; detail: string }; state?: { aspect: string } }[];
      };
      assert.equal(batch.robotId, "t-bin");
      assert.equal(batch.fleet, "default");
      assert.equal(batch.simulated, true);
      assert.ok(Number(batch.seq) >= 1);
      assert.ok(Number(batch.closedAtMs) >= Number(batch.openedAtMs));
      const estop = batch.events.find((e) => e.safety?.type === "estop");
      assert.ok(estop, `an estop safety event in ${JSON.stringify(batch.events)}`);
      assert.match(estop.safety?.detail ?? "", /proto test/);
      assert.ok(batch.events.some((e) => e.state?.aspect === "safety"), "the safety state change");
    });

    await t.step("json: the same message in proto3 JSON", async () => {
      const payload = await capture(
        listener,
        "rvr.default.t-json.telemetry",
        () => json.runtime.rvr.emergencyStop("api", { reason: "json test" }),
        (data) => new TextDecoder().decode(data).includes("json test"),
      );
      const batch = JSON.parse(new TextDecoder().decode(payload));
      assert.equal(batch.robotId, "t-json");
      assert.equal(batch.fleet, "default");
      assert.ok(
        batch.events.some((e: { safety?: { type: string } }) => e.safety?.type === "estop"),
      );
    });

    await t.step("the gateway's fan-in counts every batch from both formats", async () => {
      const link = new FleetLink({ servers: [nats.url], name: "test gateway" });
      const gateway = new Gateway({ link, fleet: "default", pollMs: 200 });
      gateway.start();
      try {
        await link.ready();
        // Movement makes events in every window: samples would too; e-stop and clear suffice.
        for (const m of [binary, json]) {
          m.runtime.rvr.clearEmergencyStop("test");
          await m.runtime.rvr.emergencyStop("api", { reason: "fan-in" });
        }
        await until(
          () =>
            ["t-bin", "t-json"].every((id) =>
              (gateway.telemetry.counts.get(id)?.received ?? 0) > 0
            ),
          "batches from both robots",
        );
        assert.equal(gateway.telemetry.undecodable, 0);
        for (const id of ["t-bin", "t-json"]) {
          assert.equal(gateway.telemetry.counts.get(id)?.lost, 0);
        }
      } finally {
        gateway.close();
        await link.close();
      }
    });
  } finally {
    await binary.close();
    await json.close();
    await listener.close();
  }
});
