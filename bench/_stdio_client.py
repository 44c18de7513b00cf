#!/usr/bin/env python3
"""A lean MCP client on a server's stdio, for bench/peer_side_bench.ts: the program's side of the
side-by-side bench timed the way the SDK's side is, from Python with time.perf_counter(), so the
client adds as little as it can to what is measured (one os.write per request, blocking os.read
for the answer, json for both).

    python3 bench/_stdio_client.py --n 300 -- deno run -A main.ts

Starts the server command, initializes (protocol 2025-06-18), waits for its "Ready:" log line on
stderr, warms up, then times N tools/call of get_ambient_light and of get_battery_status and
prints one JSON line: {"ambient_ms": {p50, p95, max}, "battery_status_3_ms": {...}}. A tool that
answers isError, a server that exits, or a wait over 30 s fails the script with the reason and the
server's last log lines on stderr.
"""
import argparse, json, os, statistics, subprocess, sys, threading, time


def summary(xs):
    xs = sorted(xs)
    return {"p50": round(statistics.median(xs), 3), "p95": round(xs[int(0.95 * (len(xs) - 1))], 3),
            "max": round(xs[-1], 3)}


class Client:
    def __init__(self, command):
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, bufsize=0)
        self.log = []
        self.ready = threading.Event()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.buffer = b""
        self.next_id = 0

    def _drain_stderr(self):
        for line in self.proc.stderr:
            text = line.decode("utf-8", "replace").rstrip("\n")
            self.log = (self.log + [text])[-20:]
            if "Ready:" in text:
                self.ready.set()

    def fail(self, why):
        sys.stderr.write(f"_stdio_client: {why}\nserver log (last lines):\n" + "\n".join(self.log) + "\n")
        self.proc.kill()
        sys.exit(1)

    def send(self, message):
        os.write(self.proc.stdin.fileno(), (json.dumps(message) + "\n").encode())

    def request(self, method, params):
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            newline = self.buffer.find(b"\n")
            while newline < 0:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    self.fail(f"the server closed stdout while {method} waited for its answer")
                self.buffer += chunk
                newline = self.buffer.find(b"\n")
            line, self.buffer = self.buffer[:newline], self.buffer[newline + 1:]
            message = json.loads(line)
            if message.get("id") != self.next_id:
                continue  # a notification
            if "error" in message:
                self.fail(f"{method} answered an error: {message['error']}")
            return message["result"]

    def call_tool(self, name):
        result = self.request("tools/call", {"name": name, "arguments": {}})
        if result.get("isError"):
            self.fail(f"{name} failed: {result.get('content')}")


def timed(n, fn):
    for _ in range(20):
        fn()
    xs = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t) * 1e3)
    return summary(xs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    command = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not command:
        ap.error("give the server command after --")
    client = Client(command)
    client.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                  "clientInfo": {"name": "peer-side-bench-py", "version": "1"}})
    client.send({"jsonrpc": "2.0", "method": "notifications/initialized", "params": {}})
    if not client.ready.wait(30):
        client.fail("no 'Ready:' from the server within 30 s")
    out = {"ambient_ms": timed(a.n, lambda: client.call_tool("get_ambient_light")),
           "battery_status_3_ms": timed(a.n, lambda: client.call_tool("get_battery_status"))}
    client.proc.stdin.close()
    try:
        client.proc.wait(10)
    except subprocess.TimeoutExpired:
        client.fail("the server did not exit within 10 s of stdin's end")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
