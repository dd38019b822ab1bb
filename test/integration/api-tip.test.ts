/**
 * GET /tip through createApiHandler and the real route table: statistics tips without keys,
 * Gemini and KMA behind one local 127.0.0.1 stub (no network), the 10-minute tip cache, the
 * hour-long Firestore forecast cache, the refresh lease, and bad inputs.
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { getAuth } from "firebase-admin/auth";
import { Timestamp } from "firebase-admin/firestore";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { type HttpRequest, type HttpResponse, runHandler } from "../../functions/src/http/adapter";
import { createApiHandler } from "../../functions/src/http/routes";
import type { ApiDeps } from "../../functions/src/http/apiRouter";
import type { Settings } from "../../functions/src/config";
import { cellField } from "../../functions/src/domain/congestion";
import { MINUTE_MS } from "../../functions/src/domain/time";
import { type RoomState, type TipResponse, statisticsTip } from "../../functions/src/domain/tip";
import type { Weather } from "../../functions/src/domain/weather";
import { kmaBaseTime, kmaCacheKey } from "../../functions/src/services/kma/client";
import { parseVilageFcst } from "../../functions/src/services/kma/parse";
import { createRoom } from "../../functions/src/store/machines";
import {
  TIP_LEASE_MS,
  acquireTipLease,
  firestoreWeatherCache,
  roomStateOf,
  tipCacheKey,
  tipLeaseKey,
  writeCachedTip,
} from "../../functions/src/store/tip";
import { type TestUser, bearer, signUpUser } from "../support/auth";
import { dumpDb, jsonRequest, seedDemoWorld, testDb, testSettings } from "../support/world";

/** Server-only cache documents: forecasts, tips and the tip refresh leases. */
const CACHES = "caches";

/** Epoch ms of a KST wall-clock time. */
const kst = (y: number, mo: number, d: number, h: number, mi = 0) =>
  Date.UTC(y, mo - 1, d, h - 9, mi);

/** Saturday 2025-11-15 01:20 KST: the newest KMA run is 2025-11-14 23:00 (the fixture's). */
const NOW = kst(2025, 11, 15, 1, 20);
const FIXTURES = join(__dirname, "..", "fixtures", "kma");
const KMA_XML = readFileSync(join(FIXTURES, "vilage-fcst-20251114-2300.xml"), "utf8");
const KMA_ERROR_XML = readFileSync(join(FIXTURES, "error-unregistered-key.xml"), "utf8");
/** What the fixture says about 01:00 KST (overcast, 5 °C). */
const FIXTURE_WEATHER: Weather = parseVilageFcst(KMA_XML, NOW);
const KMA_KEY = kmaCacheKey(kmaBaseTime(NOW), 60, 127);

/** Room 1 as seeded below: machine 1 free; 2, 3 and 5 running; 4 offline; 6 out of order. */
const ROOM_1: RoomState = {
  roomId: "1",
  name: "1번 세탁실",
  free: 1,
  busy: 3,
  expectedWaitMinutes: null,
};
/** One cycle in every weekday × hour cell, a few more on Saturday evening: 168 + 12. */
const GRID_FIELDS: Record<string, number> = {};
for (let d = 0; d < 7; d++) for (let h = 0; h < 24; h++) GRID_FIELDS[cellField(`${d}.${h}`)] = 1;
for (const h of [18, 19, 20]) GRID_FIELDS[cellField(`5.${h}`)] = 5;
const GRID_TABLE = Object.fromEntries(
  ["월", "화", "수", "목", "금", "토", "일"].map((name, d) => [
    name,
    Array.from({ length: 24 }, (_, h) => GRID_FIELDS[cellField(`${d}.${h}`)]),
  ]),
);

/** The secrets of both services (the route reads them per request), or none. */
function setKeys(on: boolean) {
  process.env.GEMINI_API_KEY = on ? "test-gemini-key" : "";
  process.env.KMA_SERVICE_KEY = on ? "test-kma-key" : "";
}

// ---------------------------------------------------------------------------------------------
// One local stub for both services: every request to their real origins goes to it.

const geminiAnswer = (text: string) =>
  JSON.stringify({
    candidates: [{ content: { parts: [{ text }], role: "model" }, finishReason: "STOP", index: 0 }],
    usageMetadata: { promptTokenCount: 400, candidatesTokenCount: 20, totalTokenCount: 420 },
  });

type GeminiBehaviour = (res: ServerResponse) => void;
const geminiPrompts: string[] = [];
const geminiKeys: (string | undefined)[] = [];
const kmaRequests: URL[] = [];
const pending = new Set<NodeJS.Timeout>();
let gemini: GeminiBehaviour;
let kma: (res: ServerResponse) => void;
let stubOrigin = "";

const stub = createServer((req: IncomingMessage, res: ServerResponse) => {
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (chunk: string) => (body += chunk));
  req.on("end", () => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname.startsWith("/kma/")) {
      kmaRequests.push(url);
      res.setHeader("content-type", "application/xml;charset=UTF-8");
      kma(res);
      return;
    }
    const parsed = JSON.parse(body) as { contents: { parts: { text: string }[] }[] };
    geminiPrompts.push(parsed.contents[0].parts[0].text);
    geminiKeys.push(req.headers["x-goog-api-key"] as string | undefined);
    res.setHeader("content-type", "application/json; charset=UTF-8");
    gemini(res);
  });
});

/** A Gemini answer after `ms` (the timer is cleared after the test). */
const answerAfter =
  (ms: number, text: string): GeminiBehaviour =>
  (res) => {
    pending.add(setTimeout(() => res.end(geminiAnswer(text)), ms));
  };

const realFetch = globalThis.fetch;
const stubbedFetch = (input: string | URL | Request, init?: RequestInit) =>
  realFetch(
    String(input instanceof Request ? input.url : input)
      .replace("https://apis.data.go.kr/", `${stubOrigin}/kma/`)
      .replace("https://generativelanguage.googleapis.com", stubOrigin),
    init,
  );

// ---------------------------------------------------------------------------------------------

let user: TestUser;

function deps(now: number, settings?: Settings): ApiDeps {
  return {
    db: testDb(),
    auth: getAuth(),
    now: () => now,
    version: "test",
    settings: settings ?? testSettings(),
  };
}

async function getTip(
  a: {
    now?: number;
    /** Gemini and KMA configured (the default) or not; undefined: the environment as it is. */
    keys?: boolean;
    settings?: Settings;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    as?: TestUser | null;
    method?: string;
  } = {},
): Promise<HttpResponse> {
  const auth = a.as === null ? {} : bearer(a.as ?? user);
  const req: HttpRequest = {
    ...jsonRequest(a.method ?? "GET", "/tip", undefined, { ...auth, ...a.headers }),
    query: a.query ?? {},
  };
  if (a.keys !== undefined) setKeys(a.keys);
  return runHandler("api", createApiHandler(deps(a.now ?? NOW, a.settings)), req);
}

/**
 * The tip in a 200 body: every answer repeats `tip` as `tip_message` (the seed PWA's field);
 * checked here, then left out so the assertions below compare the TipResponse itself.
 */
const tipOf = (res: HttpResponse): TipResponse => {
  const { tip_message, ...tip } = res.body as TipResponse & { tip_message: unknown };
  expect(tip_message).toBe(tip.tip);
  return tip;
};
const errorOf = (res: HttpResponse) =>
  (res.body as { error: { code: string; message: string } }).error;

/** Every document, the caches included. */
async function snapshot(): Promise<Record<string, unknown>> {
  const out = await dumpDb();
  for (const d of (await testDb().collection(CACHES).get()).docs) out[d.ref.path] = d.data();
  return out;
}

async function cacheDoc(id: string) {
  return testDb().collection(CACHES).doc(id).get();
}

async function seedWorld() {
  await seedDemoWorld();
  const db = testDb();
  const at = (min: number) => Timestamp.fromMillis(NOW + min * MINUTE_MS);
  const machines = db.collection("machines");
  await machines.doc("1").update({ online: true, status: "FINISHED" });
  await machines.doc("2").update({ online: true, status: "WASHING", expectedEndAt: at(25) });
  await machines.doc("3").update({ online: true, status: "SPINNING", expectedEndAt: at(12) });
  await machines.doc("4").update({ online: false, status: "OFF" });
  await machines.doc("5").update({ online: true, status: "DRYING", expectedEndAt: at(40) });
  await machines.doc("6").update({ online: true, status: "OFF", outOfOrder: true });
  await db.collection("congestion").doc("1").set(GRID_FIELDS);
  // A second room whose machines never reported: no live data.
  await createRoom(db, "2", "2번 세탁실");
}

beforeAll(async () => {
  await new Promise<void>((resolve) => stub.listen(0, "127.0.0.1", resolve));
  stubOrigin = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  vi.stubGlobal("fetch", stubbedFetch);
  user = await signUpUser("tip");
});

afterAll(async () => {
  vi.unstubAllGlobals();
  for (const name of ["GEMINI_API_KEY", "KMA_SERVICE_KEY"]) delete process.env[name];
  pending.forEach(clearTimeout);
  stub.closeAllConnections();
  await new Promise<void>((resolve) => stub.close(() => resolve()));
});

beforeEach(async () => {
  geminiPrompts.length = 0;
  geminiKeys.length = 0;
  kmaRequests.length = 0;
  gemini = (res) => res.end(geminiAnswer("지금은 한산해요."));
  kma = (res) => res.end(KMA_XML);
  setKeys(true);
  await seedWorld();
});

afterEach(() => {
  pending.forEach(clearTimeout);
  pending.clear();
});

// ---------------------------------------------------------------------------------------------

describe("GET /tip without keys", () => {
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    for (const name of ["GEMINI_API_KEY", "KMA_SERVICE_KEY", "GEMINI_MODEL", "KMA_NX", "KMA_NY"]) {
      saved[name] = process.env[name];
      delete process.env[name];
    }
  });
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it("answers 200 with a statistics tip from the grid and room state, without weather", async () => {
    const res = await getTip();
    expect(res.status).toBe(200);
    expect(res.headers?.["X-Tip-Cache"]).toBe("miss");
    expect(res.headers?.["Content-Language"]).toBe("ko");
    expect(tipOf(res)).toEqual({
      tip: statisticsTip({ now: NOW, rooms: [ROOM_1], grid: GRID_TABLE, locale: "ko" }),
      source: "statistics",
      weather: null,
      generatedAt: new Date(NOW).toISOString(),
      roomId: null,
    });
    expect(kmaRequests).toHaveLength(0);
    expect(geminiPrompts).toHaveLength(0);
  });

  it("serves a second call within 10 minutes from the cache, then makes a new tip", async () => {
    const first = await getTip();
    const cached = await cacheDoc(tipCacheKey("all", "ko"));
    expect(cached.get("value")).toEqual(tipOf(first));
    expect((cached.get("freshUntil") as Timestamp).toMillis()).toBe(NOW + 10 * MINUTE_MS);

    const second = await getTip({ now: NOW + 9 * MINUTE_MS + 59_000 });
    expect(second.headers?.["X-Tip-Cache"]).toBe("hit");
    expect(second.body).toEqual(first.body);

    const later = NOW + 10 * MINUTE_MS;
    const third = await getTip({ now: later });
    expect(third.headers?.["X-Tip-Cache"]).toBe("miss");
    expect(tipOf(third).generatedAt).toBe(new Date(later).toISOString());
  });
});

describe("GET /tip with Gemini and KMA (local stub)", () => {
  it("answers with Gemini's sanitised sentence and the KMA weather it was told about", async () => {
    gemini = (res) =>
      res.end(geminiAnswer("## 추천\n\n**지금은 한산해요!** 😊 비 소식은 없어요.\n\n- 참고"));
    const res = await getTip();
    expect(res.status).toBe(200);
    expect(tipOf(res)).toEqual({
      tip: "지금은 한산해요!",
      source: "gemini",
      weather: FIXTURE_WEATHER,
      generatedAt: new Date(NOW).toISOString(),
      roomId: null,
    });
    expect(FIXTURE_WEATHER).toMatchObject({
      baseDate: "20251114",
      baseTime: "2300",
      sky: "overcast",
    });
    expect(geminiKeys).toEqual(["test-gemini-key"]);
    const prompt = geminiPrompts[0];
    expect(prompt).toContain("2025-11-15 Sat (토) 01:20 KST");
    expect(prompt).toContain("Today is not a public holiday.");
    expect(prompt).toContain("Weather forecast for 1:00: overcast, 5°C");
    expect(prompt).toContain("- 1번 세탁실 (id 1): 1 free, 3 busy; a machine is free now");
    expect(prompt).not.toContain("2번 세탁실");
    expect(prompt).toContain("Sat (토) [today]: 1 1 1");
    expect(prompt).toContain("Answer in Korean");
    expect(kmaRequests).toHaveLength(1);
    expect(kmaRequests[0].searchParams.get("base_date")).toBe("20251114");
    expect(kmaRequests[0].searchParams.get("base_time")).toBe("2300");
    expect(kmaRequests[0].searchParams.get("serviceKey")).toBe("test-kma-key");
  });

  it("calls neither service again within 10 minutes; after that Gemini again, KMA from its cache", async () => {
    const first = await getTip();
    expect(geminiPrompts).toHaveLength(1);
    expect(kmaRequests).toHaveLength(1);

    const second = await getTip({ now: NOW + 5 * MINUTE_MS });
    expect(second.body).toEqual(first.body);
    expect(tipOf(second).generatedAt).toBe(new Date(NOW).toISOString());
    expect(geminiPrompts).toHaveLength(1);
    expect(kmaRequests).toHaveLength(1);

    gemini = (res) => res.end(geminiAnswer("이제는 21시 이후가 좋아요."));
    const later = NOW + 11 * MINUTE_MS;
    const third = await getTip({ now: later });
    expect(tipOf(third)).toMatchObject({
      tip: "이제는 21시 이후가 좋아요.",
      source: "gemini",
      weather: FIXTURE_WEATHER,
      generatedAt: new Date(later).toISOString(),
    });
    expect(geminiPrompts).toHaveLength(2);
    expect(kmaRequests).toHaveLength(1); // same run, served by the Firestore forecast cache
  });

  it("falls back to the statistics tip with the same weather when Gemini times out", async () => {
    gemini = answerAfter(10_000, "너무 늦은 답이에요."); // past the client's timeout
    const settings = testSettings();
    const res = await getTip({
      settings: { ...settings, gemini: { ...settings.gemini, timeoutMs: 200 } },
    });
    expect(res.status).toBe(200);
    expect(tipOf(res)).toEqual({
      tip: statisticsTip({ now: NOW, rooms: [ROOM_1], grid: GRID_TABLE, locale: "ko" }),
      source: "statistics",
      weather: FIXTURE_WEATHER,
      generatedAt: new Date(NOW).toISOString(),
      roomId: null,
    });
    expect(geminiPrompts).toHaveLength(1);
  });

  it.each([
    ["a body that is not JSON", "<html>proxy error</html>"],
    ["an answer with nothing usable", geminiAnswer("```\n🧺🧺🧺\n```")],
    ["a blocked answer", JSON.stringify({ promptFeedback: { blockReason: "SAFETY" } })],
  ])("falls back to the statistics tip on %s", async (_name, body) => {
    gemini = (res) => res.end(body);
    const res = await getTip();
    expect(res.status).toBe(200);
    expect(tipOf(res).source).toBe("statistics");
    expect(tipOf(res).tip).toBe(
      statisticsTip({ now: NOW, rooms: [ROOM_1], grid: GRID_TABLE, locale: "ko" }),
    );
    expect(tipOf(res).weather).toEqual(FIXTURE_WEATHER);
  });

  it("falls back to the statistics tip when Gemini answers HTTP 429", async () => {
    gemini = (res) => {
      res.statusCode = 429;
      res.end(
        JSON.stringify({ error: { code: 429, message: "quota", status: "RESOURCE_EXHAUSTED" } }),
      );
    };
    const res = await getTip();
    expect(tipOf(res).source).toBe("statistics");
  });

  it("makes the tip without weather when KMA answers with an error, and caches no forecast", async () => {
    kma = (res) => res.end(KMA_ERROR_XML);
    const res = await getTip();
    expect(res.status).toBe(200);
    expect(tipOf(res)).toMatchObject({ source: "gemini", tip: "지금은 한산해요.", weather: null });
    expect(geminiPrompts[0]).toContain("Weather: unknown.");
    expect((await cacheDoc(KMA_KEY)).exists).toBe(false);
  });

  it("makes the statistics tip without calling Gemini while the grid is too thin", async () => {
    await testDb().collection("congestion").doc("1").set({ w0h10: 3 });
    const res = await getTip();
    expect(tipOf(res).source).toBe("statistics");
    expect(tipOf(res).tip).toBe("아직 이용 통계가 부족하지만 지금 빈 기계가 1대 있어요.");
    expect(tipOf(res).weather).toEqual(FIXTURE_WEATHER);
    expect(geminiPrompts).toHaveLength(0);
  });

  it("uses the configured model and grid", async () => {
    const base = testSettings();
    const settings = testSettings({
      gemini: { ...base.gemini, model: "gemini-other" },
      kma: { ...base.kma, nx: 55, ny: 124 },
    });
    await getTip({ settings });
    expect(kmaRequests[0].searchParams.get("nx")).toBe("55");
    expect(kmaRequests[0].searchParams.get("ny")).toBe("124");
    expect((await cacheDoc(kmaCacheKey(kmaBaseTime(NOW), 55, 124))).exists).toBe(true);
  });
});

describe("the Firestore forecast cache", () => {
  it("stores the forecast for an hour under its run and grid (a miss, then hits)", async () => {
    await getTip();
    const doc = await cacheDoc(KMA_KEY);
    expect(doc.get("kind")).toBe("weather");
    expect(doc.get("value")).toEqual(FIXTURE_WEATHER);
    expect((doc.get("expireAt") as Timestamp).toMillis()).toBe(NOW + 60 * MINUTE_MS);
    expect(kmaRequests).toHaveLength(1);
  });

  it("uses a cached forecast without asking KMA", async () => {
    const cachedWeather: Weather = { ...FIXTURE_WEATHER, temperatureC: 31, sky: "clear" };
    await firestoreWeatherCache(testDb(), () => NOW - 30 * MINUTE_MS).set(
      KMA_KEY,
      cachedWeather,
      60 * MINUTE_MS,
    );
    const res = await getTip();
    expect(tipOf(res).weather).toEqual(cachedWeather);
    expect(geminiPrompts[0]).toContain("clear, 31°C");
    expect(kmaRequests).toHaveLength(0);
  });

  it("asks KMA again once the cached forecast is an hour old, and replaces it", async () => {
    const old: Weather = { ...FIXTURE_WEATHER, temperatureC: 31 };
    await firestoreWeatherCache(testDb(), () => NOW - 60 * MINUTE_MS).set(
      KMA_KEY,
      old,
      60 * MINUTE_MS,
    );
    const res = await getTip();
    expect(tipOf(res).weather).toEqual(FIXTURE_WEATHER);
    expect(kmaRequests).toHaveLength(1);
    expect((await cacheDoc(KMA_KEY)).get("value")).toEqual(FIXTURE_WEATHER);
  });

  it("reads a value as null from its expiry on, and ignores a value that is not a forecast", async () => {
    let clock = NOW;
    const cache = firestoreWeatherCache(testDb(), () => clock);
    await cache.set("kma_test", FIXTURE_WEATHER, 60 * MINUTE_MS);
    clock = NOW + 60 * MINUTE_MS - 1;
    expect(await cache.get("kma_test")).toEqual(FIXTURE_WEATHER);
    clock = NOW + 60 * MINUTE_MS;
    expect(await cache.get("kma_test")).toBeNull();
    expect(await cache.get("kma_missing")).toBeNull();
    await testDb()
      .collection(CACHES)
      .doc("kma_garbage")
      .set({ value: { temperatureC: 3 }, expireAt: Timestamp.fromMillis(NOW + MINUTE_MS) });
    clock = NOW;
    expect(await cache.get("kma_garbage")).toBeNull();
  });
});

describe("one refresh at a time", () => {
  it("makes exactly one Gemini call for 5 parallel requests, and all get its tip", async () => {
    gemini = answerAfter(300, "지금 바로 세탁하세요.");
    const responses = await Promise.all(Array.from({ length: 5 }, () => getTip()));
    expect(geminiPrompts).toHaveLength(1);
    expect(kmaRequests).toHaveLength(1);
    for (const res of responses) {
      expect(res.status).toBe(200);
      expect(tipOf(res)).toMatchObject({
        tip: "지금 바로 세탁하세요.",
        source: "gemini",
        generatedAt: new Date(NOW).toISOString(),
      });
    }
    const states = responses.map((r) => r.headers?.["X-Tip-Cache"]);
    expect(states.filter((s) => s === "miss")).toHaveLength(1);
    expect(states.every((s) => s === "miss" || s === "waited" || s === "hit")).toBe(true);
    // The lease is released once the tip is written.
    const leases = (await testDb().collection(CACHES).get()).docs.filter((d) =>
      d.id.startsWith("tip-lease-"),
    );
    expect(leases).toHaveLength(0);
  });

  it("serves the stale tip while another request holds the refresh lease", async () => {
    const oldAt = NOW - 15 * MINUTE_MS;
    const old: TipResponse = {
      tip: "예전 팁이에요.",
      source: "gemini",
      weather: null,
      generatedAt: new Date(oldAt).toISOString(),
      roomId: null,
    };
    await writeCachedTip(testDb(), "all", "ko", old, oldAt);
    await testDb()
      .collection(CACHES)
      .doc(tipLeaseKey("all", "ko"))
      .create({ kind: "tip-lease", holder: "other", expireAt: Timestamp.fromMillis(NOW + 20_000) });
    const res = await getTip();
    expect(res.headers?.["X-Tip-Cache"]).toBe("stale");
    expect(tipOf(res)).toEqual(old);
    expect(geminiPrompts).toHaveLength(0);
    expect(kmaRequests).toHaveLength(0);
  });

  it("answers with the statistics tip and the cached weather, without Gemini, when the holder is slow and nothing is cached", async () => {
    await firestoreWeatherCache(testDb(), () => NOW).set(KMA_KEY, FIXTURE_WEATHER, 60 * MINUTE_MS);
    await testDb()
      .collection(CACHES)
      .doc(tipLeaseKey("all", "ko"))
      .create({ kind: "tip-lease", holder: "other", expireAt: Timestamp.fromMillis(NOW + 20_000) });
    const res = await getTip({ settings: testSettings({ tipLeaseWaitMs: 300 }) });
    expect(res.status).toBe(200);
    expect(res.headers?.["X-Tip-Cache"]).toBe("busy");
    expect(tipOf(res)).toMatchObject({ source: "statistics", weather: FIXTURE_WEATHER });
    expect(geminiPrompts).toHaveLength(0);
    expect(kmaRequests).toHaveLength(0);
    // Nothing cached: the holder writes the tip.
    expect((await cacheDoc(tipCacheKey("all", "ko"))).exists).toBe(false);
  });

  it("takes over the expired lease of a holder that died and refreshes", async () => {
    const dead = tipLeaseKey("all", "ko");
    await testDb()
      .collection(CACHES)
      .doc(dead)
      .create({
        kind: "tip-lease",
        holder: "dead",
        takenAt: Timestamp.fromMillis(NOW - TIP_LEASE_MS - 1_000),
        expireAt: Timestamp.fromMillis(NOW - 1_000),
      });
    const res = await getTip();
    expect(res.headers?.["X-Tip-Cache"]).toBe("miss");
    expect(tipOf(res).source).toBe("gemini");
    expect(geminiPrompts).toHaveLength(1);
    // Taken over, then released by the new holder once its tip was written.
    expect((await cacheDoc(dead)).exists).toBe(false);
  });
});

describe("the refresh lease", () => {
  const take = (now: number) => acquireTipLease(testDb(), { scope: "all", locale: "ko", now });

  it("goes to exactly one of ten requests taking it at once", async () => {
    const leases = await Promise.all(Array.from({ length: 10 }, () => take(NOW)));
    expect(leases.filter((l) => l !== null)).toHaveLength(1);
  });

  it("a holder that outlived its lease cannot release its successor's", async () => {
    const slow = await take(NOW);
    expect(slow).not.toBeNull();
    const slowHolder: unknown = (await cacheDoc(tipLeaseKey("all", "ko"))).get("holder");
    expect(await take(NOW + TIP_LEASE_MS - 1)).toBeNull();
    const next = await take(NOW + TIP_LEASE_MS);
    expect(next).not.toBeNull();
    const nextHolder: unknown = (await cacheDoc(tipLeaseKey("all", "ko"))).get("holder");
    expect(nextHolder).not.toBe(slowHolder);
    await slow?.release();
    expect((await cacheDoc(tipLeaseKey("all", "ko"))).get("holder")).toBe(nextHolder);
    await next?.release();
    expect((await cacheDoc(tipLeaseKey("all", "ko"))).exists).toBe(false);
  });
});

describe("rooms and locales", () => {
  it("answers for one room and caches it under that room", async () => {
    const res = await getTip({ query: { room_id: "1" }, keys: false });
    expect(tipOf(res)).toMatchObject({
      roomId: "1",
      source: "statistics",
      tip: statisticsTip({ now: NOW, rooms: [ROOM_1], grid: GRID_TABLE, locale: "ko" }),
    });
    expect((await cacheDoc(tipCacheKey("1", "ko"))).exists).toBe(true);
    expect((await cacheDoc(tipCacheKey("all", "ko"))).exists).toBe(false);
  });

  it("says honestly that data is missing for a room whose machines never reported", async () => {
    const res = await getTip({ query: { room_id: "2" }, keys: false });
    expect(tipOf(res)).toMatchObject({
      roomId: "2",
      tip: "아직 이용 통계가 부족해 한산한 시간을 알려드리기 어려워요.",
    });
  });

  it("answers in English for Accept-Language en, cached apart from the Korean tip", async () => {
    const en = await getTip({
      keys: false,
      headers: { "accept-language": "en-US,en;q=0.9,ko;q=0.5" },
    });
    expect(en.headers?.["Content-Language"]).toBe("en");
    expect(tipOf(en).tip).toBe(
      statisticsTip({ now: NOW, rooms: [ROOM_1], grid: GRID_TABLE, locale: "en" }),
    );
    const ko = await getTip({ keys: false });
    expect(tipOf(ko).tip).toBe(
      statisticsTip({ now: NOW, rooms: [ROOM_1], grid: GRID_TABLE, locale: "ko" }),
    );
    expect((await cacheDoc(tipCacheKey("all", "en"))).exists).toBe(true);
    expect((await cacheDoc(tipCacheKey("all", "ko"))).exists).toBe(true);
  });

  it("uses the user's stored locale without an Accept-Language naming ko or en, and asks Gemini in it", async () => {
    await testDb().collection("users").doc(user.uid).set({ locale: "en-GB" });
    gemini = (res) => res.end(geminiAnswer("It's quiet now, go ahead."));
    const res = await getTip({ headers: { "accept-language": "fr-FR" } });
    expect(res.headers?.["Content-Language"]).toBe("en");
    expect(tipOf(res).tip).toBe("It's quiet now, go ahead.");
    expect(geminiPrompts[0]).toContain("Answer in English");
    const ko = await getTip({
      keys: false,
      headers: { "accept-language": "ko-KR" },
    });
    expect(ko.headers?.["Content-Language"]).toBe("ko");
  });
});

describe("bad requests", () => {
  it.each(["abc", "0", "-1", "1.5", "", "01", "1234567890", "1/2", " 1"])(
    "answers 400 naming room_id for room_id=%j and writes nothing",
    async (roomId) => {
      const before = await snapshot();
      const res = await getTip({ query: { room_id: roomId } });
      expect(res.status).toBe(400);
      expect(errorOf(res).code).toBe("invalid_query");
      expect(errorOf(res).message).toMatch(/^room_id: /);
      expect(await snapshot()).toEqual(before);
      expect(geminiPrompts).toHaveLength(0);
    },
  );

  it("answers 400 naming an unknown query parameter", async () => {
    const res = await getTip({ query: { room: "1" } });
    expect(res.status).toBe(400);
    expect(errorOf(res)).toEqual({ code: "invalid_query", message: "unknown field room" });
  });

  it("answers 404 naming the room for an unknown room_id and writes nothing", async () => {
    const before = await snapshot();
    const res = await getTip({ query: { room_id: "99" } });
    expect(res.status).toBe(404);
    expect(errorOf(res)).toEqual({ code: "not_found", message: "room_id: no room 99" });
    expect(await snapshot()).toEqual(before);
    expect(geminiPrompts).toHaveLength(0);
    expect(kmaRequests).toHaveLength(0);
  });

  it("answers 401 without a token or with a bad one, and 405 for POST", async () => {
    const before = await snapshot();
    const none = await getTip({ as: null });
    expect(none.status).toBe(401);
    expect(errorOf(none).code).toBe("unauthenticated");
    const bad = await getTip({ headers: { authorization: "Bearer not.a.token" } });
    expect(bad.status).toBe(401);
    const post = await getTip({ method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers?.Allow).toBe("GET");
    expect(await snapshot()).toEqual(before);
    expect(geminiPrompts).toHaveLength(0);
  });
});

describe("room state for the tip", () => {
  const m = (status: string, extra: Partial<Parameters<typeof roomStateOf>[2][number]> = {}) => ({
    roomId: "1",
    status: status as "OFF",
    online: true,
    outOfOrder: false,
    expectedEndAt: null,
    ...extra,
  });

  it("counts free and busy among online machines in order", () => {
    expect(
      roomStateOf(
        "1",
        "A",
        [m("FINISHED"), m("WASHING"), m("OFF", { online: false }), m("OFF", { outOfOrder: true })],
        NOW,
      ),
    ).toEqual({ roomId: "1", name: "A", free: 1, busy: 1, expectedWaitMinutes: null });
  });

  it("gives the soonest expected end in whole minutes when all are busy, 0 when overdue", () => {
    const ends = [NOW + 14.2 * MINUTE_MS, NOW + 30 * MINUTE_MS];
    expect(
      roomStateOf(
        "1",
        "A",
        [m("WASHING", { expectedEndAt: ends[1] }), m("DRYING", { expectedEndAt: ends[0] })],
        NOW,
      )?.expectedWaitMinutes,
    ).toBe(15);
    expect(
      roomStateOf("1", "A", [m("SPINNING", { expectedEndAt: NOW - MINUTE_MS })], NOW)
        ?.expectedWaitMinutes,
    ).toBe(0);
    expect(roomStateOf("1", "A", [m("SPINNING")], NOW)?.expectedWaitMinutes).toBeNull();
  });

  it("has no state for a room without live machines", () => {
    expect(roomStateOf("1", "A", [], NOW)).toBeNull();
    expect(roomStateOf("1", "A", [m("WASHING", { online: false })], NOW)).toBeNull();
  });
});
