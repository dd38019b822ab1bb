/**
 * The transactional outbox of user notices. A notice is written in the caller's transaction as
 * the inbox entry `users/{uid}/notifications/{id}` (`read` mirrors `readAt != null` for the
 * "all unread" query), one more `users/{uid}.unreadCount`, and the push `pushes/{id}-{uid}`
 * (PENDING) that triggers/onPushCreated.ts sends. The id is deterministic and the entry is read
 * before it is created, so however often a trigger or the tick runs, each user gets one entry
 * and one push; a transaction that dies wrote nothing and is retried whole.
 */
import { FieldValue, type Firestore, Timestamp, type Transaction } from "firebase-admin/firestore";
import { type Locale, type MessageText, resolveLocale } from "../domain/messages";
import { DAY_MS } from "../domain/time";
import { refs } from "../data/refs";

/** One notice for one user. */
export interface Notice {
  uid: string;
  /** The inbox id and the push's key, deterministic: `finished-{cycleId}`, an offer's, … */
  id: string;
  /** Inbox `type` (`finished`, `room_finished`, `queue_offer`, …). */
  type: string;
  machineId: string;
  roomId: string | null;
  text: (locale: Locale) => MessageText;
  /** Further inbox fields (`cycleId`, `offeredAt`, …). */
  extra?: Record<string, unknown>;
  /** The push's `data.type`; `type` when omitted. */
  pushType?: string;
  /** How long FCM keeps trying to deliver the push. */
  ttlSeconds: number;
}

/** What {@link readNotices} found: the notices still to write, each in its user's language. */
export type NoticePlan = { notice: Notice; locale: Locale }[];

/** How long a push document is kept (TTL policy on `expireAt`). */
const PUSH_RETENTION_MS = 30 * DAY_MS;
/** Notices per transaction in {@link sendNotices} (three writes each). */
const CHUNK = 200;

const inboxRef = (db: Firestore, uid: string, id: string) =>
  refs(db).notifications(uid).withConverter(null).doc(id);

/** The reads, before any write: each user's language and which notices are still to write. */
export async function readNotices(
  db: Firestore,
  tx: Transaction,
  notices: readonly Notice[],
): Promise<NoticePlan> {
  const unique = [...new Map(notices.map((n) => [`${n.uid}/${n.id}`, n])).values()];
  if (unique.length === 0) return [];
  const uids = [...new Set(unique.map((n) => n.uid))];
  const snaps = await tx.getAll(
    ...uids.map((uid) => refs(db).user(uid)),
    ...unique.map((n) => inboxRef(db, n.uid, n.id)),
  );
  const locales = new Map(uids.map((uid, i) => [uid, resolveLocale(snaps[i]?.get("locale"))]));
  return unique
    .filter((_, i) => !snaps[uids.length + i]?.exists)
    .map((notice) => ({ notice, locale: locales.get(notice.uid) ?? "ko" }));
}

/** The writes of a plan from {@link readNotices}, in the same transaction. */
export function writeNotices(db: Firestore, tx: Transaction, plan: NoticePlan, now: number) {
  const createdAt = Timestamp.fromMillis(now);
  const unread = new Map<string, number>();
  for (const { notice: n, locale } of plan) {
    const text = n.text(locale);
    const about = { machineId: n.machineId, roomId: n.roomId };
    tx.create(inboxRef(db, n.uid, n.id), {
      ...text,
      type: n.type,
      ...about,
      ...n.extra,
      createdAt,
      readAt: null,
      read: false,
    });
    tx.create(refs(db).pushes.doc(`${n.id}-${n.uid}`), {
      uid: n.uid,
      notificationId: n.id,
      ...text,
      type: n.pushType ?? n.type,
      ...about,
      ttlSeconds: n.ttlSeconds,
      state: "PENDING",
      attempts: 0,
      createdAt,
      expireAt: Timestamp.fromMillis(now + PUSH_RETENTION_MS),
    });
    unread.set(n.uid, (unread.get(n.uid) ?? 0) + 1);
  }
  for (const [uid, n] of unread) {
    tx.set(refs(db).user(uid), { unreadCount: FieldValue.increment(n) }, { merge: true });
  }
}

/** Notices outside any other work, {@link CHUNK} per transaction; `counters`: the tick's. */
export async function sendNotices(
  db: Firestore,
  notices: readonly Notice[],
  now: number,
  counters?: { reads: number; writes: number },
): Promise<{ created: number }> {
  let created = 0;
  for (let i = 0; i < notices.length; i += CHUNK) {
    const slice = notices.slice(i, i + CHUNK);
    const plan = await db.runTransaction(async (tx) => {
      const p = await readNotices(db, tx, slice);
      writeNotices(db, tx, p, now);
      return p;
    });
    created += plan.length;
    if (counters) {
      counters.reads += new Set(slice.map((n) => n.uid)).size + slice.length;
      counters.writes += 2 * plan.length + new Set(plan.map((w) => w.notice.uid)).size;
    }
  }
  return { created };
}
