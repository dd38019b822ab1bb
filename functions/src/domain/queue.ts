/**
 * A room's fair queue (`POST /reserve`): first in, first out, with claim windows. Pure: the clock
 * (`now`, epoch ms) is a parameter and the caller writes what comes back.
 *
 * - Position = index + 1; `joinedAt` never decreases along the array (a join or requeue stamps
 *   `max(now, last)`). A user holds at most one place; joining again reports the same place.
 * - A freed machine is offered to the first entry without an offer, until `expiresAt`; the holder
 *   keeps their place meanwhile. Claiming (or the machine starting) takes the holder out.
 * - An offer expires at `now >= expiresAt`: the first time its holder goes to the back once, the
 *   second time they leave; the machine goes to the next entry without an offer (counted after the
 *   requeue, so a lone holder gets a second window). New offers expire after `now`, so expiring
 *   twice at the same `now` changes nothing.
 *
 * Every function returns the input queue itself when nothing changes (`next !== prev` means
 * "write"), and entries never carry `offer: undefined`, so they can be stored as they are.
 */
import { DEFAULT_MINUTES } from "./stats";
import { type MachineStatus, type MachineType, isRunning } from "./status";
import { MINUTE_MS, minutesUntil } from "./time";

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
  /** How many of this user's offers expired unclaimed. */
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

type ClaimedOffer = UserOffer & { claimedAt: number };

export interface ExpiredOffer extends UserOffer {
  /** `requeued`: moved to the back; `removed`: second expiry, left the queue. */
  outcome: "requeued" | "removed";
}

export const EMPTY_QUEUE: RoomQueue = { entries: [] };

/** `joined` is false when the user already held a place (nothing changed). */
export function join(
  queue: RoomQueue,
  uid: string,
  now: number,
): { queue: RoomQueue; joined: boolean } {
  if (indexOf(queue, uid) >= 0) return { queue, joined: false };
  const entries = [...queue.entries, { uid, joinedAt: stampAfter(queue.entries, now), passes: 0 }];
  return { queue: { ...queue, entries }, joined: true };
}

/** `released`: the offer the user held, whose machine the caller should offer to the next. */
export function leave(
  queue: RoomQueue,
  uid: string,
): { queue: RoomQueue; left: boolean; released: UserOffer | null } {
  const i = indexOf(queue, uid);
  if (i < 0) return { queue, left: false, released: null };
  return { queue: removeAt(queue, i), left: true, released: offerOf(queue.entries[i]) };
}

/** 1-based place in line, or null when the user is not queued. */
export function position(queue: RoomQueue, uid: string): number | null {
  const i = indexOf(queue, uid);
  return i < 0 ? null : i + 1;
}

export function entryOf(queue: RoomQueue, uid: string): QueueEntry | null {
  return queue.entries.find((e) => e.uid === uid) ?? null;
}

/** Every running offer, in queue order. */
export function activeOffers(queue: RoomQueue): UserOffer[] {
  return queue.entries.flatMap((e) => offerOf(e) ?? []);
}

/** A machine of the room, as far as the wait estimate needs it. */
export interface WaitMachine {
  machineId: string;
  type: MachineType;
  status: MachineStatus;
  /** Expected end of the running cycle (epoch ms); null when idle or unknown. */
  expectedEndAt: number | null;
  /** A typical full cycle on this machine; default {@link DEFAULT_MINUTES} of its type. */
  cycleMinutes?: number;
  outOfOrder?: boolean;
}

/**
 * Minutes the user should expect to wait, rounded up; 0 for a holder of an offer, null when not
 * queued or no machine is usable. The k-th entry without an offer gets the k-th machine to free
 * up: a free machine not on offer now, a running one at its expected end (a full cycle from now if
 * unknown), one on offer after a cycle of its holder's; each serves again a cycle later.
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
    if (e.uid === uid) return minutesUntil(now, slot.freeAt);
    slot.freeAt += cycleMs(slot.machine);
  }
  return null; // unreachable: the entry is in the queue and holds no offer
}

/**
 * A machine freed up: offered to the first entry without an offer until `now + windowMinutes`,
 * unless it is on offer already (a repeated event makes no second offer).
 */
export function offerFreedMachine(
  queue: RoomQueue,
  machineId: string,
  now: number,
  windowMinutes: number,
): { queue: RoomQueue; offer: UserOffer | null } {
  const windowMs = windowToMs(windowMinutes);
  const i = queue.entries.findIndex((e) => !e.offer);
  if (i < 0 || holderOf(queue, machineId)) return { queue, offer: null };
  const offer: QueueOffer = { machineId, offeredAt: now, expiresAt: now + windowMs };
  const { uid } = queue.entries[i];
  return { queue: replaceAt(queue, i, { ...queue.entries[i], offer }), offer: { uid, ...offer } };
}

type ClaimResult =
  | { ok: true; queue: RoomQueue; claimed: ClaimedOffer }
  | { ok: false; queue: RoomQueue; reason: "notQueued" | "noOffer" | "otherMachine" | "expired" };

/**
 * `POST /reserve/claim`: `machineId`, when given, must be the offered machine; refused at or after
 * `expiresAt` even before the tick expires the offer. On success the user leaves the queue.
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
 * The machine started a cycle: its offer's holder has claimed it and leaves (even just past the
 * window: the machine is in use either way).
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

/** Takes an offer back without blaming its holder, who keeps their place and `passes`. */
export function withdrawOffer(
  queue: RoomQueue,
  machineId: string,
): { queue: RoomQueue; withdrawn: UserOffer | null } {
  const h = holderOf(queue, machineId);
  if (!h) return { queue, withdrawn: null };
  const { uid, joinedAt, passes } = queue.entries[h.i];
  return { queue: replaceAt(queue, h.i, { uid, joinedAt, passes }), withdrawn: h.offer };
}

/**
 * The tick: expires every offer with `expiresAt <= now` (holders requeued or removed, in queue
 * order), then offers each expired machine, in that order, to the first entry without an offer.
 */
export function expireOffers(
  queue: RoomQueue,
  now: number,
  windowMinutes: number,
): { queue: RoomQueue; expired: ExpiredOffer[]; offers: UserOffer[] } {
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
  let next: RoomQueue = { ...queue, entries };
  const offers: UserOffer[] = [];
  for (const { machineId } of expired) {
    const r = offerFreedMachine(next, machineId, now, windowMinutes);
    next = r.queue;
    if (r.offer) offers.push(r.offer);
  }
  return { queue: next, expired, offers };
}

function indexOf(queue: RoomQueue, uid: string): number {
  return queue.entries.findIndex((e) => e.uid === uid);
}

function offerOf(e: QueueEntry): UserOffer | null {
  return e.offer ? { uid: e.uid, ...e.offer } : null;
}

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
