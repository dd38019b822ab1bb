/**
 * The fair queue on Firestore (`POST /reserve`, the report trigger, the scheduled tick). The
 * rules are the pure domain in domain/queue.ts; this file reads, writes and notifies.
 *
 * Layout: one document per room, `queues/{roomId}` (server-only):
 * - `entries`: the domain's `QueueEntry[]` in queue order, written whole (times in epoch ms):
 *   `{uid, joinedAt, passes, offer?: {machineId, offeredAt, expiresAt}}`;
 * - `version` (1, 2, …), `offers` (how many entries hold an offer), `nextExpiresAt` (the earliest
 *   `expiresAt`, or null), `roomId`, `updatedAt`.
 *
 * Concurrency: every change is read → pure function → write in one transaction (Firestore
 * retries it on contention; past its retries this file retries with backoff, then gives up with
 * {@link QueueBusyError}). `version` counts the document's generations. When the pure function
 * changes nothing, nothing is written.
 *
 * Every offer is announced in the transaction that makes it: {@link planQueueChange} finds the
 * offers a change made and writes, with the queue, the inbox entry (deterministic id
 * {@link queueOfferId}) and push document of each (store/notices.ts), so an offer and its notice
 * exist together or not at all. A machine going out of order loses its offer
 * ({@link withdrawMachineOffer}, called by store/broken.ts; the tick catches any left).
 */
import * as logger from "firebase-functions/logger";
import { type Firestore, Timestamp, type Transaction } from "firebase-admin/firestore";
import { type MessageMachine, offerMessage } from "../domain/messages";
import {
  type ClaimResult,
  type ExpiredOffer,
  type JoinResult,
  type LeaveResult,
  type RoomQueue,
  type UserOffer,
  activeOffers,
  claim,
  claimByMachineStart,
  expireOffers,
  join,
  leave,
  offerFreedMachine,
  withdrawOffer,
} from "../domain/queue";
import { MINUTE_MS } from "../domain/time";
import { isRunning } from "../domain/status";
import { type Notice, readNotices, writeNotices } from "./notices";
import { toRoomQueue } from "../data/model";
import { getAll, refs } from "../data/refs";

/** Inbox `type` of an offer. */
const OFFER_NOTIFICATION_TYPE = "queue_offer";
/** Fresh reads after a lost race before giving up (with backoff: about 5 s in all). */
const MAX_ATTEMPTS = 10;
/** First backoff after a lost race; doubled each time, with jitter, at most 1 s. */
const BACKOFF_BASE_MS = 20;

/**
 * The room's queue kept changing under this writer (a burst of joins): it gave up rather than
 * retry forever. The API answers 409 with a Retry-After; the trigger and tick are retried.
 */
export class QueueBusyError extends Error {
  constructor(readonly roomId: string) {
    super(`the queue of room ${roomId} is busy`);
    this.name = "QueueBusyError";
  }
}

/** ABORTED (10): contention, once the SDK's own transaction retries are spent. */
const isContention = (err: unknown) => (err as { code?: unknown }).code === 10;

const backoffMs = (attempt: number) =>
  Math.min(1000, BACKOFF_BASE_MS * 2 ** (attempt - 1)) * (0.5 + Math.random());

/** Inbox id (and push key) of an offer: one per room, machine and moment it was made. */
export function queueOfferId(roomId: string, machineId: string, offeredAt: number): string {
  return `offer-${roomId}-${machineId}-${offeredAt}`;
}

// ---------------------------------------------------------------------------------- reading

/** The room's queue (empty when nobody ever queued there). */
export async function readQueue(db: Firestore, roomId: string): Promise<RoomQueue> {
  return toRoomQueue((await refs(db).queue(roomId).get()).data());
}

/** Several rooms' queues at once, by room id. */
export async function readQueues(
  db: Firestore,
  roomIds: readonly string[],
): Promise<Map<string, RoomQueue>> {
  const unique = [...new Set(roomIds)];
  const snaps = await getAll(db, unique.map(refs(db).queue));
  return new Map(unique.map((id, i) => [id, toRoomQueue(snaps[i]?.data())]));
}

// ---------------------------------------------------------------------------------- writing

function queueData(roomId: string, queue: RoomQueue, version: number, now: number) {
  const offers = activeOffers(queue);
  return {
    roomId,
    entries: queue.entries,
    version,
    offers: offers.length,
    nextExpiresAt: offers.length > 0 ? Math.min(...offers.map((o) => o.expiresAt)) : null,
    updatedAt: Timestamp.fromMillis(now),
  };
}

/** The offers `after` holds that `before` did not: the ones the change made. */
function offersMade(before: RoomQueue, after: RoomQueue): UserOffer[] {
  const key = (o: UserOffer) => `${o.uid}/${o.machineId}/${o.offeredAt}`;
  const held = new Set(activeOffers(before).map(key));
  return activeOffers(after).filter((o) => !held.has(key(o)));
}

/** A queue change read in a transaction, to be written by the caller after its other reads. */
export type PlannedQueueChange<R extends { queue: RoomQueue }> = R & {
  changed: boolean;
  /** The offers the change made, in queue order. */
  announce: UserOffer[];
  /** Their notices: the caller writes them (store/notices.ts) with the queue. */
  notices: Notice[];
  write(tx: Transaction): void;
};

/**
 * Reads the room's queue in `tx` and applies `change` (pure; it may run more than once, as
 * transactions are retried). Nothing is written: the caller calls `write` after its last read.
 */
export async function planQueueChange<R extends { queue: RoomQueue }>(
  db: Firestore,
  tx: Transaction,
  roomId: string,
  now: number,
  change: (queue: RoomQueue) => R,
): Promise<PlannedQueueChange<R>> {
  const ref = refs(db).queue(roomId);
  const snap = await tx.get(ref);
  const before = toRoomQueue(snap.data());
  const result = change(before);
  const changed = result.queue !== before;
  const announce = offersMade(before, result.queue);
  const notices = await offerNotices(db, tx, roomId, announce, now);
  const stored: unknown = snap.get("version");
  const version = (typeof stored === "number" ? stored : 0) + 1;
  return {
    ...result,
    changed,
    announce,
    notices,
    write(t) {
      if (changed) t.set(ref, queueData(roomId, result.queue, version, now));
    },
  };
}

/**
 * One queue change in its own transaction, its offers announced in it. Firestore retries the
 * transaction on contention; past its retries this retries with backoff, then gives up with
 * {@link QueueBusyError}.
 */
async function mutateQueue<R extends { queue: RoomQueue }>(
  db: Firestore,
  roomId: string,
  now: number,
  change: (queue: RoomQueue) => R,
): Promise<PlannedQueueChange<R>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.runTransaction(async (tx) => {
        const planned = await planQueueChange(db, tx, roomId, now, change);
        const notices = await readNotices(db, tx, planned.notices);
        planned.write(tx);
        writeNotices(db, tx, notices, now);
        return planned;
      });
    } catch (err) {
      if (!isContention(err)) throw err;
      if (attempt >= MAX_ATTEMPTS) throw new QueueBusyError(roomId);
      logger.info("queue write raced, retrying", { roomId, attempt });
      await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)));
    }
  }
}

// ---------------------------------------------------------------------------------- users

/** Puts the user at the back of the room's queue (a no-op reporting the same place if queued). */
export async function joinQueue(
  db: Firestore,
  uid: string,
  roomId: string,
  now: number,
): Promise<JoinResult> {
  const r = await mutateQueue(db, roomId, now, (q) => join(q, uid, now));
  return { queue: r.queue, position: r.position, joined: r.joined };
}

export interface LeaveOutcome extends LeaveResult {
  /** The machine the user gave up, offered to the next in line (and announced to them). */
  passedTo: UserOffer | null;
}

/** Takes the user out of the room's queue; a machine they held is offered to the next in line. */
export async function leaveQueue(
  db: Firestore,
  uid: string,
  roomId: string,
  now: number,
  windowMinutes: number,
): Promise<LeaveOutcome> {
  const r = await mutateQueue(db, roomId, now, (q) => {
    const left = leave(q, uid);
    if (!left.released) return { ...left, passedTo: null };
    const passed = offerFreedMachine(left.queue, left.released.machineId, now, windowMinutes);
    return { ...left, queue: passed.queue, passedTo: passed.offer };
  });
  return { queue: r.queue, left: r.left, released: r.released, passedTo: r.passedTo };
}

/**
 * The user claims the machine offered to them (`POST /reserve/claim`); `machineId`, when given,
 * must be that machine. On success they leave the queue.
 */
export async function claimOffer(
  db: Firestore,
  uid: string,
  roomId: string,
  machineId: string | undefined,
  now: number,
): Promise<ClaimResult> {
  const r = await mutateQueue(db, roomId, now, (q) => claim(q, uid, machineId, now));
  return r.ok
    ? { ok: true, queue: r.queue, claimed: r.claimed }
    : { ok: false, queue: r.queue, reason: r.reason };
}

// ---------------------------------------------------------------------------------- machines

/**
 * A machine of the room changed between running and not running, in the report trigger's
 * transaction: freed → offered to the first in line without an offer, for `windowMinutes` (not
 * when out of order, and not a second time while on offer); started → whoever held its offer has
 * claimed it and leaves the queue.
 */
export function planMachineTransition(
  db: Firestore,
  tx: Transaction,
  a: {
    machineId: string;
    roomId: string;
    transition: "freed" | "started";
    outOfOrder: boolean;
    now: number;
    windowMinutes: number;
  },
): Promise<PlannedQueueChange<{ queue: RoomQueue }>> | null {
  if (a.transition === "freed" && a.outOfOrder) return null;
  return planQueueChange(db, tx, a.roomId, a.now, (q) =>
    a.transition === "started"
      ? claimByMachineStart(q, a.machineId, a.now)
      : offerFreedMachine(q, a.machineId, a.now, a.windowMinutes),
  );
}

/**
 * A machine idle again outside the report trigger (back in order, moved to another room): offered
 * to the first in line as {@link planMachineTransition} would, unless it is out of order or running.
 */
export async function onMachineFreed(
  db: Firestore,
  machineId: string,
  roomId: string,
  now: number,
  windowMinutes: number,
): Promise<{ offer: UserOffer | null }> {
  const machine = (await refs(db).machine(machineId).get()).data();
  if (machine && (machine.outOfOrder || isRunning(machine.status))) {
    logger.info("freed machine not offered", { roomId, machineId, status: machine.status });
    return { offer: null };
  }
  const { offer } = await mutateQueue(db, roomId, now, (q) =>
    offerFreedMachine(q, machineId, now, windowMinutes),
  );
  if (offer) logger.info("queue offer", { roomId, machineId, expiresAt: offer.expiresAt });
  return { offer };
}

/**
 * The machine cannot be used (marked out of order): its offer, if any, is taken back without
 * counting against the holder, who keeps their place.
 */
export async function withdrawMachineOffer(
  db: Firestore,
  machineId: string,
  roomId: string,
  now: number,
): Promise<{ withdrawn: UserOffer | null }> {
  const r = await mutateQueue(db, roomId, now, (q) => withdrawOffer(q, machineId));
  return { withdrawn: r.withdrawn };
}

// ---------------------------------------------------------------------------------- tick

export interface ExpireQueuesReport {
  /** Rooms whose queue document was rewritten. */
  roomsWritten: number;
  expired: (ExpiredOffer & { roomId: string })[];
  offers: (UserOffer & { roomId: string })[];
  /** Offers of out-of-order machines taken back (no penalty; the holder keeps their place). */
  withdrawn: (UserOffer & { roomId: string })[];
}

/** Of these machines: those out of order, and those running. */
async function machineAvailability(db: Firestore, machineIds: readonly string[]) {
  const outOfOrder = new Set<string>();
  const running = new Set<string>();
  for (const s of await getAll(db, [...new Set(machineIds)].map(refs(db).machine))) {
    const m = s.data();
    if (m?.outOfOrder) outOfOrder.add(s.id);
    if (m && isRunning(m.status)) running.add(s.id);
  }
  return { outOfOrder, running };
}

/** Takes back ({@link withdrawOffer}) the offers of the machines `which` picks, in queue order. */
function withdrawOffers(queue: RoomQueue, which: (machineId: string) => boolean) {
  const withdrawn = activeOffers(queue).filter((o) => which(o.machineId));
  for (const o of withdrawn) queue = withdrawOffer(queue, o.machineId).queue;
  return { queue, withdrawn };
}

/**
 * The scheduled tick's part: in every room with running offers, take back offers of machines
 * now out of order (no penalty), expire those with `expiresAt <= now` (first expiry → back of
 * the queue, second → removed; see domain/queue.ts) and offer each expired machine to the next
 * in line, unless it is out of order or running meanwhile, announcing the new offers in the same
 * transaction. Idempotent for the same `now`: a second call writes nothing.
 */
export async function expireQueueOffers(
  db: Firestore,
  now: number,
  windowMinutes: number,
): Promise<ExpireQueuesReport> {
  const report: ExpireQueuesReport = { roomsWritten: 0, expired: [], offers: [], withdrawn: [] };
  const withOffers = await refs(db).queues.where("offers", ">", 0).get();
  for (const doc of withOffers.docs) {
    const roomId = doc.id;
    const offered = activeOffers(toRoomQueue(doc.data())).map((o) => o.machineId);
    const { outOfOrder, running } = await machineAvailability(db, offered);
    const next: unknown = doc.get("nextExpiresAt");
    const due = typeof next !== "number" || next <= now;
    if (!due && !offered.some((id) => outOfOrder.has(id))) continue;
    const r = await mutateQueue(db, roomId, now, (q) => {
      const taken = withdrawOffers(q, (id) => outOfOrder.has(id));
      const x = expireOffers(taken.queue, now, windowMinutes);
      // An expired machine passed on is taken back again if it cannot serve the next in line.
      const skipped = x.offers
        .map((o) => o.machineId)
        .filter((id) => outOfOrder.has(id) || running.has(id));
      return {
        queue: withdrawOffers(x.queue, (id) => skipped.includes(id)).queue,
        expired: x.expired,
        offers: x.offers.filter((o) => !skipped.includes(o.machineId)),
        withdrawn: taken.withdrawn,
        skipped,
      };
    });
    const inRoom = <T>(xs: readonly T[]) => xs.map((x) => ({ ...x, roomId }));
    if (r.changed) report.roomsWritten += 1;
    report.expired.push(...inRoom(r.expired));
    report.offers.push(...inRoom(r.offers));
    report.withdrawn.push(...inRoom(r.withdrawn));
    if (r.expired.length + r.withdrawn.length > 0) {
      logger.info("queue offers expired", {
        roomId,
        expired: r.expired.map((x) => ({ machineId: x.machineId, outcome: x.outcome })),
        withdrawn: r.withdrawn.map((x) => x.machineId),
        notPassedOn: r.skipped,
        passedOn: r.offers.length,
      });
    }
  }
  return report;
}

// ---------------------------------------------------------------------------------- notices

/** The offers' notices, one per offer: the machine's name is read in `tx`. */
async function offerNotices(
  db: Firestore,
  tx: Transaction,
  roomId: string,
  offers: readonly UserOffer[],
  now: number,
): Promise<Notice[]> {
  if (offers.length === 0) return [];
  const machineIds = [...new Set(offers.map((o) => o.machineId))];
  const snaps = await tx.getAll(...machineIds.map((id) => refs(db).machine(id)));
  // The stored name, not the converter's (which falls back to the id): an unnamed machine is
  // called "세탁기 3" / "Washer 3" by offerMessage.
  const machines = new Map<string, MessageMachine>(
    snaps.map((s) => {
      const name: unknown = s.get("name");
      const type = s.get("type") === "dryer" ? "dryer" : "washer";
      return [s.id, { id: s.id, name: typeof name === "string" ? name : null, type }];
    }),
  );
  return offers.map((o) => ({
    uid: o.uid,
    id: queueOfferId(roomId, o.machineId, o.offeredAt),
    type: OFFER_NOTIFICATION_TYPE,
    machineId: o.machineId,
    roomId,
    text: (locale) =>
      offerMessage(
        machines.get(o.machineId) ?? { id: o.machineId, type: "washer" },
        (o.expiresAt - o.offeredAt) / MINUTE_MS,
        locale,
      ),
    extra: {
      offeredAt: Timestamp.fromMillis(o.offeredAt),
      expiresAt: Timestamp.fromMillis(o.expiresAt),
    },
    ttlSeconds: Math.max(60, Math.ceil((o.expiresAt - now) / 1000)),
  }));
}
