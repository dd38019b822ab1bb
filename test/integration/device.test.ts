import { SignJWT } from "jose";
import { beforeEach, describe, expect, it } from "vitest";
import { runHandler } from "../../functions/src/http/adapter";
import { createDeviceHandler } from "../../functions/src/http/deviceHandler";
import { TEST_MASTER_KEY, dumpDb, jsonRequest, seedDemoWorld, testDb } from "../support/world";

const NOW = Date.UTC(2026, 10, 16, 1, 0, 0); // 2026-11-16 10:00 KST
const TS = Math.floor(NOW / 1000) - 60;
let clock = NOW;
const handler = () =>
  createDeviceHandler({ db: testDb(), masterKey: TEST_MASTER_KEY, now: () => clock });
const call = (req: ReturnType<typeof jsonRequest>) => runHandler("device", handler(), req);

const valid = {
  machine_id: 1,
  secret_key: "demo-secret-1",
  status: "WASHING",
  machine_type: "washer",
  timestamp: TS,
  battery: 97,
};

async function token(machineId: string, secret: string, lifetime = "30m", now = NOW) {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(machineId)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor(now / 1000) + (lifetime === "2h" ? 7200 : 1800))
    .sign(new TextEncoder().encode(secret));
}

beforeEach(async () => {
  clock = NOW;
  await seedDemoWorld();
});

describe("device /update", () => {
  it("accepts the legacy payload, logs the report under a deterministic id and answers received", async () => {
    const res = await call(jsonRequest("POST", "/update", valid));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      message: "received",
      NewWashThreshold: null,
      NewSpinThreshold: null,
    });
    const report = await testDb().doc(`machines/1/reports/${TS}-WASHING`).get();
    expect(report.data()).toMatchObject({
      machineId: "1",
      status: "WASHING",
      timestamp: TS,
      battery: 97,
      auth: "secret",
    });
  });

  it("accepts an HS256 Bearer token signed with the device secret instead of secret_key", async () => {
    const { secret_key: _omit, ...body } = valid;
    const res = await call(
      jsonRequest("POST", "/update", body, {
        authorization: `Bearer ${await token("1", "demo-secret-1")}`,
      }),
    );
    expect(res.status).toBe(200);
    expect((await testDb().doc(`machines/1/reports/${TS}-WASHING`).get()).get("auth")).toBe("jwt");
  });

  it("stores a dryer's WASHING as DRYING", async () => {
    const res = await call(
      jsonRequest("POST", "/update", {
        ...valid,
        machine_id: "5",
        secret_key: "demo-secret-5",
        machine_type: "dryer",
      }),
    );
    expect(res.status).toBe(200);
    expect((await testDb().doc(`machines/5/reports/${TS}-DRYING`).get()).get("status")).toBe(
      "DRYING",
    );
  });

  it("accepts a repeated report as a duplicate without writing anything", async () => {
    await call(jsonRequest("POST", "/update", valid));
    const before = await dumpDb();
    clock += 5000;
    const res = await call(jsonRequest("POST", "/update", valid));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ message: "received", duplicate: true });
    expect(await dumpDb()).toEqual(before);
  });

  it("answers 429 to a second report from one machine within a second, writing nothing", async () => {
    await call(jsonRequest("POST", "/update", valid));
    const before = await dumpDb();
    const res = await call(
      jsonRequest("POST", "/update", { ...valid, status: "SPINNING", timestamp: TS + 1 }),
    );
    expect(res.status).toBe(429);
    expect(res.headers?.["Retry-After"]).toBe("1");
    expect(await dumpDb()).toEqual(before);
  });

  it("returns the calibration thresholds once FINISHED magnitudes are known", async () => {
    await testDb()
      .doc("machineCalibration/1")
      .set({ samples: 2, washAvgSum: 1.0, washMaxSum: 2.6, spinMaxSum: 4.4 });
    const res = await call(jsonRequest("POST", "/update", valid));
    expect(res.body).toMatchObject({ NewWashThreshold: 0.35, NewSpinThreshold: 1.75 });
  });
});

describe("device /heartbeat and /raw_data", () => {
  it("a heartbeat refreshes lastSeenAt, battery and online", async () => {
    const res = await call(
      jsonRequest("POST", "/heartbeat", {
        machine_id: 2,
        secret_key: "demo-secret-2",
        battery: 55,
        rssi: -60,
        firmware: "1.4.2",
      }),
    );
    expect(res.status).toBe(200);
    const m = (await testDb().doc("machines/2").get()).data();
    expect(m).toMatchObject({ battery: 55, rssi: -60, firmware: "1.4.2", online: true });
    expect(m?.lastSeenAt.toMillis()).toBe(NOW);
  });

  it("raw samples are stored only while calibration is on", async () => {
    const body = {
      machine_id: 3,
      secret_key: "demo-secret-3",
      timestamp: TS,
      samples: [0.1, 0.2, 0.3],
    };
    const off = await call(jsonRequest("POST", "/raw_data", body));
    expect(off).toMatchObject({ status: 200, body: { stored: false } });
    expect((await testDb().collection("machines/3/rawData").get()).size).toBe(0);
    await testDb().doc("machines/3").update({ calibration: true });
    const on = await call(jsonRequest("POST", "/raw_data", body));
    expect(on).toMatchObject({ status: 200, body: { stored: true, samples: 3 } });
    expect((await testDb().doc(`machines/3/rawData/${TS}`).get()).get("samples")).toEqual([
      0.1, 0.2, 0.3,
    ]);
  });
});

describe("device bad input: every malformed or unauthorised request gets its 4xx, a JSON error naming the problem, and changes nothing", () => {
  type Case = {
    name: string;
    req: () => Promise<ReturnType<typeof jsonRequest>>;
    status: number;
    code: string;
    mentions: string;
  };
  const post = (body: unknown, headers?: Record<string, string>) => async () =>
    jsonRequest("POST", "/update", body, headers);
  const big = "x".repeat(9000);
  const cases: Case[] = [
    {
      name: "GET on /update",
      req: async () => jsonRequest("GET", "/update"),
      status: 405,
      code: "method_not_allowed",
      mentions: "GET",
    },
    {
      name: "PUT on /heartbeat",
      req: async () => jsonRequest("PUT", "/heartbeat", {}),
      status: 405,
      code: "method_not_allowed",
      mentions: "PUT",
    },
    {
      name: "unknown path",
      req: async () => jsonRequest("POST", "/reset", valid),
      status: 404,
      code: "not_found",
      mentions: "/reset",
    },
    {
      name: "body over 8 KB",
      req: post({ ...valid, secret_key: big }),
      status: 413,
      code: "payload_too_large",
      mentions: "8192",
    },
    {
      name: "empty body",
      req: async () => jsonRequest("POST", "/update"),
      status: 400,
      code: "invalid_json",
      mentions: "empty",
    },
    {
      name: "not JSON",
      req: post("{status: WASHING"),
      status: 400,
      code: "invalid_json",
      mentions: "JSON",
    },
    { name: "JSON array", req: post([valid]), status: 400, code: "invalid_body", mentions: "body" },
    {
      name: "missing machine_id",
      req: post({ ...valid, machine_id: undefined }),
      status: 400,
      code: "invalid_body",
      mentions: "machine_id",
    },
    {
      name: "machine_id negative",
      req: post({ ...valid, machine_id: -1 }),
      status: 400,
      code: "invalid_body",
      mentions: "machine_id",
    },
    {
      name: "machine_id not numeric",
      req: post({ ...valid, machine_id: "abc" }),
      status: 400,
      code: "invalid_body",
      mentions: "machine_id",
    },
    {
      name: "machine_id float",
      req: post({ ...valid, machine_id: 1.5 }),
      status: 400,
      code: "invalid_body",
      mentions: "machine_id",
    },
    {
      name: "unknown status",
      req: post({ ...valid, status: "RINSING" }),
      status: 400,
      code: "invalid_body",
      mentions: "status",
    },
    {
      name: "lowercase status",
      req: post({ ...valid, status: "washing" }),
      status: 400,
      code: "invalid_body",
      mentions: "status",
    },
    {
      name: "timestamp before 2020",
      req: post({ ...valid, timestamp: 1500000000 }),
      status: 400,
      code: "invalid_body",
      mentions: "timestamp",
    },
    {
      name: "timestamp in milliseconds (far future)",
      req: post({ ...valid, timestamp: NOW }),
      status: 400,
      code: "invalid_body",
      mentions: "timestamp",
    },
    {
      name: "timestamp 10 minutes ahead",
      req: post({ ...valid, timestamp: TS + 660 }),
      status: 400,
      code: "invalid_body",
      mentions: "timestamp",
    },
    {
      name: "timestamp as string",
      req: post({ ...valid, timestamp: String(TS) }),
      status: 400,
      code: "invalid_body",
      mentions: "timestamp",
    },
    {
      name: "battery over 100",
      req: post({ ...valid, battery: 140 }),
      status: 400,
      code: "invalid_body",
      mentions: "battery",
    },
    {
      name: "unknown field",
      req: post({ ...valid, temperature: 30 }),
      status: 400,
      code: "invalid_body",
      mentions: "temperature",
    },
    {
      name: "machine_type not washer/dryer",
      req: post({ ...valid, machine_type: "iron" }),
      status: 400,
      code: "invalid_body",
      mentions: "machine_type",
    },
    {
      name: "machine_type contradicts the machine",
      req: post({ ...valid, machine_type: "dryer" }),
      status: 400,
      code: "invalid_body",
      mentions: "machine_type",
    },
    {
      name: "magnitudes with WASHING",
      req: post({
        ...valid,
        wash_avg_magnitude: 0.4,
        wash_max_magnitude: 1.2,
        spin_max_magnitude: 2,
      }),
      status: 400,
      code: "invalid_body",
      mentions: "FINISHED",
    },
    {
      name: "only one magnitude with FINISHED",
      req: post({ ...valid, status: "FINISHED", wash_avg_magnitude: 0.4 }),
      status: 400,
      code: "invalid_body",
      mentions: "wash_avg_magnitude",
    },
    {
      name: "negative magnitude",
      req: post({
        ...valid,
        status: "FINISHED",
        wash_avg_magnitude: -1,
        wash_max_magnitude: 1,
        spin_max_magnitude: 2,
      }),
      status: 400,
      code: "invalid_body",
      mentions: "wash_avg_magnitude",
    },
    {
      name: "unknown machine",
      req: post({ ...valid, machine_id: 99 }),
      status: 404,
      code: "not_found",
      mentions: "99",
    },
    {
      name: "no secret and no token",
      req: post({ ...valid, secret_key: undefined }),
      status: 401,
      code: "unauthenticated",
      mentions: "secret_key",
    },
    {
      name: "wrong secret",
      req: post({ ...valid, secret_key: "demo-secret-2" }),
      status: 401,
      code: "unauthenticated",
      mentions: "secret_key",
    },
    {
      name: "empty secret",
      req: post({ ...valid, secret_key: "" }),
      status: 400,
      code: "invalid_body",
      mentions: "secret_key",
    },
    {
      name: "Authorization not Bearer",
      req: post({ ...valid, secret_key: undefined }, { authorization: "Basic abc" }),
      status: 401,
      code: "unauthenticated",
      mentions: "Bearer",
    },
    {
      name: "Bearer garbage",
      req: post({ ...valid, secret_key: undefined }, { authorization: "Bearer not.a.jwt" }),
      status: 401,
      code: "unauthenticated",
      mentions: "JWT",
    },
    {
      name: "JWT signed with a wrong key",
      req: async () =>
        jsonRequest(
          "POST",
          "/update",
          { ...valid, secret_key: undefined },
          { authorization: `Bearer ${await token("1", "guess")}` },
        ),
      status: 401,
      code: "unauthenticated",
      mentions: "token",
    },
    {
      name: "JWT living longer than 1 h",
      req: async () =>
        jsonRequest(
          "POST",
          "/update",
          { ...valid, secret_key: undefined },
          { authorization: `Bearer ${await token("1", "demo-secret-1", "2h")}` },
        ),
      status: 401,
      code: "unauthenticated",
      mentions: "token",
    },
    {
      name: "expired JWT",
      req: async () =>
        jsonRequest(
          "POST",
          "/update",
          { ...valid, secret_key: undefined },
          {
            authorization: `Bearer ${await token("1", "demo-secret-1", "30m", NOW - 3 * 3600_000)}`,
          },
        ),
      status: 401,
      code: "unauthenticated",
      mentions: "token",
    },
    {
      name: "JWT signed with this machine's secret but sub not its id",
      req: async () =>
        jsonRequest(
          "POST",
          "/update",
          { ...valid, secret_key: undefined },
          { authorization: `Bearer ${await token("machine-1", "demo-secret-1")}` },
        ),
      status: 401,
      code: "unauthenticated",
      mentions: "token",
    },
    {
      name: "JWT signed with this machine's secret but sub '01'",
      req: async () =>
        jsonRequest(
          "POST",
          "/update",
          { ...valid, secret_key: undefined },
          { authorization: `Bearer ${await token("01", "demo-secret-1")}` },
        ),
      status: 401,
      code: "unauthenticated",
      mentions: "token",
    },
    {
      name: "genuine JWT of another machine",
      req: async () =>
        jsonRequest(
          "POST",
          "/update",
          { ...valid, secret_key: undefined },
          { authorization: `Bearer ${await token("2", "demo-secret-2")}` },
        ),
      status: 403,
      code: "forbidden",
      mentions: "machine 2",
    },
    {
      name: "heartbeat without battery",
      req: async () =>
        jsonRequest("POST", "/heartbeat", { machine_id: 1, secret_key: "demo-secret-1" }),
      status: 400,
      code: "invalid_body",
      mentions: "battery",
    },
    {
      name: "heartbeat with wrong secret",
      req: async () =>
        jsonRequest("POST", "/heartbeat", { machine_id: 1, secret_key: "nope", battery: 50 }),
      status: 401,
      code: "unauthenticated",
      mentions: "secret_key",
    },
    {
      name: "raw_data with no samples",
      req: async () =>
        jsonRequest("POST", "/raw_data", {
          machine_id: 1,
          secret_key: "demo-secret-1",
          timestamp: TS,
          samples: [],
        }),
      status: 400,
      code: "invalid_body",
      mentions: "samples",
    },
    {
      name: "raw_data samples not numbers",
      req: async () =>
        jsonRequest("POST", "/raw_data", {
          machine_id: 1,
          secret_key: "demo-secret-1",
          timestamp: TS,
          samples: ["a"],
        }),
      status: 400,
      code: "invalid_body",
      mentions: "samples",
    },
  ];

  it("has a corpus of at least 25 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  it.each(cases)("$name → $status $code", async (c) => {
    const before = await dumpDb();
    const res = await call(await c.req());
    expect(res.status).toBe(c.status);
    const body = res.body as { error: { code: string; message: string } };
    expect(body.error.code).toBe(c.code);
    expect(body.error.message).toContain(c.mentions);
    expect(await dumpDb()).toEqual(before);
  });
});
