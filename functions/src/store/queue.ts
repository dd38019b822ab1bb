/**
 * The fair queue on Firestore; the rules are domain/queue.ts. One server-only document per room,
 * `queues/{roomId}`: the domain's `entries` written whole (epoch ms), `offers` and `nextExpiresAt`
 * (what the tick queries), `roomId`, `updatedAt`.
 *
 * Every change is read → pure function → write in one transaction, and every offer is announced
 * in the transaction that makes it (inbox entry {@link queueOfferId} and push, store/notices.ts):
 * an offer and its notice exist together or not at all.
 */
import * as logger from "firebase-functions/logger";
import {
  type DocumentSnapshot,
  type Firestore,
  Timestamp,
  type Transaction,
} from "firebase-admin/firestore";
import { type MessageMachine, offerMessage } from "../domain/messages";
import {
  type ExpiredOffer,
  type RoomQueue,
  type UserOffer,
  activeOffers,
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

/** Fresh reads after a lost race before giving up (with backoff: about 5 s in all). */
const MAX_ATTEMPTS = 10;

/** The queue kept changing under this writer (a burst of joins): the API answers 409. */
export class QueueBusyError extends Error {
  constructor(readonly roomId: string) {
    super(`the queue of room ${roomId} is busy`);
    this.name = "QueueBusyError";
  }
}

/** After a lost race: 20 ms, doubled each time, with jitter, at most 1 s. */
const backoffMs = (attempt: number) =>
  Math.min(1000, 20 * 2 ** (attempt - 1)) * (0.5 + Math.random());

/** Inbox id (and push key) of an offer. */
export function queueOfferId(roomId: string, machineId: string, offeredAt: number): string {
  return `offer-${roomId}-${machineId}-${offeredAt}`;
}

/**
 * A machine as messages name it: the stored name, not the converter's fallback to the id (an
 * unnamed machine is "세탁기 3" / "Washer 3" in the text).
 */
export function messageMachine(snap: Pick<DocumentSnapshot, "id" | "get">): MessageMachine {
  const name: unknown = snap.get("name");
  const type = snap.get("type") === "dryer" ? "dryer" : "washer";
  return { id: snap.id, name: typeof name === "string" ? name : null, type };
}

/** Several rooms' queues in one read, by room id. */
export async function readQueues(db: Firestore, roomIds: readonly string[]) {
  const snaps = await getAll(db, roomIds.map(refs(db).queue));
  return new Map(roomIds.map((id, i) => [id, toRoomQueue(snaps[i]?.data())]));
}

/**
 * Reads the room's queue in `tx` and applies `change` (pure: a retried transaction reruns it); the
 * caller calls `write` after its last read.
 */
export async function planQueueChange<R extends { queue: RoomQueue }>(
  db: Firestore,
  tx: Transaction,
  roomId: string,
  now: number,
  change: (queue: RoomQueue) => R,
) {
  const ref = refs(db).queue(roomId);
  const snap = await tx.get(ref);
  const before = toRoomQueue(snap.data());
  const result = change(before);
  const changed = result.queue !== before;
  const key = (o: UserOffer) => `${o.uid}/${o.machineId}/${o.offeredAt}`;
  const held = new Set(activeOffers(before).map(key));
  const offers = activeOffers(result.queue);
  const announce = offers.filter((o) => !held.has(key(o)));
  const notices = await offerNotices(db, tx, roomId, announce, now);
  return {
    ...result,
    changed,
    // The offers the change made, in queue order, and their notices (to write with the queue).
    announce,
    notices,
    /** `roomCountWritten`: the caller writes `congestion/{roomId}.queueLength` itself. */
    write(t: Transaction, opts?: { roomCountWritten?: boolean }) {
      if (!changed) return;
      // The room's document counts the queue (store/applyReport.ts skips reading an empty one):
      // written when the count moves, or the queue is new.
      const length = result.queue.entries.length;
      if (!opts?.roomCountWritten && (!snap.exists || length !== before.entries.length)) {
        t.set(refs(db).congestion(roomId), { roomId, queueLength: length }, { merge: true });
      }
      t.set(ref, {
        roomId,
        entries: result.queue.entries,
        offers: offers.length,
        nextExpiresAt: offers.length > 0 ? Math.min(...offers.map((o) => o.expiresAt)) : null,
        updatedAt: Timestamp.fromMillis(now),
      });
    },
  };
}

/**
 * One queue change in its own transaction, its offers announced in it. Past the SDK's own
 * retries, contention is retried here with backoff, then {@link QueueBusyError}.
 */
export async function mutateQueue<R extends { queue: RoomQueue }>(
  db: Firestore,
  roomId: string,
  now: number,
  change: (queue: RoomQueue) => R,
) {
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
      // ABORTED (10): contention, once the SDK's own transaction retries are spent.
      if ((err as { code?: unknown }).code !== 10) throw err;
      if (attempt >= MAX_ATTEMPTS) throw new QueueBusyError(roomId);
      logger.info("queue write raced, retrying", { roomId, attempt });
      await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)));
    }
  }
}

/** Puts the user at the back of the room's queue (a no-op reporting the same place if queued). */
export function joinQueue(db: Firestore, uid: string, roomId: string, now: number) {
  return mutateQueue(db, roomId, now, (q) => join(q, uid, now));
}

/** Takes the user out of the room's queue; a machine they held is offered to the next in line. */
export function leaveQueue(
  db: Firestore,
  uid: string,
  roomId: string,
  now: number,
  windowMinutes: number,
) {
  return mutateQueue(db, roomId, now, (q) => {
    const left = leave(q, uid);
    if (!left.released) return left;
    const passed = offerFreedMachine(left.queue, left.released.machineId, now, windowMinutes);
    return { ...left, queue: passed.queue };
  });
}

/**
 * A machine of the room started or stopped running, in the report trigger's transaction: freed →
 * offered to the first in line without an offer (not when out of order); started → whoever held
 * its offer has claimed it.
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
) {
  if (a.transition === "freed" && a.outOfOrder) return null;
  return planQueueChange(db, tx, a.roomId, a.now, (q) =>
    a.transition === "started"
      ? claimByMachineStart(q, a.machineId, a.now)
      : offerFreedMachine(q, a.machineId, a.now, a.windowMinutes),
  );
}

/**
 * A machine idle again outside the report trigger (back in order, moved to another room): offered
 * to the first in line, unless it is out of order or running.
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

/** The machine went out of order: its offer is taken back without blaming the holder. */
export function withdrawMachineOffer(
  db: Firestore,
  machineId: string,
  roomId: string,
  now: number,
) {
  return mutateQueue(db, roomId, now, (q) => withdrawOffer(q, machineId));
}

type InRoom<T> = (T & { roomId: string })[];

export interface ExpireQueuesReport {
  /** Rooms whose queue document was rewritten. */
  roomsWritten: number;
  expired: InRoom<ExpiredOffer>;
  offers: InRoom<UserOffer>;
  /** Offers of out-of-order machines taken back (no penalty). */
  withdrawn: InRoom<UserOffer>;
}

/** Takes back ({@link withdrawOffer}) the offers of the machines `which` picks, in queue order. */
function withdrawOffers(queue: RoomQueue, which: (machineId: string) => boolean) {
  const withdrawn = activeOffers(queue).filter((o) => which(o.machineId));
  for (const o of withdrawn) queue = withdrawOffer(queue, o.machineId).queue;
  return { queue, withdrawn };
}

/**
 * The tick's part, in every room with offers: take back offers of machines now out of order,
 * expire the due ones (domain/queue.ts) and pass each expired machine to the next in line unless
 * it is out of order or running meanwhile. A second call with the same `now` writes nothing.
 */
export async function expireQueueOffers(db: Firestore, now: number, windowMinutes: number) {
  const report: ExpireQueuesReport = { roomsWritten: 0, expired: [], offers: [], withdrawn: [] };
  const withOffers = await refs(db).queues.where("offers", ">", 0).get();
  for (const doc of withOffers.docs) {
    const roomId = doc.id;
    const offered = activeOffers(toRoomQueue(doc.data())).map((o) => o.machineId);
    const outOfOrder = new Set<string>();
    const running = new Set<string>();
    for (const s of await getAll(db, [...new Set(offered)].map(refs(db).machine))) {
      const m = s.data();
      if (m?.outOfOrder) outOfOrder.add(s.id);
      if (m && isRunning(m.status)) running.add(s.id);
    }
    const next: unknown = doc.get("nextExpiresAt");
    const due = typeof next !== "number" || next <= now;
    if (!due && !offered.some((id) => outOfOrder.has(id))) continue;
    const r = await mutateQueue(db, roomId, now, (q) => {
      const taken = withdrawOffers(q, (id) => outOfOrder.has(id));
      const x = expireOffers(taken.queue, now, windowMinutes);
      // An expired machine passed on is taken back again if it is running meanwhile (none is out
      // of order: their offers were taken back above, so none of them expired).
      const skipped = x.offers.map((o) => o.machineId).filter((id) => running.has(id));
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

/** The offers' notices, one per offer: the machines' names are read in `tx`. */
async function offerNotices(
  db: Firestore,
  tx: Transaction,
  roomId: string,
  offers: readonly UserOffer[],
  now: number,
): Promise<Notice[]> {
  if (offers.length === 0) return [];
  const machineIds = [...new Set(offers.map((o) => o.machineId))];
  // One snapshot per id, a missing machine's too (named from its id by the message).
  const snaps = await tx.getAll(...machineIds.map((id) => refs(db).machine(id)));
  const machines = new Map(snaps.map((s) => [s.id, messageMachine(s)]));
  return offers.map((o) => ({
    uid: o.uid,
    id: queueOfferId(roomId, o.machineId, o.offeredAt),
    type: "queue_offer",
    machineId: o.machineId,
    roomId,
    text: (locale) =>
      offerMessage(machines.get(o.machineId)!, (o.expiresAt - o.offeredAt) / MINUTE_MS, locale),
    extra: {
      offeredAt: Timestamp.fromMillis(o.offeredAt),
      expiresAt: Timestamp.fromMillis(o.expiresAt),
    },
    ttlSeconds: Math.max(60, Math.ceil((o.expiresAt - now) / 1000)),
  }));
}
