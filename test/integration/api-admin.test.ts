import { getAuth } from "firebase-admin/auth";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type HttpResponse, runHandler } from "../../functions/src/http/adapter";
import { createApiHandler } from "../../functions/src/http/routes";
import type { ApiDeps } from "../../functions/src/http/apiRouter";
import { createDeviceHandler, createDeviceState } from "../../functions/src/http/deviceHandler";
import { deviceBaseUrl, firmwareSnippet } from "../../functions/src/domain/firmwareSnippet";
import { apiRoutes } from "../../functions/src/http/routes";
import { type TestUser, bearer, signUpAdmin, signUpUser } from "../support/auth";
import {
  TEST_MASTER_KEY,
  applyReportAt,
  dumpDb,
  jsonRequest,
  seedDemoWorld,
  testDb,
  testSettings,
} from "../support/world";

/** This test's device-function instance memory (rate buckets, machine cache). */
let deviceState = createDeviceState(testSettings().device);

const START = Date.UTC(2026, 10, 16, 0, 50) / 1000; // device Unix seconds
const NOW = (START + 2 * 3600) * 1000;
let clock = NOW;
let admin: TestUser;
let user: TestUser;

const LOCAL_HOST = { host: "127.0.0.1:5001" };

function deps(over: Partial<ApiDeps> = {}): ApiDeps {
  return {
    db: testDb(),
    auth: getAuth(),
    now: () => clock,
    version: "test",
    settings: testSettings(),
    masterKey: TEST_MASTER_KEY,
    ...over,
  };
}

const post = (
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
  over: Partial<ApiDeps> = {},
) => runHandler("api", createApiHandler(deps(over)), jsonRequest("POST", path, body, headers));

const asAdmin = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  post(path, body, { ...bearer(admin), ...LOCAL_HOST, ...headers });

const device = () =>
  createDeviceHandler({
    db: testDb(),
    masterKey: TEST_MASTER_KEY,
    now: () => clock,
    state: deviceState,
  });

async function devicePost(path: string, body: unknown): Promise<HttpResponse> {
  clock += 1500; // one report a second per machine
  return runHandler("device", device(), jsonRequest("POST", path, body));
}

const errorOf = (res: HttpResponse) =>
  (res.body as { error: { code: string; message: string } }).error;
const bodyOf = <T>(res: HttpResponse) => res.body as T;

interface SecretBody {
  machine_id: number;
  room_id: number | null;
  machine_name: string;
  machine_type: string;
  secret_key: string;
  firmware_snippet: string;
  warnings: string[];
}

/** A valid body for each admin route (machine 1 and room 1 exist after the seed). */
const VALID: Record<string, unknown> = {
  "/admin/add_room": { room_name: "2번 세탁실" },
  "/admin/add_device": {
    room_id: 1,
    machine_id: 7,
    machine_name: "세탁기 7",
    machine_type: "washer",
  },
  "/admin/rotate_device_secret": { machine_id: 1 },
  "/admin/calibration": { machine_id: 1, on: 1 },
  "/admin/clear_broken": { machine_id: 1 },
  "/admin/surveys": undefined,
};

/** The request an admin route takes: a JSON body for POST, none for GET. */
const routeRequest = (r: (typeof adminRoutes)[number], headers: Record<string, string>) =>
  runHandler(
    "api",
    createApiHandler(deps()),
    jsonRequest(r.method, r.path, r.method === "GET" ? undefined : (VALID[r.path] ?? {}), headers),
  );
const adminRoutes = apiRoutes.filter((r) => r.path.startsWith("/admin/"));

beforeAll(async () => {
  admin = await signUpAdmin("admin-routes");
  user = await signUpUser("not-admin");
});

beforeEach(async () => {
  deviceState = createDeviceState(testSettings().device);
  clock = NOW;
  await seedDemoWorld();
});

describe("admin route guard", () => {
  it("the route table has the admin routes this file knows, all with auth admin", () => {
    for (const path of Object.keys(VALID)) {
      expect(
        adminRoutes.some((r) => r.path === path),
        path,
      ).toBe(true);
    }
    expect(adminRoutes.every((r) => r.auth === "admin")).toBe(true);
  });

  it("every /admin route answers 403 to a signed-in non-admin, even with a valid body, and writes nothing", async () => {
    const before = await dumpDb();
    for (const r of adminRoutes) {
      const res = await routeRequest(r, bearer(user));
      expect(res.status, r.path).toBe(403);
      expect(errorOf(res).code, r.path).toBe("forbidden");
    }
    expect(await dumpDb()).toEqual(before);
  });

  it("every /admin route answers 401 without a token, with a malformed header or a bad token", async () => {
    const before = await dumpDb();
    for (const r of adminRoutes) {
      for (const headers of [{}, { authorization: "Token abc" }, bearer("garbage.token.x")]) {
        const res = await routeRequest(r, headers);
        expect(res.status, `${r.path} ${JSON.stringify(headers)}`).toBe(401);
        expect(errorOf(res).code).toBe("unauthenticated");
      }
    }
    expect(await dumpDb()).toEqual(before);
  });
});

describe("POST /admin/add_room", () => {
  it("creates the room after the largest decimal id and answers its id and name", async () => {
    await testDb().doc("rooms/9").set({ name: "9번" });
    await testDb().doc("rooms/lobby").set({ name: "not decimal" });
    const res = await asAdmin("/admin/add_room", { room_name: "  B동 세탁실 " });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ room_id: 10, room_name: "B동 세탁실" });
    expect((await testDb().doc("rooms/10").get()).data()).toMatchObject({
      name: "B동 세탁실",
      timers: {},
      timersAt: null,
    });
  });

  it("concurrent calls never take the same id", async () => {
    const names = ["A", "B", "C", "D", "E", "F"].map((x) => `${x}동`);
    const results = await Promise.all(
      names.map((n) => asAdmin("/admin/add_room", { room_name: n })),
    );
    expect(results.map((r) => r.status)).toEqual(names.map(() => 200));
    const ids = results.map((r) => bodyOf<{ room_id: number }>(r).room_id);
    expect([...ids].sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7]);
    for (const r of results) {
      const b = bodyOf<{ room_id: number; room_name: string }>(r);
      expect((await testDb().doc(`rooms/${b.room_id}`).get()).get("name")).toBe(b.room_name);
    }
  });

  it("rejects bad bodies with 400 naming the field and writes nothing", async () => {
    const before = await dumpDb();
    for (const body of [
      {},
      { room_name: "" },
      { room_name: "   " },
      { room_name: "x".repeat(101) },
      { room_name: "a\nb" },
      { room_name: 3 },
      { room_name: "ok", room_id: 4 },
    ]) {
      const res = await asAdmin("/admin/add_room", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(res).code).toBe("invalid_body");
      expect(errorOf(res).message, JSON.stringify(body)).toMatch(/room_name|room_id/);
    }
    expect(await dumpDb()).toEqual(before);
  });
});

describe("POST /admin/add_device", () => {
  it("creates the machine and answers its secret once, uncached, with a firmware block for the local device URL", async () => {
    const res = await asAdmin("/admin/add_device", VALID["/admin/add_device"]);
    expect(res.status).toBe(200);
    expect(res.headers?.["Cache-Control"]).toBe("no-store");
    const b = bodyOf<SecretBody>(res);
    expect(b).toMatchObject({
      machine_id: 7,
      room_id: 1,
      machine_name: "세탁기 7",
      machine_type: "washer",
    });
    expect(b.secret_key).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(b.firmware_snippet).toContain(
      'String FASTAPI_URL = "http://127.0.0.1:5001/demo-washcall/asia-northeast3/device/update";',
    );
    expect(b.firmware_snippet).toContain(
      'String RAW_DATA_URL = "http://127.0.0.1:5001/demo-washcall/asia-northeast3/device/raw_data";',
    );
    expect(b.firmware_snippet).toContain("int MACHINE_ID = 7;\n");
    expect(b.firmware_snippet).toContain(`const char* SECRET_KEY = "${b.secret_key}";`);
    expect(b.warnings).toEqual([]);

    expect((await testDb().doc("machines/7").get()).data()).toMatchObject({
      roomId: "1",
      name: "세탁기 7",
      type: "washer",
      status: "OFF",
      outOfOrder: false,
      calibration: false,
    });
    // Stored only encrypted.
    const stored = JSON.stringify((await testDb().doc("deviceSecrets/7").get()).data());
    expect(stored).not.toContain(b.secret_key);
  });

  it("an admin-added device posts a full cycle with its returned secret and the cycle is counted", async () => {
    const res = await asAdmin("/admin/add_device", {
      room_id: "1",
      machine_id: "8",
      machine_name: "세탁기 8",
      machine_type: "washer",
    });
    const { secret_key } = bodyOf<SecretBody>(res);
    const steps: [string, number][] = [
      ["WASHING", START],
      ["SPINNING", START + 30 * 60],
      ["FINISHED", START + 42 * 60],
    ];
    for (const [status, timestamp] of steps) {
      const r = await devicePost("/update", {
        machine_id: 8,
        secret_key,
        status,
        machine_type: "washer",
        timestamp,
        battery: 90,
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      await applyReportAt(clock, 8, `${timestamp}-${status}`);
    }
    const cycles = await testDb().collection("cycles").where("machineId", "==", "8").get();
    expect(cycles.docs.map((d) => d.data())).toEqual([
      expect.objectContaining({ machineId: "8", roomId: "1", totalMinutes: 42 }),
    ]);
    const stats = (await testDb().doc("congestion/1").get()).get("courses.washer-standard.stats");
    expect(stats).toMatchObject({ type: "washer", samples: 1, avgTotalMinutes: 42 });
    expect((await testDb().doc("machines/8").get()).get("status")).toBe("FINISHED");
  });

  it("answers 404 for an unknown room and 409 for a taken machine id, writing nothing", async () => {
    const before = await dumpDb();
    const noRoom = await asAdmin("/admin/add_device", {
      ...(VALID["/admin/add_device"] as object),
      room_id: 42,
    });
    expect(noRoom.status).toBe(404);
    expect(errorOf(noRoom)).toEqual({ code: "not_found", message: "room_id: no room 42" });
    const taken = await asAdmin("/admin/add_device", {
      ...(VALID["/admin/add_device"] as object),
      machine_id: 3,
    });
    expect(taken.status).toBe(409);
    expect(errorOf(taken)).toEqual({
      code: "conflict",
      message: "machine_id: machine 3 already exists",
    });
    expect(await dumpDb()).toEqual(before);
  });

  it("answers 500 without a master key and writes nothing", async () => {
    const before = await dumpDb();
    const res = await post("/admin/add_device", VALID["/admin/add_device"], bearer(admin), {
      masterKey: undefined,
    });
    expect(res.status).toBe(500);
    expect(errorOf(res).code).toBe("internal");
    expect(await dumpDb()).toEqual(before);
  });

  it("rejects bad bodies with 400 naming the field and writes nothing", async () => {
    const valid = VALID["/admin/add_device"] as Record<string, unknown>;
    const without = (k: string) =>
      Object.fromEntries(Object.entries(valid).filter(([x]) => x !== k));
    const before = await dumpDb();
    const corpus: [unknown, string][] = [
      [without("room_id"), "room_id"],
      [{ ...valid, room_id: 0 }, "room_id"],
      [{ ...valid, room_id: "one" }, "room_id"],
      [without("machine_id"), "machine_id"],
      [{ ...valid, machine_id: -7 }, "machine_id"],
      [{ ...valid, machine_id: 1e10 }, "machine_id"],
      [{ ...valid, machine_id: "07" }, "machine_id"],
      [without("machine_name"), "machine_name"],
      [{ ...valid, machine_name: "" }, "machine_name"],
      [{ ...valid, machine_name: "x".repeat(101) }, "machine_name"],
      [{ ...valid, machine_name: "tab\there" }, "machine_name"],
      [without("machine_type"), "machine_type"],
      [{ ...valid, machine_type: "oven" }, "machine_type"],
      [{ ...valid, secret_key: "" }, "secret_key"],
      [{ ...valid, secret_key: "tab\there" }, "secret_key"],
      [{ ...valid, secret_key: "비밀" }, "secret_key"],
      [{ ...valid, secret_key: "x".repeat(257) }, "secret_key"],
      [{ ...valid, secret_key: 123 }, "secret_key"],
    ];
    for (const [body, field] of corpus) {
      const res = await asAdmin("/admin/add_device", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(res).code).toBe("invalid_body");
      expect(errorOf(res).message, JSON.stringify(body)).toContain(field);
    }
    expect(await dumpDb()).toEqual(before);
  });
});

describe("admin-chosen device secrets (the firmware's own secret)", () => {
  it("adds a device with the fleet-wide firmware secret, warns that it is weak and reused, and the board authenticates with it", async () => {
    const first = await asAdmin("/admin/add_device", {
      ...(VALID["/admin/add_device"] as object),
      secret_key: "secret_key_123",
    });
    expect(first.status).toBe(200);
    const b = bodyOf<SecretBody>(first);
    expect(b.secret_key).toBe("secret_key_123");
    expect(b.firmware_snippet).toContain('const char* SECRET_KEY = "secret_key_123";');
    expect(b.warnings.join(" ")).toContain("published in firmware source");
    expect(b.warnings.join(" ")).toContain("shorter than 16 characters");
    expect(b.warnings.join(" ")).not.toContain("also the secret of");

    const stored = (await testDb().doc("deviceSecrets/7").get()).data() ?? {};
    expect(JSON.stringify(stored)).not.toContain("secret_key_123");

    const second = await asAdmin("/admin/add_device", {
      room_id: 1,
      machine_id: 8,
      machine_name: "건조기 8",
      machine_type: "dryer",
      secret_key: "secret_key_123",
    });
    expect(bodyOf<SecretBody>(second).warnings.join(" ")).toContain("also the secret of machine 7");

    const report = await devicePost("/update", {
      machine_id: 8,
      secret_key: "secret_key_123",
      status: "WASHING",
      machine_type: "washer",
      timestamp: Math.floor(clock / 1000),
      battery: 100,
    });
    expect(report.status).toBe(200);
  });

  it("gives a strong chosen secret no warnings", async () => {
    const res = await asAdmin("/admin/add_device", {
      ...(VALID["/admin/add_device"] as object),
      secret_key: "Zq8-v3Lr_T1m9Wx2Kp7s",
    });
    expect(bodyOf<SecretBody>(res).warnings).toEqual([]);
  });

  it("rotates to a chosen secret: the old one stops working, the chosen one works", async () => {
    const res = await asAdmin("/admin/rotate_device_secret", {
      machine_id: 3,
      secret_key: "Board-3-secret-from-EEPROM",
    });
    expect(res.status).toBe(200);
    expect(bodyOf<SecretBody>(res)).toMatchObject({
      secret_key: "Board-3-secret-from-EEPROM",
      warnings: [],
    });
    const beat = (secret: string) =>
      devicePost("/heartbeat", { machine_id: 3, secret_key: secret, battery: 90 });
    expect((await beat("demo-secret-3")).status).toBe(401);
    expect((await beat("Board-3-secret-from-EEPROM")).status).toBe(200);
  });
});

describe("POST /admin/rotate_device_secret", () => {
  it("answers a new secret once; the old secret stops working and the new one works", async () => {
    const res = await asAdmin("/admin/rotate_device_secret", { machine_id: 2 });
    expect(res.status).toBe(200);
    expect(res.headers?.["Cache-Control"]).toBe("no-store");
    const b = bodyOf<SecretBody>(res);
    expect(b).toMatchObject({ machine_id: 2, room_id: 1, machine_name: "세탁기 2" });
    expect(b.secret_key).not.toBe("demo-secret-2");
    expect(b.firmware_snippet).toContain(`const char* SECRET_KEY = "${b.secret_key}";`);

    const old = await devicePost("/heartbeat", {
      machine_id: 2,
      secret_key: "demo-secret-2",
      battery: 80,
    });
    expect(old.status).toBe(401);
    const fresh = await devicePost("/heartbeat", {
      machine_id: 2,
      secret_key: b.secret_key,
      battery: 80,
    });
    expect(fresh.status).toBe(200);
  });

  it("answers 404 for an unknown machine and 400 naming the field for bad bodies, writing nothing", async () => {
    const before = await dumpDb();
    const missing = await asAdmin("/admin/rotate_device_secret", { machine_id: 50 });
    expect(missing.status).toBe(404);
    expect(errorOf(missing).message).toBe("machine_id: no machine 50");
    for (const [body, field] of [
      [{}, "machine_id"],
      [{ machine_id: "x" }, "machine_id"],
      [{ machine_id: null }, "machine_id"],
      [{ machine_id: 1, secret_key: "" }, "secret_key"],
      [{ machine_id: 1, secret_key: "line\nbreak" }, "secret_key"],
      [{ machine_id: 1, spare: 1 }, "spare"],
    ] as const) {
      const res = await asAdmin("/admin/rotate_device_secret", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(res).message).toContain(field);
    }
    expect(await dumpDb()).toEqual(before);
  });
});

describe("POST /admin/calibration", () => {
  it("switches calibration on and off; the device's raw samples are stored only while on", async () => {
    const raw = () =>
      devicePost("/raw_data", {
        machine_id: 1,
        secret_key: "demo-secret-1",
        timestamp: START,
        samples: [0.1, 0.4, 1.2],
      });
    const on = await asAdmin("/admin/calibration", { machine_id: 1, on: 1 });
    expect(on.body).toEqual({ message: "ok", machine_id: 1, on: 1 });
    expect((await testDb().doc("machines/1").get()).get("calibration")).toBe(true);
    expect((await raw()).body).toMatchObject({ stored: true });

    const off = await asAdmin("/admin/calibration", { machine_id: "1", on: false });
    expect(off.body).toEqual({ message: "ok", machine_id: 1, on: 0 });
    expect((await testDb().doc("machines/1").get()).get("calibration")).toBe(false);
    expect((await raw()).body).toMatchObject({ stored: false });
  });

  it("answers 404 for an unknown machine and 400 naming the field for bad bodies, writing nothing", async () => {
    const before = await dumpDb();
    const missing = await asAdmin("/admin/calibration", { machine_id: 60, on: 1 });
    expect(missing.status).toBe(404);
    expect(errorOf(missing).message).toBe("machine_id: no machine 60");
    for (const [body, field] of [
      [{ on: 1 }, "machine_id"],
      [{ machine_id: 1 }, "on"],
      [{ machine_id: 1, on: 2 }, "on"],
      [{ machine_id: 1, on: "yes" }, "on"],
      [{ machine_id: 1, on: 1, samples: true }, "samples"],
    ] as const) {
      const res = await asAdmin("/admin/calibration", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(res).message).toContain(field);
    }
    expect(await dumpDb()).toEqual(before);
  });
});

describe("firmware snippet", () => {
  it("derives the device URL from x-forwarded-host, a cloudfunctions.net host, or the project", () => {
    expect(deviceBaseUrl({ host: "localhost:5001" }, "p1")).toBe(
      "http://localhost:5001/p1/asia-northeast3/device",
    );
    expect(
      deviceBaseUrl(
        { host: "internal:8080", "x-forwarded-host": "asia-northeast3-p1.cloudfunctions.net, x" },
        "p1",
      ),
    ).toBe("https://asia-northeast3-p1.cloudfunctions.net/device");
    expect(deviceBaseUrl({ host: "api-abc123-du.a.run.app" }, "p1")).toBe(
      "https://asia-northeast3-p1.cloudfunctions.net/device",
    );
    expect(deviceBaseUrl({ host: 'evil"host/\n' }, "p1")).toBe(
      "https://asia-northeast3-p1.cloudfunctions.net/device",
    );
    expect(deviceBaseUrl({}, "p1")).toBe("https://asia-northeast3-p1.cloudfunctions.net/device");
  });

  it("escapes C string literals and keeps the comment on one line", () => {
    const text = firmwareSnippet(
      "https://x.test/device/",
      { machineId: "12", type: "dryer", name: "A동\n#define EVIL 1", roomId: "3" },
      'a"b\\c',
    );
    expect(text.split("\n")).toEqual([
      "// WashCall_Main.ino: replace these definitions (machine 12, A동 #define EVIL 1, room 3, dryer).",
      "// Keep SECRET_KEY private; it is shown only once (rotate it if it leaks).",
      "// HTTPS: see docs/FIRMWARE.md (WiFiClientSecure with the root CA); plain http:// is redirected",
      "// and the firmware does not follow redirects, so its reports would be lost.",
      'String FASTAPI_URL = "https://x.test/device/update";',
      'String RAW_DATA_URL = "https://x.test/device/raw_data";',
      "int MACHINE_ID = 12;",
      'const char* SECRET_KEY = "a\\"b\\\\c";',
      "",
    ]);
  });
});
