/**
 * What `GET /tip` reads and keeps in Firestore:
 *
 * - its inputs: each room's free/busy machines and expected wait (from `machines`), and the
 *   congestion grid (`congestion/{roomId}`, summed over the rooms asked about);
 * - the tip cache `caches/tip-{scope}-{locale}` (`scope` = room id or "all"):
 *   `{kind: "tip", value: TipResponse, freshUntil, expireAt}`; fresh for 10 minutes, then kept
 *   (stale) for a day so that requests which lose the refresh lease have something to serve;
 * - the refresh lease `caches/tip-lease-{scope}-{locale}` (store/lease.ts): one refresh (one
 *   Gemini call) at a time.
 *
 * Every `caches` document carries `expireAt` (a Timestamp): the field a TTL policy on the
 * `caches` collection should cover.
 */
import { type Firestore, Timestamp } from "firebase-admin/firestore";
import { gridToWeekdayTable } from "../domain/congestion";
import { isRunning, type MachineStatus } from "../domain/status";
import { DAY_MS, MINUTE_MS } from "../domain/time";
import type { CongestionTable, RoomState, TipLocale, TipResponse } from "../domain/tip";
import { toMillis } from "../data/db";
import { type Lease, acquireLease } from "./lease";
import { refs } from "../data/refs";

/** How long a tip is served without being made again. */
export const TIP_FRESH_MS = 10 * MINUTE_MS;
/** How long a stale tip stays around for requests that lose the refresh lease. */
export const TIP_KEEP_MS = DAY_MS;
/** A refresh lease's lifetime: longer than a KMA plus a Gemini call with their timeouts. */
export const TIP_LEASE_MS = 30_000;

/** "all" for every room, else the room id. */
export type TipScope = string;

export const tipScope = (roomId: string | null): TipScope => roomId ?? "all";

export function tipCacheKey(scope: TipScope, locale: TipLocale): string {
  return `tip-${scope}-${locale}`;
}

export function tipLeaseKey(scope: TipScope, locale: TipLocale): string {
  return `tip-lease-${scope}-${locale}`;
}

// ---------------------------------------------------------------------------------------------
// Inputs

/** The fields of `machines/{id}` the tip looks at. */
export interface TipMachine {
  roomId: string;
  status: MachineStatus;
  online: boolean;
  outOfOrder: boolean;
  /** Epoch ms, null when unknown. */
  expectedEndAt: number | null;
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
  machines: readonly TipMachine[],
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

function tipMachine(data: FirebaseFirestore.DocumentData): TipMachine {
  return {
    roomId: typeof data.roomId === "string" ? data.roomId : String(data.roomId ?? ""),
    status: (typeof data.status === "string" ? data.status : "OFF") as MachineStatus,
    online: data.online === true,
    outOfOrder: data.outOfOrder === true,
    expectedEndAt: toMillis(data.expectedEndAt),
  };
}

export interface TipInputs {
  /** Rooms with live machine data only. */
  rooms: RoomState[];
  grid: CongestionTable;
}

/** The rooms' state and the congestion grid for one room (`roomId`) or all of them (null). */
export async function loadTipInputs(
  db: Firestore,
  roomId: string | null,
  now: number,
): Promise<TipInputs> {
  const [roomDocs, machineDocs, congestionDocs] = await Promise.all([
    roomId
      ? refs(db)
          .room(roomId)
          .get()
          .then((s) => (s.exists ? [s] : []))
      : refs(db)
          .rooms.get()
          .then((q) => q.docs),
    (roomId ? refs(db).machines.where("roomId", "==", roomId) : refs(db).machines)
      .get()
      .then((q) => q.docs.map((d) => tipMachine(d.data()))),
    roomId
      ? refs(db)
          .congestion(roomId)
          .get()
          .then((s) => (s.exists ? [s.data() ?? {}] : []))
      : refs(db)
          .congestions.get()
          .then((q) => q.docs.map((d) => d.data())),
  ]);
  const rooms: RoomState[] = [];
  for (const room of [...roomDocs].sort((a, b) => a.id.localeCompare(b.id, "en"))) {
    const name: unknown = room.get("name");
    const state = roomStateOf(
      room.id,
      typeof name === "string" ? name : room.id,
      machineDocs.filter((m) => m.roomId === room.id),
      now,
    );
    if (state) rooms.push(state);
  }
  return { rooms, grid: gridToWeekdayTable(congestionDocs) };
}

// ---------------------------------------------------------------------------------------------
// Tip cache

export interface CachedTip {
  tip: TipResponse;
  /** Epoch ms until which the tip is served as is. */
  freshUntil: number;
  /** Identifies this cached tip (its generation time): a request tells a newer one by it. */
  version: string;
}

function isTipResponse(value: unknown): value is TipResponse {
  if (typeof value !== "object" || value === null) return false;
  const t = value as Partial<Record<keyof TipResponse, unknown>>;
  return (
    typeof t.tip === "string" &&
    (t.source === "gemini" || t.source === "statistics") &&
    typeof t.generatedAt === "string"
  );
}

/** The cached tip, fresh or stale; null when there is none (or it is past keeping). */
export async function readCachedTip(
  db: Firestore,
  scope: TipScope,
  locale: TipLocale,
  now: number,
): Promise<CachedTip | null> {
  const snap = await refs(db).cache(tipCacheKey(scope, locale)).get();
  if (!snap.exists) return null;
  const value: unknown = snap.get("value");
  const freshUntil = toMillis(snap.get("freshUntil"));
  const expireAt = toMillis(snap.get("expireAt"));
  if (!isTipResponse(value) || freshUntil === null || (expireAt !== null && now >= expireAt)) {
    return null;
  }
  const tip: TipResponse = {
    ...value,
    weather: value.weather ?? null,
    roomId: value.roomId ?? null,
  };
  return { tip, freshUntil, version: String(Date.parse(value.generatedAt)) };
}

export async function writeCachedTip(
  db: Firestore,
  scope: TipScope,
  locale: TipLocale,
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

// ---------------------------------------------------------------------------------------------
// Refresh lease

/**
 * Takes the lease to refresh the tip of `scope`/`locale` (store/lease.ts), or returns null while
 * another request holds it: exactly one Gemini call per refresh.
 */
export function acquireTipLease(
  db: Firestore,
  a: { scope: TipScope; locale: TipLocale; now: number; holder?: string },
): Promise<Lease | null> {
  return acquireLease(db, refs(db).cache(tipLeaseKey(a.scope, a.locale)), {
    kind: "tip-lease",
    now: a.now,
    leaseMs: TIP_LEASE_MS,
    ...(a.holder ? { holder: a.holder } : {}),
  });
}
