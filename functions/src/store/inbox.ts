/**
 * The one deliverer of user notices: an inbox entry and a push per user and notification id,
 * exactly once, surviving crashes and concurrent runs. Every notice goes through it: FINISHED
 * (notifications.ts), queue offers (queue.ts), broken-machine notices to admins (broken.ts) and
 * the tick's reminders and offline notices (scheduled/tick/inbox.ts).
 *
 * Layout:
 * - `users/{uid}/notifications/{notificationId}`: `title, body, type, machineId, roomId,
 *   createdAt, readAt: null, read: false` plus the caller's extra fields; `read` mirrors
 *   `readAt != null` for the inbox API's "unread" query.
 * - `users/{uid}.unreadCount`: incremented with the entry.
 * - `idempotency/push-{notificationId}-{uid}` (the push marker): `{kind: "push", uid,
 *   notificationId, pending: true, push: {type, machineId, roomId, ttlSeconds, expiresAt},
 *   createdAt, expireAt}`; `sentAt` (and `pending: false`) once the push went to the sender.
 *
 * Phase 1 ({@link writeInboxEntries}): existing entries and markers are read first (a repeat
 * writes nothing). A missing entry is `create()`d in one batch with the count increment and the
 * marker; the entry's create is the batch's FIRST write, since the embedded endpoint applies the
 * writes before a failing one, so a lost race changes nothing. An existing entry whose marker has
 * no `sentAt` and is older than {@link PUSH_GRACE_MS} owes its push (the run that wrote it died
 * before sending): the push is claimed with the lease `pushretry-{notificationId}-{uid}` (lease.ts),
 * so two recovering runs do not both send it. A younger unsent marker belongs to a sender still
 * at work and is left alone.
 * Phase 2 ({@link pushInboxEntries}): one push per owed entry through the shared sender (a user
 * with several new notices gets them in rounds: the sender sends each token once per call), then
 * `sentAt` on each marker.
 *
 * Callers that run again (the tick, a repeated trigger) recover through phase 1. Notices whose
 * caller never runs again for that id (a broken-machine or offline notice is computed once, then
 * the machine is flagged) are recovered by {@link resendOwedPushes}, which the tick runs: it finds
 * markers still `pending` past the grace period and sends their push from the stored entry.
 */
import * as logger from "firebase-functions/logger";
import { FieldValue, type Firestore, Timestamp } from "firebase-admin/firestore";
import { type Locale, type MessageText, notificationLink } from "../domain/messages";
import { MINUTE_MS } from "../domain/time";
import { sendToUsers } from "../services/fcm/sender";
import { type PushTransport, machineTopic } from "../services/fcm/transport";
import { MARKER_TTL_MS } from "./applyReport";
import { COL, isAlreadyExists, toMillis } from "./db";
import { acquireLease, leaseRef } from "./lease";
import { type UserPushProfile, firestoreTokenStore, loadPushProfiles } from "./users";

export const NOTIFICATIONS = "notifications";
/** An unsent push marker younger than this belongs to a sender still at work. */
export const PUSH_GRACE_MS = 2 * MINUTE_MS;
/** Users written concurrently. */
const CONCURRENCY = 50;
/** Documents per getAll. */
const READ_CHUNK = 250;
/** Owed pushes the sweep looks at per run. */
const SWEEP_LIMIT = 200;

/** One notice for one user. */
export interface InboxItem {
  uid: string;
  /** Deterministic inbox id, also the push's key: the same notice always has the same id. */
  notificationId: string;
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

export interface InboxDeps {
  db: Firestore;
  now: () => number;
  transport: PushTransport;
  appUrl: string;
  sleep?: (ms: number) => Promise<void>;
  /** Reads and writes are added here when given (the tick counts its own). */
  counters?: { reads: number; writes: number };
  /** {@link PUSH_GRACE_MS} unless given. */
  graceMs?: number;
}

export interface InboxDelivery {
  /** Entries created now (each with its push). */
  created: number;
  /** Entries that existed already (an earlier or concurrent run wrote them). */
  alreadyDone: number;
  /** Of those, entries whose push was still owed and is sent now. */
  recovered: number;
  /** Messages the sender got accepted / finally failed (one per device token). */
  pushed: number;
  pushFailed: number;
}

/** A push to send: one user, one notice, its text already in the user's language. */
interface OwedPush {
  profile: UserPushProfile;
  notificationId: string;
  title: string;
  body: string;
  pushType: string;
  machineId: string;
  roomId: string | null;
  ttlSeconds: number;
}

/** What phase 1 leaves phase 2. */
export interface InboxWrite {
  report: InboxDelivery;
  owed: OwedPush[];
}

export function emptyDelivery(): InboxDelivery {
  return { created: 0, alreadyDone: 0, recovered: 0, pushed: 0, pushFailed: 0 };
}

export function inboxRef(db: Firestore, uid: string, notificationId: string) {
  return db.collection(COL.users).doc(uid).collection(NOTIFICATIONS).doc(notificationId);
}

/** `idempotency/push-{notificationId}-{uid}`. */
export function pushMarkerRef(db: Firestore, notificationId: string, uid: string) {
  return db.collection(COL.idempotency).doc(`push-${notificationId}-${uid}`);
}

const count = (deps: InboxDeps, reads: number, writes: number) => {
  if (!deps.counters) return;
  deps.counters.reads += reads;
  deps.counters.writes += writes;
};

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * True when the marker's push is owed: never sent, and its sender has had its grace period.
 * Only markers this deliverer wrote (`pending: true`) count: older ones never recorded `sentAt`
 * (offers, admin and tick notices), and reading them as unsent would push them all again.
 */
function pushOwed(marker: FirebaseFirestore.DocumentSnapshot, now: number, graceMs: number) {
  if (!marker.exists || marker.get("pending") !== true || marker.get("sentAt") != null) {
    return false;
  }
  const createdAt = toMillis(marker.get("createdAt"));
  return createdAt !== null && createdAt <= now - graceMs;
}

/** Claims the re-send of one owed push, so concurrent recovering runs send it once. */
async function claimResend(deps: InboxDeps, notificationId: string, uid: string, now: number) {
  const lease = await acquireLease(
    deps.db,
    leaseRef(deps.db, `pushretry-${notificationId}-${uid}`),
    {
      kind: "lease",
      now,
      leaseMs: deps.graceMs ?? PUSH_GRACE_MS,
    },
  );
  count(deps, 1, 1);
  return lease !== null;
}

/**
 * Phase 1: creates the missing entries (with count and marker) and collects the pushes owed,
 * fresh and recovered. Nothing is sent. Safe to run any number of times.
 */
export async function writeInboxEntries(
  deps: InboxDeps,
  items: readonly InboxItem[],
): Promise<InboxWrite> {
  const { db } = deps;
  const now = deps.now();
  const graceMs = deps.graceMs ?? PUSH_GRACE_MS;
  const report = emptyDelivery();
  const unique = [...new Map(items.map((n) => [`${n.uid}/${n.notificationId}`, n])).values()];
  if (unique.length === 0) return { report, owed: [] };

  // 1. What exists already (reads, so a repeat writes nothing).
  const toCreate: InboxItem[] = [];
  const toRecover: InboxItem[] = [];
  for (const slice of chunks(unique, READ_CHUNK)) {
    const snaps = await db.getAll(
      ...slice.flatMap((n) => [
        inboxRef(db, n.uid, n.notificationId),
        pushMarkerRef(db, n.notificationId, n.uid),
      ]),
    );
    count(deps, snaps.length, 0);
    slice.forEach((n, i) => {
      const entry = snaps[2 * i];
      const marker = snaps[2 * i + 1];
      if (!entry?.exists) toCreate.push(n);
      else {
        report.alreadyDone += 1;
        if (marker && pushOwed(marker, now, graceMs)) toRecover.push(n);
      }
    });
  }
  if (toCreate.length + toRecover.length === 0) return { report, owed: [] };

  const uids = [...new Set([...toCreate, ...toRecover].map((n) => n.uid))];
  const profiles = new Map((await loadPushProfiles(db, uids)).map((p) => [p.uid, p]));
  count(deps, uids.length * 2, 0);
  const profileOf = (uid: string): UserPushProfile =>
    profiles.get(uid) ?? { uid, locale: "ko", tokens: [] };
  const owedOf = (n: InboxItem): OwedPush => {
    const profile = profileOf(n.uid);
    return {
      profile,
      ...n.text(profile.locale),
      notificationId: n.notificationId,
      pushType: n.pushType ?? n.type,
      machineId: n.machineId,
      roomId: n.roomId,
      ttlSeconds: n.ttlSeconds,
    };
  };
  const owed: OwedPush[] = [];

  // 2. Entry + count + marker, the entry's create first.
  for (const slice of chunks(toCreate, CONCURRENCY)) {
    await Promise.all(
      slice.map(async (n) => {
        const push = owedOf(n);
        const userRef = db.collection(COL.users).doc(n.uid);
        const batch = db.batch();
        batch.create(inboxRef(db, n.uid, n.notificationId), {
          title: push.title,
          body: push.body,
          type: n.type,
          machineId: n.machineId,
          roomId: n.roomId,
          ...n.extra,
          createdAt: Timestamp.fromMillis(now),
          readAt: null,
          read: false,
        });
        batch.set(userRef, { unreadCount: FieldValue.increment(1) }, { merge: true });
        batch.create(pushMarkerRef(db, n.notificationId, n.uid), {
          kind: "push",
          uid: n.uid,
          notificationId: n.notificationId,
          pending: true,
          push: {
            type: push.pushType,
            machineId: n.machineId,
            roomId: n.roomId,
            ttlSeconds: n.ttlSeconds,
            expiresAt: Timestamp.fromMillis(now + n.ttlSeconds * 1000),
          },
          createdAt: Timestamp.fromMillis(now),
          expireAt: Timestamp.fromMillis(now + MARKER_TTL_MS),
        });
        try {
          await batch.commit();
          count(deps, 0, 3);
          report.created += 1;
          owed.push(push);
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          // A concurrent run created it a moment ago: its push is that run's to send.
          report.alreadyDone += 1;
        }
      }),
    );
  }

  // 3. Pushes an earlier run owes: one recovering run claims each.
  for (const slice of chunks(toRecover, CONCURRENCY)) {
    await Promise.all(
      slice.map(async (n) => {
        if (!(await claimResend(deps, n.notificationId, n.uid, now))) return;
        report.recovered += 1;
        owed.push(owedOf(n));
      }),
    );
  }
  return { report, owed };
}

/** Phase 2: sends the owed pushes and records `sentAt` on their markers. */
export async function pushInboxEntries(deps: InboxDeps, write: InboxWrite): Promise<InboxDelivery> {
  const { db } = deps;
  const report = { ...write.report };
  if (write.owed.length === 0) return report;
  // The sender sends each device token once per call: a user's second notice goes in round 2.
  const rounds: OwedPush[][] = [];
  const roundOf = new Map<string, number>();
  for (const p of write.owed) {
    const r = roundOf.get(p.profile.uid) ?? 0;
    roundOf.set(p.profile.uid, r + 1);
    (rounds[r] ??= []).push(p);
  }
  for (const round of rounds) {
    const sent = await sendToUsers(
      round.map((p) => ({ ...p.profile, p })),
      ({ p }) => ({
        title: p.title,
        body: p.body,
        data: {
          notificationId: p.notificationId,
          machineId: p.machineId,
          roomId: p.roomId ?? "",
          type: p.pushType,
        },
        link: notificationLink(deps.appUrl, p.roomId ?? "", p.machineId),
        topic: machineTopic(p.machineId),
        ttlSeconds: p.ttlSeconds,
      }),
      {
        transport: deps.transport,
        now: deps.now,
        sleep: deps.sleep ?? defaultSleep,
        tokenStore: firestoreTokenStore(db),
      },
    );
    report.pushed += sent.sent;
    report.pushFailed += sent.failed;
  }
  const sentAt = Timestamp.fromMillis(deps.now());
  for (const slice of chunks(write.owed, CONCURRENCY)) {
    await Promise.all(
      slice.map((p) =>
        pushMarkerRef(db, p.notificationId, p.profile.uid).set(
          { sentAt, pending: false },
          { merge: true },
        ),
      ),
    );
  }
  count(deps, 0, write.owed.length);
  return report;
}

/** Both phases: every item gets its inbox entry and its push, once. */
export async function deliverInbox(
  deps: InboxDeps,
  items: readonly InboxItem[],
): Promise<InboxDelivery> {
  return pushInboxEntries(deps, await writeInboxEntries(deps, items));
}

export interface ResendReport {
  /** Owed pushes sent now. */
  resent: number;
  /** Owed pushes given up on: their TTL passed, or their entry is gone. */
  dropped: number;
  pushed: number;
  pushFailed: number;
}

/**
 * The tick's safety net: every push marker still `pending` past the grace period (its sender died
 * after writing the entry) gets its push now, text from the stored entry, TTL what is left of the
 * original. Claimed like any recovery, so it never doubles a concurrent recovery.
 */
export async function resendOwedPushes(deps: InboxDeps): Promise<ResendReport> {
  const { db } = deps;
  const now = deps.now();
  const graceMs = deps.graceMs ?? PUSH_GRACE_MS;
  const out: ResendReport = { resent: 0, dropped: 0, pushed: 0, pushFailed: 0 };
  const snap = await db
    .collection(COL.idempotency)
    .where("pending", "==", true)
    .limit(SWEEP_LIMIT)
    .get();
  count(deps, Math.max(1, snap.size), 0);
  const due = snap.docs.filter((m) => m.get("kind") === "push" && pushOwed(m, now, graceMs));
  if (due.length === 0) return out;

  const candidates: { marker: FirebaseFirestore.QueryDocumentSnapshot; uid: string; id: string }[] =
    [];
  for (const m of due) {
    const uid: unknown = m.get("uid");
    const id: unknown = m.get("notificationId");
    const expiresAt = toMillis(m.get("push.expiresAt"));
    if (
      typeof uid !== "string" ||
      typeof id !== "string" ||
      expiresAt === null ||
      expiresAt <= now
    ) {
      await m.ref.set({ pending: false, droppedAt: Timestamp.fromMillis(now) }, { merge: true });
      count(deps, 0, 1);
      out.dropped += 1;
      continue;
    }
    candidates.push({ marker: m, uid, id });
  }
  if (candidates.length === 0) return out;
  const entries = await db.getAll(...candidates.map((c) => inboxRef(db, c.uid, c.id)));
  count(deps, entries.length, 0);
  const uids = [...new Set(candidates.map((c) => c.uid))];
  const profiles = new Map((await loadPushProfiles(db, uids)).map((p) => [p.uid, p]));
  count(deps, uids.length * 2, 0);

  const owed: OwedPush[] = [];
  for (const [i, c] of candidates.entries()) {
    const entry = entries[i];
    if (!entry?.exists) {
      await c.marker.ref.set(
        { pending: false, droppedAt: Timestamp.fromMillis(now) },
        { merge: true },
      );
      count(deps, 0, 1);
      out.dropped += 1;
      continue;
    }
    if (!(await claimResend(deps, c.id, c.uid, now))) continue;
    const roomId: unknown = c.marker.get("push.roomId");
    const expiresAt = toMillis(c.marker.get("push.expiresAt")) ?? now;
    owed.push({
      profile: profiles.get(c.uid) ?? { uid: c.uid, locale: "ko", tokens: [] },
      notificationId: c.id,
      title: String(entry.get("title") ?? ""),
      body: String(entry.get("body") ?? ""),
      pushType: String(c.marker.get("push.type") ?? entry.get("type") ?? ""),
      machineId: String(c.marker.get("push.machineId") ?? entry.get("machineId") ?? ""),
      roomId: typeof roomId === "string" ? roomId : null,
      ttlSeconds: Math.max(60, Math.ceil((expiresAt - now) / 1000)),
    });
  }
  const sent = await pushInboxEntries(deps, { report: emptyDelivery(), owed });
  out.resent = owed.length;
  out.pushed = sent.pushed;
  out.pushFailed = sent.pushFailed;
  if (out.resent + out.dropped > 0) logger.warn("owed pushes recovered", { ...out });
  return out;
}
