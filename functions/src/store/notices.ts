/**
 * The transactional outbox of user notices. A notice is written as three things in the caller's
 * transaction, or not at all:
 * - the inbox entry `users/{uid}/notifications/{id}` (`title, body, type, machineId, roomId,
 *   createdAt, readAt: null, read: false` and the caller's extra fields; `read` mirrors
 *   `readAt != null` for the "all unread" query);
 * - one more on `users/{uid}.unreadCount`;
 * - the push `pushes/{id}-{uid}` in state PENDING, which triggers/onPushCreated.ts sends.
 *
 * The id is deterministic (`finished-{cycleId}`, an offer's, a reminder's key), and the entry is
 * read in the same transaction before it is created: however often a trigger or the tick runs
 * for the same notice, each user gets one entry and one push document. Nothing is owed after a
 * commit, so there is no sweep: a transaction that dies wrote nothing and is retried whole.
 */
import { FieldValue, type Firestore, Timestamp, type Transaction } from "firebase-admin/firestore";
import { type Locale, type MessageText, resolveLocale } from "../domain/messages";
import { refs } from "../data/refs";

/** One notice for one user. */
export interface Notice {
  uid: string;
  /** Deterministic inbox id, also the push's key: the same notice always has the same id. */
  id: string;
  /** Inbox `type` (`finished`, `room_finished`, `queue_offer`, `machine_broken`, …). */
  type: string;
  machineId: string;
  roomId: string | null;
  /** Title and body in the user's language. */
  text: (locale: Locale) => MessageText;
  /** Further inbox fields (`cycleId`, `offeredAt`, …). */
  extra?: Record<string, unknown>;
  /** The push's `data.type`; `type` when omitted. */
  pushType?: string;
  /** How long FCM keeps trying to deliver the push. */
  ttlSeconds: number;
}

/** What {@link readNotices} found: the notices still to write, each in its user's language. */
export interface NoticePlan {
  toWrite: { notice: Notice; locale: Locale }[];
  /** Notices written by an earlier run (their entry exists). */
  alreadyDone: number;
}

/** How long a push document is kept after it was written (TTL policy on `expireAt`). */
export const PUSH_RETENTION_MS = 30 * 24 * 3600_000;

export function inboxRef(db: Firestore, uid: string, id: string) {
  return refs(db).notifications(uid).withConverter(null).doc(id);
}

export function pushRef(db: Firestore, noticeId: string, uid: string) {
  return refs(db).pushes.doc(`${noticeId}-${uid}`);
}

/** The reads: each user's language and whether the entry exists. Call before any write. */
export async function readNotices(
  db: Firestore,
  tx: Transaction,
  notices: readonly Notice[],
): Promise<NoticePlan> {
  const unique = [...new Map(notices.map((n) => [`${n.uid}/${n.id}`, n])).values()];
  if (unique.length === 0) return { toWrite: [], alreadyDone: 0 };
  const uids = [...new Set(unique.map((n) => n.uid))];
  const snaps = await tx.getAll(
    ...uids.map((uid) => refs(db).user(uid)),
    ...unique.map((n) => inboxRef(db, n.uid, n.id)),
  );
  const locales = new Map(uids.map((uid, i) => [uid, resolveLocale(snaps[i]?.get("locale"))]));
  const plan: NoticePlan = { toWrite: [], alreadyDone: 0 };
  unique.forEach((notice, i) => {
    if (snaps[uids.length + i]?.exists) plan.alreadyDone += 1;
    else plan.toWrite.push({ notice, locale: locales.get(notice.uid) ?? "ko" });
  });
  return plan;
}

/** The writes of a plan from {@link readNotices}, in the same transaction. */
export function writeNotices(db: Firestore, tx: Transaction, plan: NoticePlan, now: number) {
  const unread = new Map<string, number>();
  for (const { notice: n, locale } of plan.toWrite) {
    const text = n.text(locale);
    tx.create(inboxRef(db, n.uid, n.id), {
      ...text,
      type: n.type,
      machineId: n.machineId,
      roomId: n.roomId,
      ...n.extra,
      createdAt: Timestamp.fromMillis(now),
      readAt: null,
      read: false,
    });
    tx.create(pushRef(db, n.id, n.uid), {
      uid: n.uid,
      notificationId: n.id,
      ...text,
      type: n.pushType ?? n.type,
      machineId: n.machineId,
      roomId: n.roomId,
      ttlSeconds: n.ttlSeconds,
      state: "PENDING",
      attempts: 0,
      createdAt: Timestamp.fromMillis(now),
      expireAt: Timestamp.fromMillis(now + PUSH_RETENTION_MS),
    });
    unread.set(n.uid, (unread.get(n.uid) ?? 0) + 1);
  }
  for (const [uid, n] of unread) {
    tx.set(refs(db).user(uid), { unreadCount: FieldValue.increment(n) }, { merge: true });
  }
}

/** Notices per transaction in {@link sendNotices} (three writes each, well inside 10 MiB). */
const CHUNK = 200;

/** Notices outside any other work: one transaction per {@link CHUNK} notices. */
export async function sendNotices(
  db: Firestore,
  notices: readonly Notice[],
  now: number,
  /** Documents read and written are added here when given (the tick counts its own). */
  counters?: { reads: number; writes: number },
): Promise<{ created: number; alreadyDone: number }> {
  const out = { created: 0, alreadyDone: 0 };
  for (let i = 0; i < notices.length; i += CHUNK) {
    const slice = notices.slice(i, i + CHUNK);
    const plan = await db.runTransaction(async (tx) => {
      const p = await readNotices(db, tx, slice);
      writeNotices(db, tx, p, now);
      return p;
    });
    out.created += plan.toWrite.length;
    out.alreadyDone += plan.alreadyDone;
    if (counters) {
      counters.reads += new Set(slice.map((n) => n.uid)).size + slice.length;
      counters.writes +=
        2 * plan.toWrite.length + new Set(plan.toWrite.map((w) => w.notice.uid)).size;
    }
  }
  return out;
}
