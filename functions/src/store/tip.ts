/**
 * What `GET /tip` reads and keeps: its inputs (each room's machines and the congestion grid), the
 * tip cache `caches/tip-{scope}-{locale}` (`scope`: a room id or "all"; fresh for 10 minutes,
 * then kept stale for a day for the requests that lose the refresh lease), the lease
 * `caches/tip-lease-{scope}-{locale}` (one Gemini call per refresh) and the KMA forecasts
 * `caches/kma_…`. Every `caches` document carries `expireAt`, the field of the collection's TTL
 * policy; a value reads as absent from `expireAt` on, whenever the TTL deletion gets round to it.
 */
import { randomUUID } from "node:crypto";
import * as logger from "firebase-functions/logger";
import { type Firestore, Timestamp } from "firebase-admin/firestore";
import type { z } from "zod";
import type { Locale } from "../domain/messages";
import { isRunning } from "../domain/status";
import { DAY_MS, MINUTE_MS } from "../domain/time";
import { type RoomState, type TipResponse, TipSchema } from "../domain/tip";
import { WeatherSchema } from "../domain/weather";
import type { WeatherCache } from "../services/kma/client";
import { toMillis } from "../data/db";
import type { Machine, Room } from "../data/model";
import { refs } from "../data/refs";
import { congestionTable, readMachines, readRooms } from "./status";

/** How long a tip is served without being made again. */
const TIP_FRESH_MS = 10 * MINUTE_MS;
/** How long a stale tip stays around for requests that lose the refresh lease. */
const TIP_KEEP_MS = DAY_MS;
/** A refresh lease's lifetime: longer than a KMA plus a Gemini call with their timeouts. */
export const TIP_LEASE_MS = 30_000;

/** `scope`: the room id, or "all" for every room. */
export function tipCacheKey(scope: string, locale: Locale): string {
  return `tip-${scope}-${locale}`;
}

export function tipLeaseKey(scope: string, locale: Locale): string {
  return `tip-lease-${scope}-${locale}`;
}

/**
 * A room as the tip sees it, or null when none of its machines is online and in order (no live
 * data: saying "all busy" would be wrong). Free = online, in order and not running; busy =
 * online, in order and running; the expected wait is the soonest expected end of a busy machine
 * when none is free (whole minutes, at least 0).
 */
export function roomStateOf(
  roomId: string,
  name: string,
  machines: readonly Pick<Machine, "status" | "online" | "outOfOrder" | "expectedEndAt">[],
  now: number,
): RoomState | null {
  const live = machines.filter((m) => m.online && !m.outOfOrder);
  if (live.length === 0) return null;
  const running = live.filter((m) => isRunning(m.status));
  const free = live.length - running.length;
  const ends = running
    .map((m) => m.expectedEndAt)
    .filter((t): t is number => t !== null && Number.isFinite(t));
  const expectedWaitMinutes =
    free > 0 || ends.length === 0
      ? null
      : Math.max(0, Math.ceil((Math.min(...ends) - now) / MINUTE_MS));
  return { roomId, name, free, busy: running.length, expectedWaitMinutes };
}

/**
 * The rooms' state (rooms with live machine data only) and the congestion grid for one room
 * (already read by the caller) or all of them (null).
 */
export async function loadTipInputs(db: Firestore, room: Room | null, now: number) {
  const [rooms, machines, grid] = await Promise.all([
    room ? [room] : readRooms(db),
    readMachines(db, room?.roomId),
    congestionTable(db, room?.roomId),
  ]);
  return {
    rooms: rooms.flatMap((room) => {
      const own = machines.filter((m) => m.roomId === room.roomId);
      return roomStateOf(room.roomId, room.name, own, now) ?? [];
    }),
    grid,
  };
}

/** `caches/{key}`'s `value` as `schema` reads it, and the document; null when absent or expired. */
async function readCache<T>(db: Firestore, key: string, schema: z.ZodType<T>, now: number) {
  const snap = await refs(db).cache(key).get();
  const value = schema.safeParse(snap.get("value"));
  const expireAt = toMillis(snap.get("expireAt"));
  if (!value.success || expireAt === null || now >= expireAt) return null;
  return { value: value.data, snap };
}

/**
 * The cached tip, fresh or stale, and until when (epoch ms) it is served as is; null when there
 * is none (or it is past keeping).
 */
export async function readCachedTip(
  db: Firestore,
  scope: string,
  locale: Locale,
  now: number,
): Promise<{ tip: TipResponse; freshUntil: number } | null> {
  const cached = await readCache(db, tipCacheKey(scope, locale), TipSchema, now);
  const freshUntil = toMillis(cached?.snap.get("freshUntil"));
  return cached && freshUntil !== null ? { tip: cached.value, freshUntil } : null;
}

export async function writeCachedTip(
  db: Firestore,
  scope: string,
  locale: Locale,
  tip: TipResponse,
  now: number,
): Promise<void> {
  await refs(db)
    .cache(tipCacheKey(scope, locale))
    .set({
      kind: "tip",
      value: tip,
      freshUntil: Timestamp.fromMillis(now + TIP_FRESH_MS),
      expireAt: Timestamp.fromMillis(now + TIP_KEEP_MS),
    });
}

/**
 * Takes the lease to refresh the tip of `scope`/`locale` for {@link TIP_LEASE_MS}, or null while
 * another request holds it. Taken in a transaction when absent or expired (a dead holder's
 * expires); released by its holder only, so a holder that outlived its lease cannot end its
 * successor's.
 */
export async function acquireTipLease(
  db: Firestore,
  a: { scope: string; locale: Locale; now: number },
): Promise<{ release(): Promise<void> } | null> {
  const ref = refs(db).cache(tipLeaseKey(a.scope, a.locale));
  const holder = randomUUID();
  const taken = await db
    .runTransaction(async (tx) => {
      const held = await tx.get(ref);
      // A retry of this very transaction after a commit that did land: ours already.
      if (held.get("holder") === holder) return true;
      const until = toMillis(held.get("expireAt"));
      if (until !== null && a.now < until) return false;
      tx.set(ref, {
        kind: "tip-lease",
        name: ref.id,
        holder,
        takenAt: Timestamp.fromMillis(a.now),
        expireAt: Timestamp.fromMillis(a.now + TIP_LEASE_MS),
      });
      return true;
    })
    .catch((err: unknown) => {
      // Contention that outlasts the SDK's retries (ABORTED): another request is taking the lease.
      if ((err as { code?: unknown }).code !== 10) throw err;
      return false;
    });
  if (!taken) return null;
  return {
    /** Ends the lease if this request still holds it (best effort: an unreleased lease expires). */
    async release() {
      try {
        await db.runTransaction(async (tx) => {
          const held = await tx.get(ref);
          if (held.get("holder") === holder) tx.delete(ref);
        });
      } catch (err) {
        logger.warn("lease release failed", { key: ref.id, error: String(err) });
      }
    },
  };
}

/** The KMA client's {@link WeatherCache}: `caches/{key}`, `{kind: "weather", value, expireAt}`. */
export function firestoreWeatherCache(db: Firestore, now: () => number): WeatherCache {
  return {
    get: async (key) => (await readCache(db, key, WeatherSchema, now()))?.value ?? null,
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
