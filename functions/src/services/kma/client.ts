/**
 * KMA short-term forecast client (기상청 단기예보 getVilageFcst on data.go.kr): the weather for the
 * hour nearest to now at one grid cell, cached per forecast run and grid behind an injected
 * {@link WeatherCache} (Firestore in production) for an hour, with a timeout on every request.
 */
import * as logger from "firebase-functions/logger";
import { HOUR_MS, MINUTE_MS } from "../../domain/time";
import type { Weather } from "../../domain/weather";
import { kmaBaseTime, previousSlot, type KmaSlot } from "./baseTime";
import { KmaError } from "./errors";
import { kmaErrorInBody, parseVilageFcst, type KmaDataType } from "./parse";

export const KMA_DEFAULT_BASE_URL =
  "https://apis.data.go.kr/1360000/VilageFcstInfoService_2.0/getVilageFcst";
export const KMA_DEFAULT_TIMEOUT_MS = 5_000;
/** Rows asked for: a run lists ~12 categories per hour, so 300 rows cover the next day. */
export const KMA_DEFAULT_ROWS = 300;
/** How long a forecast stays cached. */
export const KMA_CACHE_TTL_MS = HOUR_MS;
/** How long a forecast from the previous run (the newest one was not out yet) stays cached. */
export const KMA_STALE_CACHE_TTL_MS = 10 * MINUTE_MS;

/** Where forecasts are cached; values older than their TTL must read as null. */
export interface WeatherCache {
  get(key: string): Promise<Weather | null>;
  set(key: string, value: Weather, ttlMs: number): Promise<void>;
}

export interface KmaClientOptions {
  /** data.go.kr service key, either the "Decoding" or the URL-encoded "Encoding" form. */
  serviceKey: string;
  nx: number;
  ny: number;
  baseUrl?: string;
  timeoutMs?: number;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  cache?: WeatherCache;
  /** Response format asked for; XML by default. */
  dataType?: KmaDataType;
  numOfRows?: number;
}

export interface KmaClient {
  /** The forecast for the hour nearest to `now`; throws {@link KmaError}. */
  getForecast(now: number): Promise<Weather>;
}

/** Cache key of a forecast run at a grid cell; safe as a Firestore document id. */
export function kmaCacheKey(slot: KmaSlot, nx: number, ny: number): string {
  return `kma_${slot.baseDate}_${slot.baseTime}_${nx}_${ny}`;
}

/** The key as data.go.kr expects it before URL encoding (the "Encoding" key is decoded once). */
function decodedKey(serviceKey: string): string {
  const key = serviceKey.trim();
  if (!/%[0-9A-Fa-f]{2}/.test(key)) return key;
  try {
    return decodeURIComponent(key);
  } catch {
    return key;
  }
}

export function createKmaClient(options: KmaClientOptions): KmaClient {
  const baseUrl = options.baseUrl ?? KMA_DEFAULT_BASE_URL;
  const timeoutMs = options.timeoutMs ?? KMA_DEFAULT_TIMEOUT_MS;
  const fetchFn = options.fetch ?? fetch;
  const dataType = options.dataType ?? "XML";
  const numOfRows = options.numOfRows ?? KMA_DEFAULT_ROWS;
  const { nx, ny, cache } = options;
  const inflight = new Map<string, Promise<Weather>>();

  async function fetchRun(slot: KmaSlot, now: number): Promise<Weather> {
    const url = new URL(baseUrl);
    url.searchParams.set("serviceKey", decodedKey(options.serviceKey));
    url.searchParams.set("pageNo", "1");
    url.searchParams.set("numOfRows", String(numOfRows));
    url.searchParams.set("dataType", dataType);
    url.searchParams.set("base_date", slot.baseDate);
    url.searchParams.set("base_time", slot.baseTime);
    url.searchParams.set("nx", String(nx));
    url.searchParams.set("ny", String(ny));

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    // Messages never include the URL: it carries the service key.
    const failure = (e: unknown) =>
      controller.signal.aborted
        ? new KmaError("timeout", `KMA did not answer within ${timeoutMs} ms`)
        : new KmaError("http", `KMA request failed (${e instanceof Error ? e.name : "error"})`);
    try {
      let response: Response;
      let body: string;
      try {
        response = await fetchFn(url, {
          signal: controller.signal,
          headers: { accept: dataType === "JSON" ? "application/json" : "application/xml" },
        });
        body = await response.text();
      } catch (e) {
        throw failure(e);
      }
      if (!response.ok) {
        throw (
          kmaErrorInBody(body) ??
          new KmaError("http", `KMA answered HTTP ${response.status}`, null, response.status)
        );
      }
      return parseVilageFcst(body, now);
    } finally {
      clearTimeout(timer);
    }
  }

  async function load(key: string, slot: KmaSlot, now: number): Promise<Weather> {
    if (cache) {
      try {
        const hit = await cache.get(key);
        if (hit) return hit;
      } catch (e) {
        logger.warn("kma cache read failed", { key, error: String(e) });
      }
    }
    let weather: Weather;
    let ttlMs = KMA_CACHE_TTL_MS;
    try {
      weather = await fetchRun(slot, now);
    } catch (e) {
      // The newest run can be late: use the one before it, and look again sooner.
      if (!(e instanceof KmaError && e.code === "no_data")) throw e;
      const previous = previousSlot(slot);
      logger.info("kma run not published yet, using the previous one", {
        baseTime: `${slot.baseDate} ${slot.baseTime}`,
        fallback: `${previous.baseDate} ${previous.baseTime}`,
      });
      weather = await fetchRun(previous, now);
      ttlMs = KMA_STALE_CACHE_TTL_MS;
    }
    if (cache) {
      try {
        await cache.set(key, weather, ttlMs);
      } catch (e) {
        logger.warn("kma cache write failed", { key, error: String(e) });
      }
    }
    return weather;
  }

  return {
    getForecast(now: number): Promise<Weather> {
      const slot = kmaBaseTime(now);
      const key = kmaCacheKey(slot, nx, ny);
      // Concurrent callers for the same run share one request.
      const pending = inflight.get(key);
      if (pending) return pending;
      const promise = load(key, slot, now).finally(() => inflight.delete(key));
      inflight.set(key, promise);
      return promise;
    },
  };
}
