import { SignJWT } from "jose";
import { DocumentReference, Firestore } from "firebase-admin/firestore";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { runHandler } from "../../functions/src/http/adapter";
import { createDeviceHandler, createDeviceState } from "../../functions/src/http/deviceHandler";
import {
  TEST_MASTER_KEY,
  dumpDb,
  jsonRequest,
  seedDemoWorld,
  testDb,
  testSettings,
} from "../support/world";

/** This test's device-function instance memory (rate buckets, machine cache). */
let deviceState = createDeviceState(testSettings().device);

const NOW = Date.UTC(2026, 10, 16, 1, 0, 0); // 2026-11-16 10:00 KST
const TS = Math.floor(NOW / 1000) - 60;
let clock = NOW;
const handler = () =>
  createDeviceHandler({
    db: testDb(),
    masterKey: TEST_MASTER_KEY,
    now: () => clock,
    state: deviceState,
  });
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

/** A token with exactly these claims (HS256), for the shapes firmware and attackers send. */
async function signClaims(claims: Record<string, unknown>, secret: string) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(secret));
}

/** WashCall_Main's raw sample (Connectivity::sendRawData): no secret. */
const rawSample = (machineId: number, timestamp: number, magnitude = 0.4) => ({
  machine_id: machineId,
  timestamp,
  magnitude,
  deltaX: 0.1,
  deltaY: -0.2,
  deltaZ: 0.05,
});

beforeEach(async () => {
  deviceState = createDeviceState(testSettings().device);
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

  it("accepts distinct reports arriving in the same second (the firmware never retries a 429)", async () => {
    const first = await call(jsonRequest("POST", "/update", valid));
    const second = await call(
      jsonRequest("POST", "/update", { ...valid, status: "SPINNING", timestamp: TS + 1 }),
    );
    const third = await call(
      jsonRequest("POST", "/update", { ...valid, status: "FINISHED", timestamp: TS + 1 }),
    );
    expect([first.status, second.status, third.status]).toEqual([200, 200, 200]);
    const ids = (await testDb().collection("machines/1/reports").get()).docs.map((d) => d.id);
    expect(ids.sort()).toEqual([`${TS}-WASHING`, `${TS + 1}-FINISHED`, `${TS + 1}-SPINNING`]);
  });

  it("answers a sustained flood with 429 and Retry-After once its burst of 20 is spent, writing nothing", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await call(jsonRequest("POST", "/update", { ...valid, timestamp: TS - i }));
      statuses.push(res.status);
    }
    expect(statuses.every((s) => s === 200)).toBe(true);
    const before = await dumpDb();
    const flood = await call(jsonRequest("POST", "/update", { ...valid, timestamp: TS - 100 }));
    expect(flood.status).toBe(429);
    expect(flood.body).toMatchObject({ error: { code: "rate_limited" } });
    expect(Number(flood.headers?.["Retry-After"])).toBeGreaterThanOrEqual(1);
    expect(await dumpDb()).toEqual(before);
    // Two requests a second come back: a device that slows down is served again.
    clock += 1000;
    const again = await call(jsonRequest("POST", "/update", { ...valid, timestamp: TS - 100 }));
    expect(again.status).toBe(200);
  });

  it("after 10 failed authentications refuses guesses with 429 without reading Firestore, and still lets the right secret in", async () => {
    for (let i = 0; i < 10; i++) {
      const res = await call(
        jsonRequest("POST", "/update", { ...valid, secret_key: `guess-${i}` }),
      );
      expect(res.status).toBe(401);
    }
    const reads = vi.spyOn(Firestore.prototype, "getAll");
    const gets = vi.spyOn(DocumentReference.prototype, "get");
    let readsDuringGuesses = -1;
    try {
      const before = await dumpDb();
      reads.mockClear();
      gets.mockClear();
      for (let i = 0; i < 5; i++) {
        const res = await call(jsonRequest("POST", "/update", { ...valid, secret_key: "again" }));
        expect(res.status).toBe(429);
        expect(res.body).toMatchObject({ error: { code: "rate_limited" } });
        expect(Number(res.headers?.["Retry-After"])).toBeGreaterThanOrEqual(1);
      }
      readsDuringGuesses = reads.mock.calls.length + gets.mock.calls.length;
      expect(await dumpDb()).toEqual(before);
    } finally {
      reads.mockRestore();
      gets.mockRestore();
    }
    expect(readsDuringGuesses).toBe(0);
    expect((await call(jsonRequest("POST", "/update", valid))).status).toBe(200);
    // A minute later the machine has earned guesses back.
    clock += 60_000;
    const later = await call(jsonRequest("POST", "/update", { ...valid, secret_key: "late" }));
    expect(later.status).toBe(401);
  });

  it("limits secret guesses on raw_data too: past 10 failures a guess is a 429, the right secret still stored", async () => {
    await testDb().doc("machines/3").update({ calibration: true });
    const guess = (i: number) =>
      call(jsonRequest("POST", "/raw_data", { ...rawSample(3, TS + i), secret_key: `guess-${i}` }));
    for (let i = 0; i < 10; i++) expect((await guess(i)).status).toBe(401);
    for (let i = 10; i < 15; i++) expect((await guess(i)).status).toBe(429);
    const right = await call(
      jsonRequest("POST", "/raw_data", { ...rawSample(3, TS + 20), secret_key: "demo-secret-3" }),
    );
    expect(right).toMatchObject({ status: 200, body: { stored: true } });
  });

  it("a stranger's flood of unsigned raw samples does not spend the board's own allowance", async () => {
    for (let i = 0; i < 40; i++) {
      await call(jsonRequest("POST", "/raw_data", rawSample(3, TS + i)));
    }
    const signed = await call(
      jsonRequest("POST", "/raw_data", { ...rawSample(3, TS + 50), secret_key: "demo-secret-3" }),
    );
    expect(signed.status).toBe(200);
  });

  it("does not let requests with a wrong secret spend the machine's burst", async () => {
    for (let i = 0; i < 30; i++) {
      const res = await call(jsonRequest("POST", "/update", { ...valid, secret_key: "guess" }));
      expect([401, 429]).toContain(res.status);
    }
    expect((await call(jsonRequest("POST", "/update", valid))).status).toBe(200);
  });

  it("returns the calibration thresholds once FINISHED magnitudes are known", async () => {
    await testDb()
      .doc("machines/1")
      .update({
        calibrationSums: { samples: 2, washAvgSum: 1.0, washMaxSum: 2.6, spinMaxSum: 4.4 },
      });
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
    clock += 60_000; // the instance trusts its cached machine document for a minute
    const on = await call(jsonRequest("POST", "/raw_data", body));
    expect(on).toMatchObject({ status: 200, body: { stored: true, samples: 3 } });
    expect((await testDb().doc(`machines/3/rawData/${TS}`).get()).get("samples")).toEqual([
      0.1, 0.2, 0.3,
    ]);
  });
});

describe("device: the WashCall_Main firmware as it really is", () => {
  it("takes a dryer's report sent as machine_type washer, stores it as DRYING and records the claim once", async () => {
    const dryer = { ...valid, machine_id: 5, secret_key: "demo-secret-5", machine_type: "washer" };
    const first = await call(jsonRequest("POST", "/update", dryer));
    expect(first.status).toBe(200);
    expect((await testDb().doc(`machines/5/reports/${TS}-DRYING`).get()).exists).toBe(true);
    const m = (await testDb().doc("machines/5").get()).data();
    expect(m?.type).toBe("dryer");
    expect(m?.reportedType.type).toBe("washer");
    expect(m?.reportedType.firstAt.toMillis()).toBe(NOW);

    clock += 60_000;
    await call(
      jsonRequest("POST", "/update", { ...dryer, status: "FINISHED", timestamp: TS + 50 }),
    );
    const again = (await testDb().doc("machines/5").get()).data();
    expect(again?.reportedType.firstAt.toMillis()).toBe(NOW);
  });

  it("accepts a raw sample without a secret as a sign of life: lastSeenAt, pingAt and online, nothing stored", async () => {
    await testDb().doc("machines/3").update({ calibration: true });
    const res = await call(jsonRequest("POST", "/raw_data", rawSample(3, TS)));
    expect(res).toMatchObject({ status: 200, body: { message: "received", stored: false } });
    const m = (await testDb().doc("machines/3").get()).data();
    expect(m?.online).toBe(true);
    expect(m?.lastSeenAt.toMillis()).toBe(NOW);
    expect(m?.pingAt.toMillis()).toBe(NOW);
    expect((await testDb().collection("machines/3/rawData").get()).size).toBe(0);
  });

  it("serves a 1 Hz stream for ten minutes with one read a minute and a liveness write every five", async () => {
    const db = testDb();
    // Spies call through to the real methods and count the calls.
    const reads = vi.spyOn(DocumentReference.prototype, "get");
    const updates = vi.spyOn(DocumentReference.prototype, "update");
    const pings: number[] = [];
    let readCount = -1;
    try {
      for (let i = 0; i < 600; i++) {
        const res = await call(jsonRequest("POST", "/raw_data", rawSample(4, TS + i)));
        expect(res.status).toBe(200);
        const ping = updates.mock.calls.length > pings.length ? clock : null;
        if (ping !== null) pings.push(ping);
        clock += 1000;
      }
      readCount = reads.mock.calls.length;
    } finally {
      reads.mockRestore();
      updates.mockRestore();
    }
    expect(readCount).toBe(10);
    expect(pings).toEqual([NOW, NOW + 5 * 60_000]);
    expect((await db.doc("machines/4").get()).get("pingAt").toMillis()).toBe(NOW + 5 * 60_000);
  });

  it("stores authenticated samples while calibration is on, the first write of a timestamp winning", async () => {
    await testDb().doc("machines/3").update({ calibration: true });
    const body = { ...rawSample(3, TS, 0.7), secret_key: "demo-secret-3" };
    const first = await call(jsonRequest("POST", "/raw_data", body));
    expect(first).toMatchObject({ status: 200, body: { stored: true, samples: 1 } });
    const again = await call(jsonRequest("POST", "/raw_data", { ...body, magnitude: 9.9 }));
    expect(again).toMatchObject({ status: 200, body: { stored: false, duplicate: true } });
    const stored = (await testDb().doc(`machines/3/rawData/${TS}`).get()).data();
    expect(stored).toMatchObject({ samples: [0.7], deltas: { x: 0.1, y: -0.2, z: 0.05 } });
  });

  it("answers 429 to a raw_data flood, writing nothing", async () => {
    let status = 200;
    let sent = 0;
    while (status === 200 && sent < 100) {
      status = (await call(jsonRequest("POST", "/raw_data", rawSample(2, TS + sent)))).status;
      sent++;
    }
    expect(status).toBe(429);
    expect(sent).toBe(31);
  });

  it("accepts the fork firmware's device JWT in secret_key", async () => {
    const jwt = await token("1", "demo-secret-1");
    const res = await call(jsonRequest("POST", "/update", { ...valid, secret_key: jwt }));
    expect(res.status).toBe(200);
    expect((await testDb().doc(`machines/1/reports/${TS}-WASHING`).get()).get("auth")).toBe("jwt");
  });

  it("accepts a token without exp whose iat is at most an hour old, and no older or future one", async () => {
    const nowS = Math.floor(NOW / 1000);
    const post = async (iat: number, timestamp: number) =>
      call(
        jsonRequest("POST", "/update", {
          ...valid,
          timestamp,
          secret_key: await signClaims({ sub: "1", iat }, "demo-secret-1"),
        }),
      );
    expect((await post(nowS - 59 * 60, TS)).status).toBe(200);
    expect((await post(nowS - 61 * 60, TS - 1)).status).toBe(401);
    expect((await post(nowS + 10 * 60, TS - 2)).status).toBe(401);
    expect((await post(nowS, TS - 3)).status).toBe(200);
  });

  it("answers the seed's /device_update with the thresholds, and 404 before the first calibrated cycle", async () => {
    const ask = () =>
      call(jsonRequest("POST", "/device_update", { machine_id: 1, secret_key: "demo-secret-1" }));
    const before = await ask();
    expect(before.status).toBe(404);
    expect(before.body).toMatchObject({ error: { code: "not_found" } });
    await testDb()
      .doc("machines/1")
      .update({
        calibrationSums: { samples: 2, washAvgSum: 1.0, washMaxSum: 2.6, spinMaxSum: 4.4 },
      });
    const after = await ask();
    expect(after).toMatchObject({
      status: 200,
      body: { NewWashThreshold: 0.35, NewSpinThreshold: 1.75 },
    });
  });

  it("answers 401, not 500, when the stored secret does not decrypt (master key changed), every time", async () => {
    const other = createDeviceHandler({
      db: testDb(),
      masterKey: "another-master-key-0123456789abcdef",
      now: () => clock,
      state: deviceState,
    });
    for (let i = 0; i < 3; i++) {
      const res = await runHandler("device", other, jsonRequest("POST", "/update", valid));
      expect(res.status).toBe(401);
    }
    expect(deviceState.undecryptable.has("1")).toBe(true);
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
    {
      name: "raw sample with magnitude as a string",
      req: async () => jsonRequest("POST", "/raw_data", { ...rawSample(1, TS), magnitude: "0.4" }),
      status: 400,
      code: "invalid_body",
      mentions: "magnitude",
    },
    {
      name: "raw sample without deltaX",
      req: async () => {
        const { deltaX: _omit, ...rest } = rawSample(1, TS);
        return jsonRequest("POST", "/raw_data", rest);
      },
      status: 400,
      code: "invalid_body",
      mentions: "deltaX",
    },
    {
      name: "raw sample ten years ahead",
      req: async () => jsonRequest("POST", "/raw_data", rawSample(1, TS + 10 * 365 * 86400)),
      status: 400,
      code: "invalid_body",
      mentions: "timestamp",
    },
    {
      name: "raw sample before 2020",
      req: async () => jsonRequest("POST", "/raw_data", rawSample(1, 1_000_000)),
      status: 400,
      code: "invalid_body",
      mentions: "timestamp",
    },
    {
      name: "raw sample of an unknown machine",
      req: async () => jsonRequest("POST", "/raw_data", rawSample(99, TS)),
      status: 404,
      code: "not_found",
      mentions: "99",
    },
    {
      name: "raw sample with a wrong secret",
      req: async () =>
        jsonRequest("POST", "/raw_data", { ...rawSample(1, TS), secret_key: "nope" }),
      status: 401,
      code: "unauthenticated",
      mentions: "secret_key",
    },
    {
      name: "device_update with an unknown field",
      req: async () =>
        jsonRequest("POST", "/device_update", {
          machine_id: 1,
          secret_key: "demo-secret-1",
          status: "WASHING",
        }),
      status: 400,
      code: "invalid_body",
      mentions: "status",
    },
    {
      name: "device_update with a wrong secret",
      req: async () => jsonRequest("POST", "/device_update", { machine_id: 1, secret_key: "nope" }),
      status: 401,
      code: "unauthenticated",
      mentions: "secret_key",
    },
    {
      name: "JWT whose sub is a number",
      req: async () =>
        post(
          { ...valid, secret_key: undefined },
          {
            authorization: `Bearer ${await signClaims({ sub: 1, iat: Math.floor(NOW / 1000) }, "demo-secret-1")}`,
          },
        )(),
      status: 401,
      code: "unauthenticated",
      mentions: "sub",
    },
    {
      name: "JWT whose sub is an array (unsigned)",
      req: async () => {
        const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
        const unsigned = `${b64({ alg: "none" })}.${b64({ sub: ["2"], iat: 1 })}.`;
        return post({ ...valid, secret_key: undefined }, { authorization: `Bearer ${unsigned}` })();
      },
      status: 401,
      code: "unauthenticated",
      mentions: "sub",
    },
    {
      name: "JWT in secret_key signed with a wrong key",
      req: async () => post({ ...valid, secret_key: await token("1", "not-the-secret") })(),
      status: 401,
      code: "unauthenticated",
      mentions: "token",
    },
  ];

  it("has a corpus of at least 35 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(35);
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
