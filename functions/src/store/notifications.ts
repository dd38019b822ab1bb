/**
 * Watches (`machines/{id}/watchers/{uid}`, one-shot), room subscriptions
 * (`rooms/{id}/subscribers/{uid}`), the in-app inbox (written by store/notices.ts), and who hears
 * of a finished cycle (`cycleWatchers/{cycleId}` keeps who watched it, for the tick's reminder).
 */
import {
  type DocumentReference,
  FieldPath,
  FieldValue,
  type Firestore,
  type Query,
  type QueryDocumentSnapshot,
  Timestamp,
  type Transaction,
} from "firebase-admin/firestore";
import {
  type Locale,
  type MessageMachine,
  finishedMessage,
  implausibleCycleAdminMessage,
  roomFinishedMessage,
} from "../domain/messages";
import type { Notice } from "./notices";
import type { InboxEntry } from "../data/model";
import { refs } from "../data/refs";

/** How long FCM keeps trying to deliver a FINISHED push, and an implausible-cycle notice. */
const FINISHED_TTL_SECONDS = 60 * 60;
const IMPLAUSIBLE_NOTICE_TTL_SECONDS = 24 * 3600;

const inbox = (db: Firestore, uid: string) => refs(db).notifications(uid);

/**
 * Adds or removes a membership document (id: the uid) and, in the same transaction, moves the count
 * kept on `holderRef` (field `field`), so the count is exact: the report trigger skips the query
 * of a list whose count is 0. A count not kept yet (a document older than counts) stays missing,
 * so the trigger queries the list and records its exact size.
 */
async function setMembership(
  ref: DocumentReference,
  on: boolean,
  now: number,
  holderRef: DocumentReference,
  field: string,
) {
  await ref.firestore.runTransaction(async (tx) => {
    const [member, holder] = await tx.getAll(ref, holderRef);
    const exists = member.exists;
    if (on) tx.set(ref, { uid: ref.id, createdAt: Timestamp.fromMillis(now) });
    else if (exists) tx.delete(ref);
    const kept: unknown = holder.get(field);
    if (on === exists || typeof kept !== "number" || kept < 0) return;
    tx.update(holderRef, { [field]: FieldValue.increment(on ? 1 : -1) });
  });
}

/** Turns the user's one-shot watch of the machine on or off (`machines/{id}.watcherCount`). */
export function setWatch(db: Firestore, uid: string, machineId: string, on: boolean, now: number) {
  const machine = refs(db).machine(machineId).withConverter(null);
  return setMembership(refs(db).watchers(machineId).doc(uid), on, now, machine, "watcherCount");
}

/** Turns the user's subscription to every FINISHED in the room on or off. */
export function setRoomSubscription(
  db: Firestore,
  uid: string,
  roomId: string,
  on: boolean,
  now: number,
) {
  const room = refs(db).congestion(roomId);
  return setMembership(refs(db).subscribers(roomId).doc(uid), on, now, room, "subscriberCount");
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
  const newestFirst = (q: Query<InboxEntry>) =>
    q.orderBy("createdAt", "desc").orderBy(FieldPath.documentId(), "desc");
  let found: QueryDocumentSnapshot<InboxEntry>[] = [];
  let rest = newestFirst(inbox(db, uid));
  if (cursor !== undefined) {
    const at = await inbox(db, uid).doc(cursor).get();
    if (!at.exists) throw new UnknownCursorError(cursor);
    const createdAt: unknown = at.get("createdAt");
    // Entries created the same instant as the cursor and after it in id order, then older ones.
    const ties = await inbox(db, uid).where("createdAt", "==", createdAt).get();
    found = ties.docs.filter((d) => d.id < at.id).sort((a, b) => (a.id < b.id ? 1 : -1));
    rest = newestFirst(inbox(db, uid).where("createdAt", "<", createdAt));
  }
  if (found.length <= limit) found.push(...(await rest.limit(limit + 1 - found.length).get()).docs);
  const user = await refs(db).user(uid).get();
  const docs = found.slice(0, limit);
  return {
    entries: docs.map((d) => d.data()),
    nextCursor: found.length > limit ? (docs[docs.length - 1]?.id ?? null) : null,
    unreadCount: Math.max(0, Number(user.get("unreadCount") ?? 0)),
  };
}

/** Marks these unread entries of the user read, keeping `unreadCount` right. */
function markIn(tx: Transaction, user: DocumentReference, docs: DocumentReference[], at: number) {
  for (const ref of docs) tx.update(ref, { readAt: Timestamp.fromMillis(at), read: true });
  const unreadCount = FieldValue.increment(-docs.length);
  if (docs.length > 0) tx.set(user, { unreadCount }, { merge: true });
}

/** Marks one of the user's notifications read; null when the user has no such notification. */
export async function markRead(db: Firestore, uid: string, id: string, now: number) {
  const ref = inbox(db, uid).doc(id);
  return db.runTransaction(async (tx) => {
    const snap = await tx.get(ref);
    if (!snap.exists) return null;
    if (snap.get("readAt") != null) return { marked: 0 };
    markIn(tx, refs(db).user(uid), [ref], now);
    return { marked: 1 };
  });
}

/** Marks every unread notification of the user read, 400 per transaction. */
export async function markAllRead(db: Firestore, uid: string, now: number) {
  let marked = 0;
  for (;;) {
    const n = await db.runTransaction(async (tx) => {
      const unread = await tx.get(inbox(db, uid).where("read", "==", false).limit(400));
      const entries = unread.docs.map((d) => d.ref);
      markIn(tx, refs(db).user(uid), entries, now);
      return unread.size;
    });
    marked += n;
    if (n < 400) return { marked };
  }
}

/**
 * Reads, in the report trigger's transaction, who hears of these cycles: every watcher of the
 * machine (finished, then their one-shot watch is deleted and recorded in
 * `cycleWatchers/{cycleId}`), every room subscriber who is not a watcher (room_finished), and
 * every admin for a cycle outside the plausible bounds (kept out of statistics).
 */
export async function planFinished(
  db: Firestore,
  tx: Transaction,
  a: {
    machine: MessageMachine;
    roomId: string | null;
    /** Cycles the report trigger completed for the first time. */
    cycles: readonly { id: string; implausible: boolean; totalMinutes: number }[];
    now: number;
    /** The lists' counts kept beside them (0: known empty, not queried; null: unknown). */
    watcherCount: number | null;
    subscriberCount: number | null;
  },
) {
  const implausible = a.cycles.filter((c) => c.implausible);
  const [watchersSnap, subsSnap, adminsSnap] = await Promise.all([
    a.watcherCount === 0 ? null : tx.get(refs(db).watchers(a.machine.id)),
    a.roomId && a.subscriberCount !== 0 ? tx.get(refs(db).subscribers(a.roomId)) : null,
    implausible.length > 0 ? tx.get(refs(db).admins) : null,
  ]);
  const watchers = (watchersSnap?.docs ?? []).map((d) => d.id);
  const allSubscribers = (subsSnap?.docs ?? []).map((d) => d.id);
  const subscribers = allSubscribers.filter((u) => !watchers.includes(u));
  // The room's name is in the subscribers' message only: read when someone will get one.
  const roomSnap =
    a.roomId && subscribers.length > 0 ? await tx.get(refs(db).room(a.roomId)) : null;
  const name: unknown = roomSnap?.get("name");
  const roomName = typeof name === "string" ? name : null;
  const finished = (l: Locale) => finishedMessage(a.machine, l);
  const roomFinished = (l: Locale) => roomFinishedMessage(a.machine, l, roomName);
  const notices: Notice[] = a.cycles.flatMap((cycle) => {
    const base = {
      id: `finished-${cycle.id}`,
      machineId: a.machine.id,
      roomId: a.roomId,
      extra: { cycleId: cycle.id },
      pushType: "finished",
      ttlSeconds: FINISHED_TTL_SECONDS,
    };
    return [
      ...watchers.map((uid) => ({ ...base, uid, type: "finished", text: finished })),
      ...subscribers.map((uid) => ({ ...base, uid, type: "room_finished", text: roomFinished })),
    ];
  });
  for (const cycle of implausible) {
    for (const admin of adminsSnap?.docs ?? []) {
      notices.push({
        uid: admin.id,
        id: `implausible-${cycle.id}`,
        type: "implausible_cycle",
        machineId: a.machine.id,
        roomId: a.roomId,
        text: (l) => implausibleCycleAdminMessage(a.machine, cycle.totalMinutes, l),
        extra: { cycleId: cycle.id },
        ttlSeconds: IMPLAUSIBLE_NOTICE_TTL_SECONDS,
      });
    }
  }
  return {
    notices,
    // What the lists hold now (the watches end with this cycle), for the counts beside them.
    counts: { watchers: 0, subscribers: subsSnap ? allSubscribers.length : a.subscriberCount },
    write(tx: Transaction) {
      const uids = Object.fromEntries(watchers.map((u) => [u, true]));
      // Nobody watched: no record (the reminder reads a missing one as nobody).
      for (const cycle of watchers.length > 0 ? a.cycles : []) {
        tx.set(refs(db).cycleWatchers(cycle.id), {
          machineId: a.machine.id,
          uids,
          createdAt: Timestamp.fromMillis(a.now),
        });
      }
      for (const uid of watchers) tx.delete(refs(db).watchers(a.machine.id).doc(uid));
    },
  };
}
