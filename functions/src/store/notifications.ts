/**
 * Watches, room subscriptions and the in-app inbox, and the FINISHED fan-out.
 *
 * Layout (all server-written; clients read only their own `users/{uid}` subtree):
 * - `machines/{machineId}/watchers/{uid}`: one-shot watch (`notify_me`), deleted once announced.
 * - `rooms/{roomId}/subscribers/{uid}`: persistent room subscription (`device_subscribe`).
 * - `users/{uid}/notifications/{id}`: `title, body, type, machineId, roomId, createdAt, readAt`;
 *   `users/{uid}.unreadCount` counts those with `readAt == null`. A boolean `read` mirrors
 *   `readAt != null` for the "all unread" query (the embedded endpoint's `== null` is unreliable).
 * - `idempotency/push-{notificationId}-{uid}`: the push of one notification was handed to the
 *   sender (written in the same batch as the inbox entry, before sending).
 *
 * Exactly once per user per event: the inbox id is deterministic (`finished-{cycleId}`) and
 * created with `create()` in one batch with the `unreadCount` increment and the push marker; if
 * it already exists the user was served by an earlier delivery and is skipped (no second push).
 */
import * as logger from "firebase-functions/logger";
import { FieldPath, FieldValue, type Firestore, Timestamp } from "firebase-admin/firestore";
import {
  type Locale,
  type MessageMachine,
  finishedMessage,
  notificationLink,
  roomFinishedMessage,
} from "../domain/messages";
import type { MachineType } from "../domain/status";
import { type PushTransport, machineTopic } from "../services/fcm/transport";
import { sendToUsers } from "../services/fcm/sender";
import { COL, toMillis } from "./db";
import { MARKER_TTL_MS } from "./applyReport";
import { firestoreTokenStore, loadPushProfiles } from "./users";

export const WATCHERS = "watchers";
export const SUBSCRIBERS = "subscribers";
export const NOTIFICATIONS = "notifications";
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
}

export interface NotifyReport {
  /** Users who got a new inbox entry (and push) this time. */
  notified: number;
  /** Users an earlier delivery already served. */
  alreadyDone: number;
  /** Watches deleted. */
  watchesCleared: number;
  pushed: number;
  pushFailed: number;
}

async function inChunks<T>(
  items: T[],
  size: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

function isAlreadyExists(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === 6;
}

/**
 * Announces one finished cycle: every watcher of the machine (then their watch is deleted) and
 * every room subscriber who was not a watcher get one inbox entry and one push. Safe to run any
 * number of times for the same cycle.
 */
/** `idempotency/push-{notificationId}-{uid}`: created with the inbox entry, `sentAt` once pushed. */
function pushMarker(db: Firestore, notificationId: string, uid: string) {
  return db.collection(COL.idempotency).doc(`push-${notificationId}-${uid}`);
}

export async function notifyFinished(deps: NotifyDeps, ev: FinishedEvent): Promise<NotifyReport> {
  const { db } = deps;
  const machineRef = db.collection(COL.machines).doc(ev.machineId);
  const [machineSnap, roomSnap, watchersSnap, subsSnap] = await Promise.all([
    machineRef.get(),
    ev.roomId ? db.collection(COL.rooms).doc(ev.roomId).get() : Promise.resolve(null),
    machineRef.collection(WATCHERS).get(),
    ev.roomId
      ? db.collection(COL.rooms).doc(ev.roomId).collection(SUBSCRIBERS).get()
      : Promise.resolve(null),
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
  const watchers = new Set(watchersSnap.docs.map((d) => d.id));
  const uids = [
    ...watchers,
    ...(subsSnap?.docs.map((d) => d.id) ?? []).filter((u) => !watchers.has(u)),
  ];

  const notificationId = `finished-${ev.cycleId}`;
  const text = (uid: string, locale: Locale) =>
    watchers.has(uid)
      ? finishedMessage(machine, locale)
      : roomFinishedMessage(machine, locale, roomName);
  const profiles = await loadPushProfiles(db, uids);
  const nowMs = deps.now();
  const fresh: typeof profiles = [];
  let alreadyDone = 0;

  await inChunks(profiles, FANOUT_CONCURRENCY, async (p) => {
    const msg = text(p.uid, p.locale);
    const batch = db.batch();
    batch.create(inbox(db, p.uid).doc(notificationId), {
      title: msg.title,
      body: msg.body,
      type: watchers.has(p.uid) ? "finished" : "room_finished",
      machineId: ev.machineId,
      roomId: ev.roomId,
      cycleId: ev.cycleId,
      createdAt: Timestamp.fromMillis(nowMs),
      readAt: null,
      read: false,
    });
    batch.set(userRef(db, p.uid), { unreadCount: FieldValue.increment(1) }, { merge: true });
    batch.create(pushMarker(db, notificationId, p.uid), {
      kind: "push",
      uid: p.uid,
      createdAt: FieldValue.serverTimestamp(),
      expireAt: Timestamp.fromMillis(nowMs + MARKER_TTL_MS),
    });
    try {
      await batch.commit();
      fresh.push(p);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      alreadyDone += 1;
      // The entry exists; the push is still owed if an earlier delivery died before sending it.
      const marker = await pushMarker(db, notificationId, p.uid).get();
      if (marker.exists && marker.get("sentAt") == null) fresh.push(p);
    }
  });

  // Who watched this cycle, for the tick's "laundry still inside" reminder (watches go next).
  await db
    .collection(COL.cycleWatchers)
    .doc(ev.cycleId)
    .create({
      machineId: ev.machineId,
      uids: Object.fromEntries([...watchers].map((u) => [u, true])),
      createdAt: Timestamp.fromMillis(nowMs),
    })
    .catch((err: unknown) => {
      if (!isAlreadyExists(err)) throw err;
    });

  // One-shot watches end once their owner has the entry (now or from an earlier delivery).
  let watchesCleared = 0;
  await inChunks([...watchers], FANOUT_CONCURRENCY, async (uid) => {
    await machineRef.collection(WATCHERS).doc(uid).delete();
    watchesCleared += 1;
  });

  const link = notificationLink(deps.appUrl, ev.roomId ?? "");
  const report = await sendToUsers(
    fresh,
    (p) => ({
      ...text(p.uid, p.locale),
      data: { notificationId, machineId: ev.machineId, roomId: ev.roomId ?? "", type: "finished" },
      link,
      topic: machineTopic(ev.machineId),
      ttlSeconds: FINISHED_TTL_SECONDS,
    }),
    {
      transport: deps.transport,
      now: deps.now,
      sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      tokenStore: firestoreTokenStore(db),
    },
  );
  // Settle the push markers: a later delivery will not send these again.
  await inChunks(fresh, FANOUT_CONCURRENCY, async (p) => {
    await pushMarker(db, notificationId, p.uid).update({ sentAt: FieldValue.serverTimestamp() });
  });
  const out: NotifyReport = {
    notified: fresh.length,
    alreadyDone,
    watchesCleared,
    pushed: report.sent,
    pushFailed: report.failed,
  };
  logger.info("finished announced", { machineId: ev.machineId, cycleId: ev.cycleId, ...out });
  return out;
}
