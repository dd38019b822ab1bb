/**
 * Watches, room subscriptions and the in-app inbox, and the FINISHED fan-out.
 *
 * Layout (all server-written; clients read only their own `users/{uid}` subtree):
 * - `machines/{machineId}/watchers/{uid}`: one-shot watch (`notify_me`), deleted once announced.
 * - `rooms/{roomId}/subscribers/{uid}`: persistent room subscription (`device_subscribe`).
 * - `users/{uid}/notifications/{id}`: `title, body, type, machineId, roomId, createdAt, readAt`;
 *   `users/{uid}.unreadCount` counts those with `readAt == null`. A boolean `read` mirrors
 *   `readAt != null` for the "all unread" query (the embedded endpoint's `== null` is unreliable).
 * - `cycleWatchers/{cycleId}`: `{machineId, uids: {uid: true}, createdAt}`, who watched the cycle.
 *
 * Exactly once per user per event: entries, counts, push markers and pushes all go through the
 * shared deliverer (store/inbox.ts) with the deterministic id `finished-{cycleId}`.
 */
import * as logger from "firebase-functions/logger";
import { FieldPath, FieldValue, type Firestore, Timestamp } from "firebase-admin/firestore";
import { type MessageMachine, finishedMessage, roomFinishedMessage } from "../domain/messages";
import type { MachineType } from "../domain/status";
import type { PushTransport } from "../services/fcm/transport";
import { COL, isAlreadyExists, toMillis } from "./db";
import { type InboxItem, NOTIFICATIONS, deliverInbox } from "./inbox";

export const WATCHERS = "watchers";
export const SUBSCRIBERS = "subscribers";
export { NOTIFICATIONS };
/** How long FCM keeps trying to deliver a FINISHED push. */
export const FINISHED_TTL_SECONDS = 60 * 60;
/** Users written concurrently during a fan-out. */
const FANOUT_CONCURRENCY = 50;

const userRef = (db: Firestore, uid: string) => db.collection(COL.users).doc(uid);
const inbox = (db: Firestore, uid: string) => userRef(db, uid).collection(NOTIFICATIONS);

// ---------------------------------------------------------------- watches and subscriptions

/** Turns the user's one-shot watch of the machine on or off. */
export async function setWatch(
  db: Firestore,
  uid: string,
  machineId: string,
  on: boolean,
  now: number,
) {
  const ref = db.collection(COL.machines).doc(machineId).collection(WATCHERS).doc(uid);
  if (on) await ref.set({ uid, createdAt: Timestamp.fromMillis(now) });
  else await ref.delete();
}

/** Turns the user's subscription to every FINISHED in the room on or off. */
export async function setRoomSubscription(
  db: Firestore,
  uid: string,
  roomId: string,
  on: boolean,
  now: number,
) {
  const ref = db.collection(COL.rooms).doc(roomId).collection(SUBSCRIBERS).doc(uid);
  if (on) await ref.set({ uid, createdAt: Timestamp.fromMillis(now) });
  else await ref.delete();
}

// ---------------------------------------------------------------- inbox

export interface InboxEntry {
  id: string;
  title: string;
  body: string;
  type: string;
  machineId: string | null;
  roomId: string | null;
  createdAt: number | null;
  readAt: number | null;
}

function toEntry(d: FirebaseFirestore.DocumentSnapshot): InboxEntry {
  const x = d.data() ?? {};
  return {
    id: d.id,
    title: String(x.title ?? ""),
    body: String(x.body ?? ""),
    type: String(x.type ?? ""),
    machineId: typeof x.machineId === "string" ? x.machineId : null,
    roomId: typeof x.roomId === "string" ? x.roomId : null,
    createdAt: toMillis(x.createdAt),
    readAt: toMillis(x.readAt),
  };
}

export class UnknownCursorError extends Error {}

/** One page of the user's inbox, newest first; `nextCursor` is null on the last page. */
export async function listNotifications(
  db: Firestore,
  uid: string,
  limit: number,
  cursor?: string,
): Promise<{ entries: InboxEntry[]; nextCursor: string | null; unreadCount: number }> {
  // Cursors as range filters (not startAfter): exact under ties and the same on both endpoints.
  const newestFirst = (q: FirebaseFirestore.Query) =>
    q.orderBy("createdAt", "desc").orderBy(FieldPath.documentId(), "desc");
  const found: FirebaseFirestore.QueryDocumentSnapshot[] = [];
  if (cursor === undefined) {
    found.push(
      ...(
        await newestFirst(inbox(db, uid))
          .limit(limit + 1)
          .get()
      ).docs,
    );
  } else {
    const at = await inbox(db, uid).doc(cursor).get();
    if (!at.exists) throw new UnknownCursorError(cursor);
    const createdAt: unknown = at.get("createdAt");
    // Entries created the same instant as the cursor and after it in id order, then older ones.
    const ties = await inbox(db, uid).where("createdAt", "==", createdAt).get();
    found.push(...ties.docs.filter((d) => d.id < at.id).sort((a, b) => (a.id < b.id ? 1 : -1)));
    if (found.length <= limit) {
      const older = await newestFirst(inbox(db, uid).where("createdAt", "<", createdAt))
        .limit(limit + 1 - found.length)
        .get();
      found.push(...older.docs);
    }
  }
  const user = await userRef(db, uid).get();
  const docs = found.slice(0, limit);
  return {
    entries: docs.map(toEntry),
    nextCursor: found.length > limit ? (docs[docs.length - 1]?.id ?? null) : null,
    unreadCount: Math.max(0, Number(user.get("unreadCount") ?? 0)),
  };
}

/** Marks one of the user's notifications read; null when the user has no such notification. */
export async function markRead(
  db: Firestore,
  uid: string,
  id: string,
  now: number,
): Promise<{ marked: number } | null> {
  const ref = inbox(db, uid).doc(id);
  return db.runTransaction(async (tx) => {
    const snap = await tx.get(ref);
    if (!snap.exists) return null;
    if (snap.get("readAt") != null) return { marked: 0 };
    tx.update(ref, { readAt: Timestamp.fromMillis(now), read: true });
    tx.set(userRef(db, uid), { unreadCount: FieldValue.increment(-1) }, { merge: true });
    return { marked: 1 };
  });
}

/** Marks every unread notification of the user read, 400 at a time. */
export async function markAllRead(
  db: Firestore,
  uid: string,
  now: number,
): Promise<{ marked: number }> {
  let marked = 0;
  for (;;) {
    const n = await db.runTransaction(async (tx) => {
      const unread = await tx.get(inbox(db, uid).where("read", "==", false).limit(400));
      for (const d of unread.docs)
        tx.update(d.ref, { readAt: Timestamp.fromMillis(now), read: true });
      if (unread.size > 0) {
        tx.set(
          userRef(db, uid),
          { unreadCount: FieldValue.increment(-unread.size) },
          { merge: true },
        );
      }
      return unread.size;
    });
    marked += n;
    if (n < 400) break;
  }
  return { marked };
}

// ---------------------------------------------------------------- FINISHED fan-out

export interface NotifyDeps {
  db: Firestore;
  now: () => number;
  transport: PushTransport;
  appUrl: string;
  sleep?: (ms: number) => Promise<void>;
}

export interface FinishedEvent {
  machineId: string;
  roomId: string | null;
  type: MachineType;
  cycleId: string;
  /**
   * When the server applied the FINISHED report (the owed effect's `createdAt`), epoch ms. With
   * the cycle's `finishedAt` it bounds who counts for this cycle (see {@link notifyFinished}).
   */
  appliedAt?: number | null;
}

export interface NotifyReport {
  /** Users who got a new inbox entry (and push) this time. */
  notified: number;
  /** Users an earlier (or concurrent) delivery already served. */
  alreadyDone: number;
  /** Of those, users whose push an earlier delivery owed and that was sent now. */
  recovered: number;
  /** Watches deleted. */
  watchesCleared: number;
  /** Watches and subscriptions made after the cycle finished: not this cycle's, left alone. */
  lateIgnored: number;
  pushed: number;
  pushFailed: number;
}

const uidsOf = (map: unknown): string[] =>
  typeof map === "object" && map !== null
    ? Object.entries(map)
        .filter(([, on]) => on === true)
        .map(([uid]) => uid)
    : [];

/**
 * Announces one finished cycle: every watcher of the machine (then their watch is deleted) and
 * every room subscriber who was not a watcher get one inbox entry and one push (store/inbox.ts).
 * Safe to run any number of times for the same cycle, concurrently too.
 *
 * - Who counts: watches and subscriptions created no later than the cycle's end as the server
 *   knew it: the later of `cycles/{cycleId}.finishedAt` (device clock) and `appliedAt` (when the
 *   report was applied; a device clock running behind, or a report delivered late, must not drop
 *   someone who watched before the server learned of the FINISHED). Later ones are for the next
 *   cycle: not notified, and their watch stays.
 * - The watchers of a cycle are recorded in `cycleWatchers/{cycleId}` (`uids: {uid: true}`)
 *   BEFORE any watch is deleted, and a retry notifies that record ∪ the current watchers, so a
 *   watcher whose watch an earlier run deleted is still served. Watches are deleted only after
 *   the deliverer has finished.
 */
export async function notifyFinished(deps: NotifyDeps, ev: FinishedEvent): Promise<NotifyReport> {
  const { db } = deps;
  const machineRef = db.collection(COL.machines).doc(ev.machineId);
  const recordRef = db.collection(COL.cycleWatchers).doc(ev.cycleId);
  const [machineSnap, roomSnap, watchersSnap, subsSnap, cycleSnap, recordSnap] = await Promise.all([
    machineRef.get(),
    ev.roomId ? db.collection(COL.rooms).doc(ev.roomId).get() : Promise.resolve(null),
    machineRef.collection(WATCHERS).get(),
    ev.roomId
      ? db.collection(COL.rooms).doc(ev.roomId).collection(SUBSCRIBERS).get()
      : Promise.resolve(null),
    db.collection(COL.cycles).doc(ev.cycleId).get(),
    recordRef.get(),
  ]);
  const machine: MessageMachine = {
    id: ev.machineId,
    name: typeof machineSnap.get("name") === "string" ? (machineSnap.get("name") as string) : null,
    type: ev.type,
  };
  const roomName =
    roomSnap?.exists && typeof roomSnap.get("name") === "string"
      ? (roomSnap.get("name") as string)
      : null;

  const known = [toMillis(cycleSnap.get("finishedAt")), ev.appliedAt ?? null].filter(
    (t): t is number => t !== null,
  );
  const cutoff = known.length > 0 ? Math.max(...known) : Number.POSITIVE_INFINITY;
  const counts = (d: FirebaseFirestore.QueryDocumentSnapshot) => {
    const createdAt = toMillis(d.get("createdAt"));
    return createdAt === null || createdAt <= cutoff;
  };
  const currentWatches = watchersSnap.docs.filter(counts).map((d) => d.id);
  const subscribers = (subsSnap?.docs ?? []).filter(counts).map((d) => d.id);
  const lateIgnored =
    watchersSnap.size - currentWatches.length + (subsSnap?.size ?? 0) - subscribers.length;

  // 1. The cycle's watchers, recorded before any watch goes (reminders read this record too).
  const recorded = new Set(uidsOf(recordSnap.get("uids")));
  const watchers = new Set([...recorded, ...currentWatches]);
  const watcherMap = Object.fromEntries([...watchers].map((u) => [u, true]));
  if (!recordSnap.exists) {
    try {
      await recordRef.create({
        machineId: ev.machineId,
        uids: watcherMap,
        createdAt: Timestamp.fromMillis(deps.now()),
      });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // A concurrent run recorded first: add whoever it did not see.
      const theirs = new Set(uidsOf((await recordRef.get()).get("uids")));
      if (currentWatches.some((u) => !theirs.has(u))) {
        for (const u of theirs) watchers.add(u);
        await recordRef.update({ uids: Object.fromEntries([...watchers].map((u) => [u, true])) });
      }
    }
  } else if (currentWatches.some((u) => !recorded.has(u))) {
    await recordRef.update({ uids: watcherMap });
  }

  // 2. Inbox entries and pushes.
  const notificationId = `finished-${ev.cycleId}`;
  const item = (uid: string, watcher: boolean): InboxItem => ({
    uid,
    notificationId,
    type: watcher ? "finished" : "room_finished",
    machineId: ev.machineId,
    roomId: ev.roomId,
    text: (locale) =>
      watcher ? finishedMessage(machine, locale) : roomFinishedMessage(machine, locale, roomName),
    extra: { cycleId: ev.cycleId },
    pushType: "finished",
    ttlSeconds: FINISHED_TTL_SECONDS,
  });
  const delivery = await deliverInbox(deps, [
    ...[...watchers].map((u) => item(u, true)),
    ...subscribers.filter((u) => !watchers.has(u)).map((u) => item(u, false)),
  ]);

  // 3. One-shot watches end once their owner is served (now or by an earlier delivery).
  let watchesCleared = 0;
  for (let i = 0; i < currentWatches.length; i += FANOUT_CONCURRENCY) {
    await Promise.all(
      currentWatches.slice(i, i + FANOUT_CONCURRENCY).map(async (uid) => {
        await machineRef.collection(WATCHERS).doc(uid).delete();
        watchesCleared += 1;
      }),
    );
  }

  const out: NotifyReport = {
    notified: delivery.created,
    alreadyDone: delivery.alreadyDone,
    recovered: delivery.recovered,
    watchesCleared,
    lateIgnored,
    pushed: delivery.pushed,
    pushFailed: delivery.pushFailed,
  };
  logger.info("finished announced", { machineId: ev.machineId, cycleId: ev.cycleId, ...out });
  return out;
}
