/**
 * The KMA forecast cache in Firestore: `caches/{kmaCacheKey}` (server-only, like every `caches`
 * document) holding `{kind: "weather", value, storedAt, expireAt}`. A forecast reads as null from
 * `expireAt` on, so the hour-long lifetime does not depend on when Firestore's TTL deletion
 * (a policy on `caches.expireAt`) gets round to removing the document.
 */
import { type Firestore, Timestamp } from "firebase-admin/firestore";
import type { Weather } from "../domain/weather";
import type { WeatherCache } from "../services/kma/client";
import { toMillis } from "../data/db";
import { refs } from "../data/refs";

/** Server-only cache documents: forecasts, tips and the tip refresh leases. */
export const CACHES = "caches";

/** Enough of a Weather to trust a cached value (it was written by this code). */
function isWeather(value: unknown): value is Weather {
  if (typeof value !== "object" || value === null) return false;
  const w = value as Partial<Record<keyof Weather, unknown>>;
  return (
    typeof w.forecastAt === "string" &&
    typeof w.baseDate === "string" &&
    typeof w.baseTime === "string"
  );
}

/** A {@link WeatherCache} on `caches/{key}`, with the clock passed in. */
export function firestoreWeatherCache(db: Firestore, now: () => number): WeatherCache {
  return {
    async get(key) {
      const snap = await refs(db).cache(key).get();
      const expireAt = toMillis(snap.get("expireAt"));
      if (expireAt === null || now() >= expireAt) return null;
      const value: unknown = snap.get("value");
      return isWeather(value) ? value : null;
    },
    async set(key, value, ttlMs) {
      const at = now();
      await refs(db)
        .cache(key)
        .set({
          kind: "weather",
          value,
          storedAt: Timestamp.fromMillis(at),
          expireAt: Timestamp.fromMillis(at + ttlMs),
        });
    },
  };
}
