/**
 * KMA short-term forecast client (기상청 단기예보 getVilageFcst on data.go.kr): the weather for the
 * hour nearest to now at one grid cell, cached per forecast run and grid behind a
 * {@link WeatherCache} (Firestore) for an hour, with a timeout on every request.
 */
import * as logger from "firebase-functions/logger";
import { HOUR_MS, MINUTE_MS, kstDate, kstHourStart, kstParts } from "../../domain/time";
import type { Weather } from "../../domain/weather";
import { KmaError, kmaErrorInBody, parseVilageFcst } from "./parse";

const KMA_URL = "https://apis.data.go.kr/1360000/VilageFcstInfoService_2.0/getVilageFcst";
/** Rows asked for: a run lists ~12 categories per hour, so 300 rows cover the next day. */
const KMA_ROWS = 300;
/** How long a forecast stays cached; one from the previous run (the newest was late), shorter. */
export const KMA_CACHE_TTL_MS = HOUR_MS;
export const KMA_STALE_CACHE_TTL_MS = 10 * MINUTE_MS;

/**
 * Runs start at 02, 05, 08, 11, 14, 17, 20 and 23 KST and are published about ten minutes after
 * the hour, so the newest usable run is the last slot at least {@link KMA_PUBLISH_DELAY_MINUTES}
 * old; before 02:10 KST that is 23:00 of the previous day.
 */
const KMA_PUBLISH_DELAY_MINUTES = 10;

/** A run: `YYYYMMDD` and `HHmm` in KST ("0200", "2300"), and its start in epoch ms. */
type KmaSlot = ReturnType<typeof slotAt>;

function slotAt(at: number) {
  return { baseDate: kstDate(at), baseTime: `${String(kstParts(at).hour).padStart(2, "0")}00`, at };
}

/** The newest forecast run published at `now` (epoch ms). */
export function kmaBaseTime(now: number): KmaSlot {
  const usable = now - KMA_PUBLISH_DELAY_MINUTES * MINUTE_MS;
  // Slot hours are 2 mod 3: step back (hour + 1) mod 3 hours from the usable hour's start.
  return slotAt(kstHourStart(usable) - ((kstParts(usable).hour + 1) % 3) * HOUR_MS);
}

/** The run before `slot` (three hours earlier). */
export function previousSlot(slot: KmaSlot): KmaSlot {
  return slotAt(slot.at - 3 * HOUR_MS);
}

/** Cache key of a forecast run at a grid cell; safe as a Firestore document id. */
export function kmaCacheKey(slot: KmaSlot, nx: number, ny: number): string {
  return `kma_${slot.baseDate}_${slot.baseTime}_${nx}_${ny}`;
}

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
  timeoutMs: number;
  cache: WeatherCache;
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

export function createKmaClient({ serviceKey, nx, ny, timeoutMs, cache }: KmaClientOptions) {
  async function fetchRun(slot: KmaSlot, now: number): Promise<Weather> {
    const query = new URLSearchParams({
      serviceKey: decodedKey(serviceKey),
      pageNo: "1",
      numOfRows: String(KMA_ROWS),
      dataType: "XML",
      base_date: slot.baseDate,
      base_time: slot.baseTime,
      nx: String(nx),
      ny: String(ny),
    });
    const url = `${KMA_URL}?${query.toString()}`;
    const signal = AbortSignal.timeout(timeoutMs);
    let response: Response;
    let body: string;
    try {
      response = await fetch(url, { signal, headers: { accept: "application/xml" } });
      body = await response.text();
    } catch (e) {
      // Messages never include the URL: it carries the service key.
      throw signal.aborted
        ? new KmaError("timeout", `KMA did not answer within ${timeoutMs} ms`)
        : new KmaError("http", `KMA request failed (${e instanceof Error ? e.name : "error"})`);
    }
    if (!response.ok) {
      throw (
        kmaErrorInBody(body) ??
        new KmaError("http", `KMA answered HTTP ${response.status}`, null, response.status)
      );
    }
    return parseVilageFcst(body, now);
  }

  /** The cached forecast of `key`; null when there is none or the cache cannot be read. */
  function cached(key: string): Promise<Weather | null> {
    return cache.get(key).catch((e: unknown) => {
      logger.warn("kma cache read failed", { key, error: String(e) });
      return null;
    });
  }

  /** The forecast for the hour nearest to `now`; throws {@link KmaError}. */
  async function getForecast(now: number): Promise<Weather> {
    const slot = kmaBaseTime(now);
    const key = kmaCacheKey(slot, nx, ny);
    const hit = await cached(key);
    if (hit) return hit;
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
    await cache.set(key, weather, ttlMs).catch((e: unknown) => {
      logger.warn("kma cache write failed", { key, error: String(e) });
    });
    return weather;
  }

  return {
    getForecast,
    /** The cached forecast for `now` only, never a KMA call; null when there is none. */
    getCachedForecast(now: number): Promise<Weather | null> {
      return cached(kmaCacheKey(kmaBaseTime(now), nx, ny));
    },
  };
}
