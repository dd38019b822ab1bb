import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { Weather } from "../../functions/src/domain/weather";
import {
  KMA_CACHE_TTL_MS,
  KMA_STALE_CACHE_TTL_MS,
  createKmaClient,
  kmaBaseTime,
  kmaCacheKey,
  previousSlot,
  type WeatherCache,
} from "../../functions/src/services/kma/client";
import { KmaError, parseKmaItems, parseVilageFcst } from "../../functions/src/services/kma/parse";

const fixture = (name: string) => readFileSync(join(__dirname, "../fixtures/kma", name), "utf8");
const XML = fixture("vilage-fcst-20251114-2300.xml");
const UNREGISTERED_KEY = fixture("error-unregistered-key.xml");
const NO_DATA_XML = fixture("error-no-data.xml");

/** Epoch ms of a KST wall-clock time. */
const kst = (y: number, mo: number, d: number, h: number, mi = 0, s = 0) =>
  Date.UTC(y, mo - 1, d, h - 9, mi, s);

const resultBody = (code: string, msg: string) =>
  `<response><header><resultCode>${code}</resultCode><resultMsg>${msg}</resultMsg></header></response>`;

describe("base date/time", () => {
  it.each([
    ["00:00 uses 23:00 of the previous day", kst(2025, 11, 15, 0, 0), "20251114", "2300"],
    [
      "02:09:59 still uses 23:00 of the previous day",
      kst(2025, 11, 15, 2, 9, 59),
      "20251114",
      "2300",
    ],
    ["02:10 uses today's 02:00 run", kst(2025, 11, 15, 2, 10), "20251115", "0200"],
    ["05:09 keeps 02:00", kst(2025, 11, 15, 5, 9), "20251115", "0200"],
    ["05:10 moves to 05:00", kst(2025, 11, 15, 5, 10), "20251115", "0500"],
    ["14:30 uses 14:00", kst(2025, 11, 15, 14, 30), "20251115", "1400"],
    ["23:09 keeps 20:00", kst(2025, 11, 15, 23, 9), "20251115", "2000"],
    ["23:10 moves to 23:00", kst(2025, 11, 15, 23, 10), "20251115", "2300"],
    ["23:59 uses 23:00 of the same day", kst(2025, 11, 15, 23, 59), "20251115", "2300"],
    ["01:00 on New Year's Day uses 31 December", kst(2026, 1, 1, 1, 0), "20251231", "2300"],
    ["00:30 on 1 March uses 28 February", kst(2025, 3, 1, 0, 30), "20250228", "2300"],
    ["02:00 on 1 March of a leap year uses 29 February", kst(2028, 3, 1, 2, 0), "20280229", "2300"],
  ])("%s", (_name, now, baseDate, baseTime) => {
    const slot = kmaBaseTime(now);
    expect({ baseDate: slot.baseDate, baseTime: slot.baseTime }).toEqual({ baseDate, baseTime });
  });

  it("steps back three hours and across midnight for the previous run", () => {
    const slot = kmaBaseTime(kst(2025, 11, 15, 3, 0));
    expect(slot.baseTime).toBe("0200");
    const prev = previousSlot(slot);
    expect({ baseDate: prev.baseDate, baseTime: prev.baseTime }).toEqual({
      baseDate: "20251114",
      baseTime: "2300",
    });
  });

  it("always picks a published slot less than 3 h 10 min old", () => {
    fc.assert(
      fc.property(fc.integer({ min: kst(2024, 1, 1, 0), max: kst(2031, 1, 1, 0) }), (now) => {
        const slot = kmaBaseTime(now);
        const age = now - slot.at;
        expect(age).toBeGreaterThanOrEqual(10 * 60_000);
        expect(age).toBeLessThan(190 * 60_000);
        expect([2, 5, 8, 11, 14, 17, 20, 23]).toContain(Number(slot.baseTime.slice(0, 2)));
        expect(slot.at).toBe(
          Date.UTC(
            +slot.baseDate.slice(0, 4),
            +slot.baseDate.slice(4, 6) - 1,
            +slot.baseDate.slice(6, 8),
            +slot.baseTime.slice(0, 2) - 9,
          ),
        );
      }),
    );
  });
});

describe("parsing getVilageFcst", () => {
  it("reads every row of the XML response as text", () => {
    const items = parseKmaItems(XML);
    expect(items).toHaveLength(60);
    expect(items[0]).toEqual({
      baseDate: "20251114",
      baseTime: "2300",
      category: "TMP",
      fcstDate: "20251115",
      fcstTime: "0000",
      fcstValue: "6",
      nx: 60,
      ny: 127,
    });
  });

  it("picks the forecast hour nearest to now and maps the codes", () => {
    expect(parseVilageFcst(XML, kst(2025, 11, 15, 1, 20))).toEqual({
      forecastAt: new Date(kst(2025, 11, 15, 1)).toISOString(),
      baseDate: "20251114",
      baseTime: "2300",
      nx: 60,
      ny: 127,
      temperatureC: 5,
      precipitationProbability: 30,
      precipitationType: "none",
      precipitationMm: 0,
      precipitationText: "강수없음",
      humidity: 75,
      sky: "overcast",
    } satisfies Weather);
  });

  it("rounds half past up to the next hour and reads '1mm 미만' rain", () => {
    const w = parseVilageFcst(XML, kst(2025, 11, 15, 1, 30));
    expect(w.forecastAt).toBe(new Date(kst(2025, 11, 15, 2)).toISOString());
    expect(w.precipitationType).toBe("rain");
    expect(w.precipitationMm).toBe(0.5);
    expect(w.precipitationText).toBe("1mm 미만");
    expect(w.precipitationProbability).toBe(60);
  });

  it("uses the first hour before the run's range and the last one after it", () => {
    const before = parseVilageFcst(XML, kst(2025, 11, 14, 23, 15));
    expect(before.forecastAt).toBe(new Date(kst(2025, 11, 15, 0)).toISOString());
    expect(before.sky).toBe("mostly_cloudy");
    const after = parseVilageFcst(XML, kst(2025, 11, 15, 9, 0));
    expect(after.forecastAt).toBe(new Date(kst(2025, 11, 15, 4)).toISOString());
    expect(after.precipitationType).toBe("shower");
    expect(after.precipitationMm).toBe(30);
  });

  it("turns the gateway's unregistered-key answer into a typed error", () => {
    const error = catchKma(() => parseKmaItems(UNREGISTERED_KEY));
    expect(error.code).toBe("unregistered_key");
    expect(error.resultCode).toBe("30");
    expect(error.message).toContain("SERVICE_KEY_IS_NOT_REGISTERED_ERROR");
  });

  it("turns resultCode 03 into no_data", () => {
    expect(catchKma(() => parseKmaItems(NO_DATA_XML)).code).toBe("no_data");
  });

  it.each([
    ["10", "INVALID_REQUEST_PARAMETER_ERROR", "invalid_params"],
    ["11", "NO_MANDATORY_REQUEST_PARAMETERS_ERROR", "invalid_params"],
    ["22", "LIMITED_NUMBER_OF_SERVICE_REQUESTS_EXCEEDS_ERROR", "request_limit"],
    ["31", "DEADLINE_HAS_EXPIRED_ERROR", "expired_key"],
    ["32", "UNREGISTERED_IP_ERROR", "unregistered_ip"],
    ["20", "SERVICE_ACCESS_DENIED_ERROR", "access_denied"],
    ["01", "APPLICATION_ERROR", "service_error"],
    ["99", "UNKNOWN_ERROR", "service_error"],
  ])("maps resultCode %s (%s) to %s", (code, msg, expected) => {
    const error = catchKma(() => parseKmaItems(resultBody(code, msg)));
    expect(error.code).toBe(expected);
    expect(error.resultCode).toBe(code);
  });

  it("rejects a body that is not XML as bad_response", () => {
    expect(catchKma(() => parseKmaItems("Unauthorized")).code).toBe("bad_response");
    expect(catchKma(() => parseKmaItems('{"response":{}}')).code).toBe("bad_response");
    expect(catchKma(() => parseKmaItems("<html><body>oops</body></html>")).code).toBe(
      "bad_response",
    );
  });

  it("reports no_data for a normal answer without forecast rows", () => {
    const empty =
      "<response><header><resultCode>00</resultCode><resultMsg>NORMAL_SERVICE</resultMsg></header><body><items></items></body></response>";
    expect(catchKma(() => parseVilageFcst(empty, kst(2025, 11, 15, 1))).code).toBe("no_data");
  });
});

function catchKma(fn: () => unknown): KmaError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KmaError) return e;
    throw e;
  }
  throw new Error("expected a KmaError");
}

async function rejection(promise: Promise<unknown>): Promise<KmaError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof KmaError) return e;
    throw e;
  }
  throw new Error("expected a KmaError");
}

type Handler = (url: URL, res: ServerResponse, req: IncomingMessage) => void;

describe("KMA client against a local stub", () => {
  const requests: URL[] = [];
  const pending = new Set<NodeJS.Timeout>();
  let handler: Handler = (_url, res) => res.end(XML);
  let baseUrl = "";
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    requests.push(url);
    handler(url, res, req);
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    baseUrl = `http://127.0.0.1:${port}`;
    // Requests to data.go.kr go to the stub (or wherever a test points baseUrl).
    const realFetch = globalThis.fetch;
    vi.stubGlobal("fetch", (input: string | URL, init?: RequestInit) =>
      realFetch(String(input).replace("https://apis.data.go.kr", baseUrl), init),
    );
  });
  afterAll(async () => {
    vi.unstubAllGlobals();
    pending.forEach(clearTimeout);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    requests.length = 0;
    handler = (_url, res) => {
      res.setHeader("content-type", "application/xml;charset=UTF-8");
      res.end(XML);
    };
  });

  class MemoryCache implements WeatherCache {
    readonly entries = new Map<string, { value: Weather; ttlMs: number }>();
    readonly sets: { key: string; ttlMs: number }[] = [];
    get(key: string): Promise<Weather | null> {
      return Promise.resolve(this.entries.get(key)?.value ?? null);
    }
    set(key: string, value: Weather, ttlMs: number): Promise<void> {
      this.sets.push({ key, ttlMs });
      this.entries.set(key, { value, ttlMs });
      return Promise.resolve();
    }
  }

  const now = kst(2025, 11, 15, 1, 20); // run 2025-11-14 23:00
  const client = (extra: Partial<Parameters<typeof createKmaClient>[0]> = {}) =>
    createKmaClient({
      serviceKey: "test-key",
      nx: 60,
      ny: 127,
      timeoutMs: 5_000,
      cache: new MemoryCache(),
      ...extra,
    });

  it("asks for the current run at the grid with every required parameter", async () => {
    const weather = await client({ serviceKey: "abc%2Bdef%3D%3D" }).getForecast(now);
    expect(weather.temperatureC).toBe(5);
    expect(requests).toHaveLength(1);
    const params = Object.fromEntries(requests[0].searchParams);
    expect(params).toEqual({
      serviceKey: "abc+def==", // the URL-encoded "Encoding" key is not encoded twice
      pageNo: "1",
      numOfRows: "300",
      dataType: "XML",
      base_date: "20251114",
      base_time: "2300",
      nx: "60",
      ny: "127",
    });
  });

  it("fetches once on a cache miss, then serves the run from the cache for an hour", async () => {
    const cache = new MemoryCache();
    const kma = client({ cache });
    const first = await kma.getForecast(now);
    expect(requests).toHaveLength(1);
    expect(cache.sets).toEqual([
      { key: kmaCacheKey(kmaBaseTime(now), 60, 127), ttlMs: KMA_CACHE_TTL_MS },
    ]);
    expect(cache.sets[0].key).toBe("kma_20251114_2300_60_127");
    const second = await kma.getForecast(now + 30 * 60_000);
    expect(requests).toHaveLength(1);
    expect(second).toEqual(first);
  });

  it("makes no HTTP call when the cache already holds the run", async () => {
    const cache = new MemoryCache();
    const cached = { ...parseVilageFcst(XML, now), temperatureC: 21 };
    await cache.set("kma_20251114_2300_60_127", cached, KMA_CACHE_TTL_MS);
    expect(await client({ cache }).getForecast(now)).toEqual(cached);
    expect(requests).toHaveLength(0);
  });

  it("still fetches when the cache cannot be read", async () => {
    const broken: WeatherCache = {
      get: () => Promise.reject(new Error("firestore down")),
      set: () => Promise.reject(new Error("firestore down")),
    };
    const weather = await client({ cache: broken }).getForecast(now);
    expect(weather.humidity).toBe(75);
    expect(requests).toHaveLength(1);
  });

  it("falls back to the previous run when the current one has no data yet", async () => {
    handler = (url, res) =>
      res.end(url.searchParams.get("base_time") === "0200" ? NO_DATA_XML : XML);
    const cache = new MemoryCache();
    const at = kst(2025, 11, 15, 2, 12); // run 02:00 is due but not out yet
    const weather = await client({ cache }).getForecast(at);
    expect(requests.map((u) => u.searchParams.get("base_time"))).toEqual(["0200", "2300"]);
    expect(requests[1].searchParams.get("base_date")).toBe("20251114");
    expect(weather.baseTime).toBe("2300");
    expect(cache.sets).toEqual([
      { key: "kma_20251115_0200_60_127", ttlMs: KMA_STALE_CACHE_TTL_MS },
    ]);
  });

  it("rejects with a typed error for an unregistered key and caches nothing", async () => {
    handler = (_url, res) => res.end(UNREGISTERED_KEY);
    const cache = new MemoryCache();
    const error = await rejection(client({ cache }).getForecast(now));
    expect(error.code).toBe("unregistered_key");
    expect(cache.sets).toHaveLength(0);
  });

  it("reads the KMA error in a non-2xx body", async () => {
    handler = (_url, res) => {
      res.statusCode = 401;
      res.end(UNREGISTERED_KEY);
    };
    expect((await rejection(client().getForecast(now))).code).toBe("unregistered_key");
  });

  it("turns a bare HTTP error into an http error with its status, without the key", async () => {
    handler = (_url, res) => {
      res.statusCode = 502;
      res.end("Bad Gateway");
    };
    const error = await rejection(client({ serviceKey: "s3cr3t-key" }).getForecast(now));
    expect(error.code).toBe("http");
    expect(error.status).toBe(502);
    expect(error.message).not.toContain("s3cr3t-key");
  });

  it("gives up after the timeout with a typed timeout error", async () => {
    handler = (_url, res) => {
      const t = setTimeout(() => res.end(XML), 8_000);
      pending.add(t);
    };
    const error = await rejection(client({ timeoutMs: 300 }).getForecast(now));
    expect(error.code).toBe("timeout");
  });

  it("reports a refused connection as an http error", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const stub = baseUrl;
    baseUrl = `http://127.0.0.1:${port}`;
    const error = await rejection(client().getForecast(now)).finally(() => (baseUrl = stub));
    expect(error.code).toBe("http");
    expect(error.status).toBeNull();
  });
});
