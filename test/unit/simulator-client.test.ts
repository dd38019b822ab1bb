import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { jwtVerify } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DeviceClient, type DeviceIdentity } from "../../tools/simulator/client";
import {
  type ClockDeps,
  VirtualClock,
  parseSpeed,
  spanEndingAt,
} from "../../tools/simulator/clock";
import { defaultMachines, runSimulation } from "../../tools/simulator/simulator";

interface Received {
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

/** A stub device endpoint on 127.0.0.1:0; `answer` decides each response's status. */
class StubDevice {
  readonly received: Received[] = [];
  answer: (req: Received, n: number) => number = () => 200;
  private server: Server | null = null;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const r: Received = {
          path: req.url ?? "",
          authorization: req.headers.authorization,
          body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>,
        };
        this.received.push(r);
        const status = this.answer(r, this.received.length);
        const body =
          status === 200
            ? { message: "received", NewWashThreshold: null, NewSpinThreshold: null }
            : {
                error: { code: status === 429 ? "rate_limited" : "invalid_body", message: "stub" },
              };
        res.writeHead(status, {
          "content-type": "application/json",
          ...(status === 429 ? { "retry-after": "1" } : {}),
        });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/demo-washcall/asia-northeast3/device`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/** A fake clock: sleeping advances it, and every requested sleep is recorded. */
function fakeClock(startMs: number): ClockDeps & { sleeps: number[] } {
  let now = startMs;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: (ms) => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

const NOW = Date.UTC(2025, 10, 15, 7, 0, 0);
const washer = (auth: "secret" | "jwt"): DeviceIdentity => ({
  id: "3",
  type: "washer",
  secret: "demo-secret-3",
  auth,
});
const report = {
  status: "WASHING" as const,
  timestamp: NOW / 1000 - 60,
  battery: 90,
  magnitudes: null,
};

let stub: StubDevice;
beforeEach(async () => {
  stub = new StubDevice();
  await stub.start();
});
afterEach(async () => {
  await stub.stop();
});

describe("DeviceClient", () => {
  it("retries a 429 after 1 s with the same body and records both attempts", async () => {
    stub.answer = (_r, n) => (n === 1 ? 429 : 200);
    const clock = fakeClock(NOW);
    const client = new DeviceClient({ baseUrl: stub.url, clock });
    const result = await client.sendUpdate(washer("secret"), report);

    expect(result.ok).toBe(true);
    expect(result.status).toBe(200);
    expect(result.attempts.map((a) => a.status)).toEqual([429, 200]);
    expect(clock.sleeps).toContain(1000);
    expect(stub.received).toHaveLength(2);
    expect(stub.received[1].body).toEqual(stub.received[0].body);
    expect(stub.received[0].path).toBe("/demo-washcall/asia-northeast3/device/update");
  });

  it("gives up on 429 after the configured retries and reports the failure", async () => {
    stub.answer = () => 429;
    const client = new DeviceClient({ baseUrl: stub.url, clock: fakeClock(NOW), max429Retries: 2 });
    const result = await client.sendUpdate(washer("secret"), report);
    expect(result.ok).toBe(false);
    expect(result.attempts.map((a) => a.status)).toEqual([429, 429, 429]);
  });

  it("does not retry a 400", async () => {
    stub.answer = () => 400;
    const client = new DeviceClient({ baseUrl: stub.url, clock: fakeClock(NOW) });
    const result = await client.sendUpdate(washer("secret"), report);
    expect(result.ok).toBe(false);
    expect(result.status).toBe(400);
    expect(stub.received).toHaveLength(1);
    expect(result.body).toEqual({ error: { code: "invalid_body", message: "stub" } });
  });

  it("retries a network error and records it as a null status", async () => {
    let calls = 0;
    const flaky: typeof fetch = (input, init) => {
      calls++;
      if (calls === 1) return Promise.reject(new TypeError("fetch failed"));
      return fetch(input, init);
    };
    const client = new DeviceClient({ baseUrl: stub.url, clock: fakeClock(NOW), fetch: flaky });
    const result = await client.sendHeartbeat(washer("secret"), { battery: 80 });
    expect(result.ok).toBe(true);
    expect(result.attempts.map((a) => a.status)).toEqual([null, 200]);
    expect(result.attempts[0].error).toContain("fetch failed");
    expect(stub.received).toHaveLength(1);
  });

  it("legacy mode sends secret_key in the body and no Authorization header", async () => {
    const client = new DeviceClient({ baseUrl: stub.url, clock: fakeClock(NOW) });
    await client.sendUpdate(washer("secret"), {
      status: "FINISHED",
      timestamp: 1763190000,
      battery: 77,
      magnitudes: { washAvg: 0.41, washMax: 1.3, spinMax: 2.2 },
    });
    const [got] = stub.received;
    expect(got.authorization).toBeUndefined();
    expect(got.body).toEqual({
      machine_id: 3,
      secret_key: "demo-secret-3",
      status: "FINISHED",
      machine_type: "washer",
      timestamp: 1763190000,
      battery: 77,
      wash_avg_magnitude: 0.41,
      wash_max_magnitude: 1.3,
      spin_max_magnitude: 2.2,
    });
  });

  it("sends magnitudes only with FINISHED", async () => {
    const client = new DeviceClient({ baseUrl: stub.url, clock: fakeClock(NOW) });
    await client.sendUpdate(washer("secret"), {
      ...report,
      magnitudes: { washAvg: 0.4, washMax: 1.2, spinMax: 2 },
    });
    expect(Object.keys(stub.received[0].body)).not.toContain("wash_avg_magnitude");
  });

  it("JWT mode sends a valid HS256 Bearer token for the machine and no secret_key", async () => {
    const clock = fakeClock(NOW);
    const client = new DeviceClient({ baseUrl: stub.url, clock });
    await client.sendUpdate(washer("jwt"), report);
    await client.sendHeartbeat(washer("jwt"), { battery: 90, rssi: -60, firmware: "fw 1" });

    for (const got of stub.received) {
      expect(got.body).not.toHaveProperty("secret_key");
      expect(got.body.machine_id).toBe(3);
      const token = /^Bearer (.+)$/.exec(got.authorization ?? "")?.[1];
      expect(token).toBeDefined();
      const { payload, protectedHeader } = await jwtVerify(
        token!,
        new TextEncoder().encode("demo-secret-3"),
        { algorithms: ["HS256"], currentDate: new Date(clock.now()) },
      );
      expect(protectedHeader.alg).toBe("HS256");
      expect(payload.sub).toBe("3");
      expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(3600);
    }
    await expect(
      jwtVerify(
        /^Bearer (.+)$/.exec(stub.received[0].authorization!)![1],
        new TextEncoder().encode("demo-secret-4"),
      ),
    ).rejects.toThrow();
    expect(stub.received[1].body).toEqual({
      machine_id: 3,
      battery: 90,
      rssi: -60,
      firmware: "fw 1",
    });
  });

  it("waits 1 s between two requests of one kind for one machine, not across kinds or machines", async () => {
    const clock = fakeClock(NOW);
    const client = new DeviceClient({ baseUrl: stub.url, clock });
    await client.sendUpdate(washer("secret"), report);
    await client.sendHeartbeat(washer("secret"), { battery: 90 });
    await client.sendUpdate({ ...washer("secret"), id: "4" }, report);
    expect(clock.sleeps).toEqual([]);
    await client.sendUpdate(washer("secret"), { ...report, timestamp: report.timestamp + 30 });
    expect(clock.sleeps).toEqual([1000]);
  });
});

describe("runSimulation", () => {
  it("delivers every planned report in order per machine and logs statuses and ground truth", async () => {
    stub.answer = (r, n) => (r.path.endsWith("/update") && n % 17 === 0 ? 429 : 200);
    const clock = fakeClock(NOW);
    const machines = defaultMachines(6);
    const seen: string[] = [];
    const log = await runSimulation({
      baseUrl: stub.url,
      machines,
      spanMinutes: 6 * 60,
      speed: "max",
      seed: 12345,
      concurrency: 4,
      clock,
      model: { heartbeatMinutes: 30, duplicateRate: 0.1, outOfOrderRate: 0.1, silentMachines: 1 },
      onEvent: (e) => {
        seen.push(e.type);
      },
    });

    expect(log.summary.failed).toBe(0);
    expect(log.summary.sent).toBe(log.summary.planned);
    expect(log.summary.retried429).toBeGreaterThan(0);
    expect(log.reports.every((r) => r.responseStatus === 200)).toBe(true);
    expect(seen[0]).toBe("start");
    expect(seen[seen.length - 1]).toBe("done");
    expect(log.virtualEndSec).toBe(NOW / 1000);
    expect(log.virtualStartSec).toBe(NOW / 1000 - 6 * 3600);
    expect(log.cycles.length).toBeGreaterThan(0);
    expect(log.machines.filter((m) => m.silentFrom !== null)).toHaveLength(1);

    // Every third machine uses a JWT, the others the legacy secret.
    expect(log.machines.map((m) => m.auth)).toEqual([
      "secret",
      "secret",
      "jwt",
      "secret",
      "secret",
      "jwt",
    ]);
    expect(log.machines.map((m) => m.type)).toEqual([
      "washer",
      "washer",
      "washer",
      "washer",
      "dryer",
      "dryer",
    ]);

    // Per machine, the stub saw the updates in the logged order (retries repeat the same body).
    for (const m of machines) {
      const atStub = stub.received
        .filter((r) => r.path.endsWith("/update") && String(r.body.machine_id) === m.id)
        .map((r) => `${String(r.body.timestamp)}-${String(r.body.status)}`);
      const logged = log.reports
        .filter((r) => r.kind === "update" && r.machineId === m.id)
        .flatMap((r) => r.attemptStatuses.map(() => `${r.timestamp}-${r.status}`));
      expect(atStub).toEqual(logged);
    }
    const stamps = stub.received.flatMap((r) =>
      typeof r.body.timestamp === "number" ? [r.body.timestamp] : [],
    );
    expect(Math.max(...stamps)).toBeLessThanOrEqual(NOW / 1000);
    expect(log.reports.some((r) => r.duplicate)).toBe(true);
    expect(log.reports.some((r) => r.outOfOrder)).toBe(true);
  });

  it("awaits onEvent before a machine's next report, so a test can act mid-timeline", async () => {
    const updatesAtStub = (id: string) =>
      stub.received.filter((r) => r.path.endsWith("/update") && String(r.body.machine_id) === id)
        .length;
    let seenWhilePaused = -1;
    let planned = 0;
    await runSimulation({
      baseUrl: stub.url,
      machines: defaultMachines(2),
      spanMinutes: 3 * 60,
      speed: "max",
      seed: 77,
      clock: fakeClock(NOW),
      model: { heartbeatMinutes: 0, silentMachines: 0 },
      onEvent: async (e) => {
        if (e.type === "start") {
          planned = e.plan.machines[0].events.length;
        }
        if (e.type === "sent" && e.report.machineId === "1" && seenWhilePaused < 0) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          seenWhilePaused = updatesAtStub("1");
        }
      },
    });
    expect(planned).toBeGreaterThan(1);
    expect(seenWhilePaused).toBe(1);
    expect(updatesAtStub("1")).toBe(planned);
  });

  it("stops every lane and rejects when onEvent throws", async () => {
    await expect(
      runSimulation({
        baseUrl: stub.url,
        machines: defaultMachines(3),
        spanMinutes: 6 * 60,
        speed: "max",
        seed: 3,
        clock: fakeClock(NOW),
        model: { heartbeatMinutes: 0 },
        onEvent: (e) => {
          if (e.type === "sent") throw new Error("test gave up");
        },
      }),
    ).rejects.toThrow("test gave up");
    expect(stub.received.length).toBeLessThan(10);
  });

  it("refuses a virtual span that ends in the future", async () => {
    await expect(
      runSimulation({
        baseUrl: stub.url,
        machines: defaultMachines(1),
        spanMinutes: 10,
        speed: "max",
        seed: 1,
        clock: fakeClock(NOW),
        endMs: NOW + 60_000,
      }),
    ).rejects.toThrow(/future/);
  });
});

describe("VirtualClock", () => {
  it("places the span in the past, ending at the given instant", () => {
    expect(spanEndingAt(NOW + 999, 90)).toEqual({
      startSec: NOW / 1000 - 5400,
      endSec: NOW / 1000,
    });
  });

  it("runs `speed` virtual seconds per real second and waits for a report's virtual time", async () => {
    const clock = fakeClock(NOW);
    const span = spanEndingAt(NOW, 60);
    const vc = new VirtualClock(span, 60, clock);
    expect(vc.virtualNowSec()).toBe(span.startSec);
    await vc.waitUntil(span.startSec + 600);
    // 600 virtual seconds at 60× = 10 real seconds.
    expect(clock.now() - NOW).toBe(10_000);
    expect(vc.virtualNowSec()).toBe(span.startSec + 600);
    await vc.waitUntil(span.startSec + 300);
    expect(clock.now() - NOW).toBe(10_000);
  });

  it("never runs past the span's end, and does not wait at speed max", async () => {
    const clock = fakeClock(NOW);
    const span = spanEndingAt(NOW, 1);
    const vc = new VirtualClock(span, 1000, clock);
    await clock.sleep(3_600_000);
    expect(vc.virtualNowSec()).toBe(span.endSec);
    const max = new VirtualClock(span, "max", clock);
    const before = clock.sleeps.length;
    await max.waitUntil(span.endSec);
    expect(clock.sleeps.length).toBe(before);
  });

  it("parses --speed as a positive number or max", () => {
    expect(parseSpeed("60")).toBe(60);
    expect(parseSpeed("0.5")).toBe(0.5);
    expect(parseSpeed("MAX")).toBe("max");
    expect(() => parseSpeed("0")).toThrow(/--speed/);
    expect(() => parseSpeed("fast")).toThrow(/--speed/);
  });
});
