/**
 * A room's fair queue (`POST /reserve`): first in, first out, with claim windows. Pure: the
 * caller reads the queue, passes the clock in (`now`, epoch ms) and writes what comes back.
 *
 * Model
 * - `entries` in queue order: the array order is the only order that counts. Position = index + 1.
 *   `joinedAt` is non-decreasing along the array (a join or a requeue stamps `max(now, last)`), so
 *   a store that keeps one document per entry and sorts by (joinedAt, insertion) sees the same order.
 * - A user holds at most one place per room; joining again is a no-op that reports the same place.
 * - An entry may hold one `offer` (a freed machine reserved for it until `expiresAt`); a machine
 *   is offered to at most one entry. The holder keeps its place in line while the offer runs.
 * - When a machine frees up it is offered to the first entry without an offer.
 * - Claiming (`claim`, or the machine starting a cycle: `claimByMachineStart`) removes the holder
 *   from the queue: they got their machine.
 *
 * Expiry (decided here, run by the scheduled tick through {@link expireOffers})
 * - An offer expires when `now >= expiresAt`.
 * - The holder of an expired offer loses it. The first time (`passes` 0 → 1) they go to the back
 *   of the queue, once; the second time an offer of theirs expires they leave the queue.
 * - The same machine is then offered to the next entry without an offer, counted after that
 *   requeue. If the holder was the only one waiting, that is the holder again (a second chance:
 *   the back of a queue of one is its front); if that offer also expires they leave.
 * - Expiry is deterministic and idempotent: offers made during a call expire at `now + window`,
 *   which is after `now`, so a second call with the same `now` finds nothing to do.
 *
 * Every function returns the input object itself when nothing changes, so `next !== prev` tells
 * the caller whether there is anything to write. Entries never carry `offer: undefined` (the key is
 * absent), so they can be written to Firestore as they are.
 */
import { DEFAULT_MINUTES } from "./stats";
import { type MachineStatus, type MachineType, isRunning } from "./status";
import { MINUTE_MS } from "./time";

/** How long the head of the queue may take to claim a freed machine, unless configured. */
export const DEFAULT_CLAIM_WINDOW_MINUTES = 10;
/** Offers a user may let expire and stay in line (moved to the back); one more and they leave. */
export const MAX_PASSES = 1;

export interface QueueOffer {
  machineId: string;
  offeredAt: number;
  expiresAt: number;
}

export interface QueueEntry {
  uid: string;
  /** When the entry took its current place (join, or the requeue after an expired offer). */
  joinedAt: number;
  /** How many of this user's offers expired unclaimed (0 or 1: a second one removes them). */
  passes: number;
  offer?: QueueOffer;
}

export interface RoomQueue {
  entries: readonly QueueEntry[];
}

/** An offer together with the user it is made to. */
export interface UserOffer extends QueueOffer {
  uid: string;
}

export interface ClaimedOffer extends UserOffer {
  claimedAt: number;
}

export interface ExpiredOffer extends UserOffer {
  /** `requeued`: moved to the back of the queue; `removed`: second expiry, left the queue. */
  outcome: "requeued" | "removed";
}

export const EMPTY_QUEUE: RoomQueue = { entries: [] };

// ---------------------------------------------------------------------------------------------
// Joining, leaving, position

export interface JoinResult {
  queue: RoomQueue;
  /** 1-based place in line. */
  position: number;
  /** False when the user already held a place (nothing changed). */
  joined: boolean;
}

export function join(queue: RoomQueue, uid: string, now: number): JoinResult {
  const i = indexOf(queue, uid);
  if (i >= 0) return { queue, position: i + 1, joined: false };
  const entries = [...queue.entries, { uid, joinedAt: stampAfter(queue.entries, now), passes: 0 }];
  return { queue: { ...queue, entries }, position: entries.length, joined: true };
}

export interface LeaveResult {
  queue: RoomQueue;
  /** False when the user was not in line (nothing changed). */
  left: boolean;
  /**
   * The offer the user held, if any: its machine is free again, so the caller should offer it to
   * the next in line ({@link offerFreedMachine}).
   */
  released: UserOffer | null;
}

export function leave(queue: RoomQueue, uid: string): LeaveResult {
  const i = indexOf(queue, uid);
  if (i < 0) return { queue, left: false, released: null };
  return { queue: removeAt(queue, i), left: true, released: offerOf(queue.entries[i]) };
}

/** 1-based place in line, or null when the user is not queued. */
export function position(queue: RoomQueue, uid: string): number | null {
  const i = indexOf(queue, uid);
  return i < 0 ? null : i + 1;
}

/** The user's entry, or null. */
export function entryOf(queue: RoomQueue, uid: string): QueueEntry | null {
  return queue.entries.find((e) => e.uid === uid) ?? null;
}

/** Every running offer, in queue order. */
export function activeOffers(queue: RoomQueue): UserOffer[] {
  return queue.entries.flatMap((e) => offerOf(e) ?? []);
}

// ---------------------------------------------------------------------------------------------
// Expected wait

/** A machine of the room, as far as the wait estimate needs it. */
export interface WaitMachine {
  machineId: string;
  type: MachineType;
  status: MachineStatus;
  /** Expected end of the running cycle (epoch ms); null when idle or unknown. */
  expectedEndAt: number | null;
  /** A typical full cycle on this machine; defaults to {@link DEFAULT_MINUTES} of its type. */
  cycleMinutes?: number;
  /** Out-of-order machines serve nobody and are left out. */
  outOfOrder?: boolean;
}

/**
 * Minutes the user should expect to wait for a machine, rounded up; 0 for a holder of an offer,
 * null when the user is not queued or the room has no usable machine.
 *
 * The k-th waiting entry (entries holding an offer are served already) gets the k-th machine to
 * free up: a free machine not on offer is free now; a running one at its expected end (now if that
 * has passed; a full cycle from now if unknown); a machine on offer once its holder has run a
 * cycle on it. A machine that serves someone ahead is free again a cycle later, so a queue longer
 * than the room still gets an estimate. Pass only the machines this queue is for.
 */
export function expectedWaitMinutes(
  queue: RoomQueue,
  uid: string,
  machines: readonly WaitMachine[],
  now: number,
): number | null {
  const entry = entryOf(queue, uid);
  if (!entry) return null;
  if (entry.offer) return 0;
  const usable = machines.filter((m) => !m.outOfOrder);
  if (usable.length === 0) return null;
  const offered = new Set(activeOffers(queue).map((o) => o.machineId));
  const cycleMs = (m: WaitMachine) => (m.cycleMinutes ?? DEFAULT_MINUTES[m.type].total) * MINUTE_MS;
  const slots = usable.map((m) => {
    let freeAt: number;
    if (offered.has(m.machineId)) freeAt = now + cycleMs(m);
    else if (!isRunning(m.status)) freeAt = now;
    else if (m.expectedEndAt === null) freeAt = now + cycleMs(m);
    else freeAt = Math.max(now, m.expectedEndAt);
    return { freeAt, machine: m };
  });
  for (const e of queue.entries) {
    if (e.offer) continue;
    // Earliest slot; ties by machine id so the estimate does not depend on input order.
    slots.sort((a, b) => a.freeAt - b.freeAt || cmp(a.machine.machineId, b.machine.machineId));
    const slot = slots[0];
    if (e.uid === uid) return Math.max(0, Math.ceil((slot.freeAt - now) / MINUTE_MS));
    slot.freeAt += cycleMs(slot.machine);
  }
  return null; // unreachable: the entry is in the queue and holds no offer
}

// ---------------------------------------------------------------------------------------------
// Offers and claims

export interface OfferResult {
  queue: RoomQueue;
  /** The offer made now, or null (nobody waits without an offer, or the machine is on offer). */
  offer: UserOffer | null;
}

/**
 * A machine of the room freed up: offer it to the first entry without an offer until
 * `now + windowMinutes`. A machine already on offer is left as it is (a repeated "machine freed"
 * event makes no second offer).
 */
export function offerFreedMachine(
  queue: RoomQueue,
  machineId: string,
  now: number,
  windowMinutes: number,
): OfferResult {
  const windowMs = windowToMs(windowMinutes);
  const i = queue.entries.findIndex((e) => !e.offer);
  if (i < 0 || holderOf(queue, machineId)) return { queue, offer: null };
  const offer: QueueOffer = { machineId, offeredAt: now, expiresAt: now + windowMs };
  const { uid } = queue.entries[i];
  return { queue: replaceAt(queue, i, { ...queue.entries[i], offer }), offer: { uid, ...offer } };
}

/**
 * Several machines are free (for instance every free machine the tick sees while people wait):
 * offers each in the given order, skipping those already on offer.
 */
export function offerFreeMachines(
  queue: RoomQueue,
  machineIds: readonly string[],
  now: number,
  windowMinutes: number,
): { queue: RoomQueue; offers: UserOffer[] } {
  const offers: UserOffer[] = [];
  for (const id of machineIds) {
    const r = offerFreedMachine(queue, id, now, windowMinutes);
    queue = r.queue;
    if (r.offer) offers.push(r.offer);
  }
  return { queue, offers };
}

export type ClaimResult =
  | { ok: true; queue: RoomQueue; claimed: ClaimedOffer }
  | {
      ok: false;
      queue: RoomQueue;
      /**
       * `notQueued`: no place in line; `noOffer`: in line but nothing offered yet; `otherMachine`:
       * the offer is for another machine than the one named; `expired`: the window has passed.
       */
      reason: "notQueued" | "noOffer" | "otherMachine" | "expired";
    };

/**
 * The user claims their offer (`POST /reserve/claim`); `machineId`, when given, must be the
 * offered machine. A claim at or after `expiresAt` is refused even if the tick has not expired the
 * offer yet. On success the user leaves the queue.
 */
export function claim(
  queue: RoomQueue,
  uid: string,
  machineId: string | undefined,
  now: number,
): ClaimResult {
  const i = indexOf(queue, uid);
  if (i < 0) return { ok: false, queue, reason: "notQueued" };
  const offer = queue.entries[i].offer;
  if (!offer) return { ok: false, queue, reason: "noOffer" };
  if (machineId !== undefined && machineId !== offer.machineId) {
    return { ok: false, queue, reason: "otherMachine" };
  }
  if (now >= offer.expiresAt) return { ok: false, queue, reason: "expired" };
  return { ok: true, queue: removeAt(queue, i), claimed: { uid, ...offer, claimedAt: now } };
}

/**
 * The machine started a cycle: if it was on offer, its holder is taken to have claimed it and
 * leaves the queue (even when the window has just passed and the tick has not expired it yet:
 * the machine is in use either way).
 */
export function claimByMachineStart(
  queue: RoomQueue,
  machineId: string,
  now: number,
): { queue: RoomQueue; claimed: ClaimedOffer | null } {
  const h = holderOf(queue, machineId);
  if (!h) return { queue, claimed: null };
  return { queue: removeAt(queue, h.i), claimed: { ...h.offer, claimedAt: now } };
}

/**
 * Takes an offer back without blaming its holder (the machine went out of order, or was taken by
 * someone outside the queue): the holder keeps their place and `passes`, without an offer.
 */
export function withdrawOffer(
  queue: RoomQueue,
  machineId: string,
): { queue: RoomQueue; withdrawn: UserOffer | null } {
  const h = holderOf(queue, machineId);
  if (!h) return { queue, withdrawn: null };
  const { uid, joinedAt, passes } = queue.entries[h.i];
  return { queue: replaceAt(queue, h.i, { uid, joinedAt, passes }), withdrawn: h.offer };
}

// ---------------------------------------------------------------------------------------------
// Expiry (scheduled tick)

export interface ExpireResult {
  queue: RoomQueue;
  /** Offers that expired, in queue order, with what happened to their holder. */
  expired: ExpiredOffer[];
  /** New offers of the expired offers' machines to the next in line (notify these users). */
  offers: UserOffer[];
}

/**
 * Expires every offer with `expiresAt <= now`: holders go to the back (first time) or leave
 * (second time), in their queue order; then each expired machine, in that same order, is offered
 * to the first entry without an offer. Idempotent for a given `now`.
 */
export function expireOffers(queue: RoomQueue, now: number, windowMinutes: number): ExpireResult {
  windowToMs(windowMinutes); // a bad window is refused even when nothing is due
  const isDue = (e: QueueEntry) => e.offer !== undefined && now >= e.offer.expiresAt;
  const due = queue.entries.filter(isDue);
  if (due.length === 0) return { queue, expired: [], offers: [] };

  const entries = queue.entries.filter((e) => !isDue(e));
  const expired: ExpiredOffer[] = [];
  for (const e of due) {
    const removed = e.passes >= MAX_PASSES;
    expired.push({ uid: e.uid, ...e.offer!, outcome: removed ? "removed" : "requeued" });
    if (!removed) {
      entries.push({ uid: e.uid, joinedAt: stampAfter(entries, now), passes: e.passes + 1 });
    }
  }
  const machineIds = expired.map((x) => x.machineId);
  const passed = offerFreeMachines({ ...queue, entries }, machineIds, now, windowMinutes);
  return { queue: passed.queue, expired, offers: passed.offers };
}

// ---------------------------------------------------------------------------------------------

function indexOf(queue: RoomQueue, uid: string): number {
  return queue.entries.findIndex((e) => e.uid === uid);
}

function offerOf(e: QueueEntry): UserOffer | null {
  return e.offer ? { uid: e.uid, ...e.offer } : null;
}

/** The entry holding the machine's offer (its index and offer), or null. */
function holderOf(queue: RoomQueue, machineId: string): { i: number; offer: UserOffer } | null {
  const i = queue.entries.findIndex((e) => e.offer?.machineId === machineId);
  const offer = i < 0 ? null : offerOf(queue.entries[i]);
  return offer ? { i, offer } : null;
}

function removeAt(queue: RoomQueue, i: number): RoomQueue {
  return { ...queue, entries: queue.entries.filter((_, j) => j !== i) };
}

function replaceAt(queue: RoomQueue, i: number, entry: QueueEntry): RoomQueue {
  return { ...queue, entries: queue.entries.map((e, j) => (j === i ? entry : e)) };
}

/** `now`, but never before the last entry's stamp, so stamps follow queue order. */
function stampAfter(entries: readonly QueueEntry[], now: number): number {
  const last = entries[entries.length - 1];
  return last ? Math.max(now, last.joinedAt) : now;
}

function windowToMs(windowMinutes: number): number {
  if (!Number.isFinite(windowMinutes) || windowMinutes <= 0) {
    throw new RangeError(`claim window must be a positive number of minutes, got ${windowMinutes}`);
  }
  return windowMinutes * MINUTE_MS;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
