import assert from "node:assert/strict";
import { ConfigError, helpText, loadConfig, OPTIONS } from "../src/config.ts";

Deno.test("config: defaults, environment, flags winning over the environment", async (t) => {
  await t.step("defaults", () => {
    const { config, command, help } = loadConfig([], {});
    assert.equal(command, "serve");
    assert.equal(help, false);
    assert.equal(config.serialPort, "auto");
    assert.equal(config.baudRate, 115200);
    assert.equal(config.maxSpeedPercent, 50);
    assert.equal(config.commandTimeout, 5);
    assert.equal(config.commandQueueSize, 100);
    assert.equal(config.circuitBreakerFailureThreshold, 5);
    assert.equal(config.circuitBreakerTimeout, 30);
    assert.equal(config.wakeTimeout, 5);
    assert.equal(config.autoConnect, true);
    assert.equal(config.heartbeatMs, 1000);
    assert.equal(config.httpPort, undefined);
    assert.equal(config.httpHost, "127.0.0.1");
    assert.equal(config.sensorInterval, 250);
  });
  await t.step("environment values are coerced", () => {
    const { config } = loadConfig([], {
      RVR_SERIAL_PORT: "/dev/ttyAMA0",
      RVR_BAUD_RATE: "9600",
      RVR_AUTO_CONNECT: "off",
      RVR_MAX_SPEED_PERCENT: "12.5",
      RVR_HTTP_PORT: "9464",
      RVR_LOG_FORMAT: "pretty",
    });
    assert.equal(config.serialPort, "/dev/ttyAMA0");
    assert.equal(config.baudRate, 9600);
    assert.equal(config.autoConnect, false);
    assert.equal(config.maxSpeedPercent, 12.5);
    assert.equal(config.httpPort, 9464);
    assert.equal(config.logFormat, "pretty");
  });
  await t.step("a flag wins over its variable; an empty variable means unset", () => {
    const { config } = loadConfig(["--max-speed-percent", "80", "--serial-port=sim"], {
      RVR_MAX_SPEED_PERCENT: "20",
      RVR_SERIAL_PORT: "/dev/serial0",
      RVR_COMMAND_TIMEOUT: "",
    });
    assert.equal(config.maxSpeedPercent, 80);
    assert.equal(config.serialPort, "sim");
    assert.equal(config.commandTimeout, 5);
  });
  await t.step("commands, extra flags and --help", () => {
    const parsed = loadConfig(["sim", "--port", "/tmp/x", "--asleep"], {}, {
      port: "string",
      asleep: "boolean",
    });
    assert.equal(parsed.command, "sim");
    assert.deepEqual(parsed.extra, { port: "/tmp/x", asleep: true });
    assert.equal(loadConfig(["--help"], {}).help, true);
  });
});

Deno.test("config: the `--` a Deno task passes on is read past, as `deno task start -- ...` sends it", async (t) => {
  const extra = { port: "string", asleep: "boolean" } as const;
  await t.step("deno task start -- --help", () => {
    const parsed = loadConfig(["--", "--help"], {});
    assert.equal(parsed.help, true);
    assert.equal(parsed.command, "serve");
  });
  await t.step("deno task sim -- --port X (the task's own `sim` comes before the `--`)", () => {
    const parsed = loadConfig(["sim", "--", "--port", "/tmp/x", "--asleep"], {}, extra);
    assert.equal(parsed.command, "sim");
    assert.deepEqual(parsed.extra, { port: "/tmp/x", asleep: true });
  });
  await t.step("deno task start -- sim --max-speed-percent=20 (a command after the `--`)", () => {
    const parsed = loadConfig(["--", "sim", "--max-speed-percent=20"], {}, extra);
    assert.equal(parsed.command, "sim");
    assert.equal(parsed.config.maxSpeedPercent, 20);
  });
  await t.step("settings before and after the `--` both count; the flag still wins", () => {
    const { config } = loadConfig(["--baud-rate", "9600", "--", "--serial-port=sim"], {
      RVR_SERIAL_PORT: "/dev/serial0",
    });
    assert.equal(config.baudRate, 9600);
    assert.equal(config.serialPort, "sim");
  });
  await t.step("what follows the `--` is checked like any flag", () => {
    assert.throws(() => loadConfig(["--", "--nope"], {}), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^Unknown option '--nope'; run with --help/);
      return true;
    });
    assert.throws(
      () => loadConfig(["--", "--baud-rate=12"], {}),
      /Invalid --baud-rate="12": allowed is/,
    );
    assert.throws(() => loadConfig(["serve", "--", "extra"], {}), /Unexpected argument "extra"/);
  });
  await t.step("only one `--` is read past: after a second one a word is a command again", () => {
    const parsed = loadConfig(["--", "--", "--help"], {});
    assert.equal(parsed.help, false);
    assert.equal(parsed.command, "--help"); // main answers: Unknown command "--help"
  });
});

Deno.test("config: every bad value is one line naming the setting, the value and what is allowed", async (t) => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [[], { RVR_BAUD_RATE: "12" }, /^Invalid RVR_BAUD_RATE="12": allowed is 9600, .*115200/],
    [
      [],
      { RVR_MAX_SPEED_PERCENT: "150" },
      /^Invalid RVR_MAX_SPEED_PERCENT="150": allowed is a number 0-100\.$/,
    ],
    [["--command-timeout=-1"], {}, /^Invalid --command-timeout="-1": allowed is a number 0-3600/],
    [
      ["--command-timeout", "-1"],
      {},
      /^Option '--command-timeout' argument is ambiguous .*--flag=-1/,
    ],
    [
      [],
      { RVR_AUTO_CONNECT: "maybe" },
      /^Invalid RVR_AUTO_CONNECT="maybe": allowed is true\/false/,
    ],
    [[], { RVR_LOG_LEVEL: "loud" }, /^Invalid RVR_LOG_LEVEL="loud": allowed is trace, debug, info/],
    [
      [],
      { RVR_HTTP_PORT: "70000" },
      /^Invalid RVR_HTTP_PORT="70000": allowed is an integer 0-65535/,
    ],
    [[], { RVR_SENSOR_INTERVAL: "10" }, /^Invalid RVR_SENSOR_INTERVAL="10": .*33 ms/],
    [
      [],
      { RVR_COMMAND_QUEUE_SIZE: "1.5" },
      /^Invalid RVR_COMMAND_QUEUE_SIZE="1.5": allowed is an integer/,
    ],
    [
      [],
      { RVR_APPROVAL: "raw_motor" },
      /^Invalid RVR_APPROVAL="raw_motor": "raw_motor" is not an approval item; allowed is "none", or/,
    ],
    [
      ["--approval", "none,raw_motors"],
      {},
      /^Invalid --approval="none,raw_motors": "none" cannot be combined with other items/,
    ],
    [
      [],
      { RVR_APPROVAL: "speed_limit_above:150" },
      /^Invalid RVR_APPROVAL="speed_limit_above:150": .*needs a percent 0-100 after the colon/,
    ],
    [["--nope"], {}, /^Unknown option '--nope'; run with --help/],
    [["serve", "extra"], {}, /^Unexpected argument "extra"/],
  ];
  for (const [args, env, pattern] of cases) {
    await t.step(`${args.join(" ")} ${JSON.stringify(env)}`, () => {
      assert.throws(() => loadConfig(args, env), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.exitCode, 2);
        assert.equal(e.message.includes("\n"), false, "one line");
        assert.match(e.message, pattern);
        return true;
      });
    });
  }
  await t.step("a bad API key is never echoed", () => {
    assert.throws(() => loadConfig([], { RVR_API_KEY: "hunter2" }), (e: Error) => {
      assert.equal(e.message.includes("hunter2"), false);
      assert.match(e.message, /RVR_API_KEY=<7 characters, not shown>/);
      return true;
    });
  });
});

Deno.test("config: --help names every variable, its flag and its default", () => {
  const text = helpText([["port PATH", "the tty"]]);
  for (const o of Object.values(OPTIONS)) {
    assert.ok(text.includes(`--${o.flag}, ${o.env}`), `help lists ${o.env}`);
  }
  assert.match(text, /RVR_MAX_SPEED_PERCENT \(default 50\)/);
  assert.match(text, /RVR_APPROVAL \(default clear_person_estop\)/);
  assert.match(text, /--port PATH/);
});

Deno.test("config: RVR_APPROVAL is parsed once into the policy the runtime takes", () => {
  const byDefault = loadConfig([], {}).config.approval;
  assert.deepEqual(byDefault.items(), ["clear_person_estop"]);
  const listed = loadConfig([], { RVR_APPROVAL: "raw_motors, speed_limit_above:70" }).config
    .approval;
  assert.deepEqual(listed.items(), ["clear_person_estop", "speed_limit_above:70", "raw_motors"]);
  assert.equal(listed.speedLimitNeedsApproval(80, 50), true);
  const flagWins = loadConfig(["--approval=none"], { RVR_APPROVAL: "raw_motors" }).config.approval;
  assert.equal(flagWins.none, true);
  assert.equal(flagWins.clearPersonEstop, false);
});
