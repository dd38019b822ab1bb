/**
 * The tick's notifications (reminders, admin offline notices): one inbox entry and one push per
 * user per key, in the same layout and with the same once-only rule as the FINISHED fan-out in
 * notifications.ts:
 * - `users/{uid}/notifications/{key}` (`read: false` mirrors `readAt == null`, as the inbox API
 *   queries it) created with `create()` in one batch with the
 *   `users/{uid}.unreadCount` increment and the push marker `idempotency/push-{key}-{uid}`;
 *   an existing entry means an earlier run served that user, who is skipped (no second push);
 * - pushes go out through the shared sender (batches ≤ 500, retries, dead-token clean-up) only
 *   for entries this run created.
 * Existing entries are looked up first (`getAll`, reads) so a repeated tick issues no writes.
 */
import * as logger from "firebase-functions/logger";
import { FieldValue, type Firestore, Timestamp } from "firebase-admin/firestore";
import { type Locale, type MessageText, notificationLink } from "../domain/messages";
import { type PushTransport, machineTopic } from "../services/fcm/transport";
import { sendToUsers } from "../services/fcm/sender";
import { COL } from "./db";
import { MARKER_TTL_MS } from "./applyReport";
import { NOTIFICATIONS } from "./notifications";
import { type UserPushProfile, firestoreTokenStore, loadPushProfiles } from "./users";
import { MAX_BATCH_WRITES, type TickCounters, isAlreadyExists, slices } from "./tick";

export interface TickNotifyDeps {
  db: Firestore;
  now: number;
  transport: PushTransport;
  appUrl: string;
  sleep?: (ms: number) => Promise<void>;
  counters: TickCounters;
}

export interface TickNotification {
  /** Deterministic inbox id (a reminder key, an offline notice key). */
  key: string;
  uid: string;
  /** Inbox `type`: `finishing_soon`, `laundry_left`, `machine_offline`. */
  type: string;
  machineId: string;
  roomId: string | null;
  /** The text in the user's language. */
  text: (locale: Locale) => MessageText;
  /** Extra inbox fields (e.g. `cycleId`). */
  extra?: Record<string, string | number | null>;
  ttlSeconds: number;
}

export interface DeliverReport {
  created: number;
  alreadyDone: number;
  pushed: number;
  pushFailed: number;
}

const CONCURRENCY = 50;

export async function deliverTickNotifications(
  deps: TickNotifyDeps,
  items: readonly TickNotification[],
): Promise<DeliverReport> {
  const { db, counters } = deps;
  const report: DeliverReport = { created: 0, alreadyDone: 0, pushed: 0, pushFailed: 0 };
  const unique = [...new Map(items.map((n) => [`${n.uid}/${n.key}`, n])).values()];
  if (unique.length === 0) return report;
  const inboxRef = (n: TickNotification) =>
    db.collection(COL.users).doc(n.uid).collection(NOTIFICATIONS).doc(n.key);

  // 1. Skip what an earlier run already delivered, with reads rather than failed writes.
  const pending: TickNotification[] = [];
  for (const slice of slices(unique, MAX_BATCH_WRITES)) {
    const snaps = await db.getAll(...slice.map(inboxRef));
    counters.reads += snaps.length;
    slice.forEach((n, i) => {
      if (snaps[i]?.exists) report.alreadyDone += 1;
      else pending.push(n);
    });
  }
  if (pending.length === 0) return report;

  const uids = [...new Set(pending.map((n) => n.uid))];
  const profiles = new Map((await loadPushProfiles(db, uids)).map((p) => [p.uid, p]));
  counters.reads += uids.length * 2;
  const profileOf = (uid: string): UserPushProfile =>
    profiles.get(uid) ?? { uid, locale: "ko", tokens: [] };

  // 2. Inbox entry + unread count + push marker, once per user and key.
  const fresh: TickNotification[] = [];
  for (const slice of slices(pending, CONCURRENCY)) {
    await Promise.all(
      slice.map(async (n) => {
        const text = n.text(profileOf(n.uid).locale);
        const batch = db.batch();
        batch.create(inboxRef(n), {
          title: text.title,
          body: text.body,
          type: n.type,
          machineId: n.machineId,
          roomId: n.roomId,
          ...n.extra,
          createdAt: Timestamp.fromMillis(deps.now),
          readAt: null,
          read: false,
        });
        batch.set(
          db.collection(COL.users).doc(n.uid),
          { unreadCount: FieldValue.increment(1) },
          { merge: true },
        );
        batch.create(db.collection(COL.idempotency).doc(`push-${n.key}-${n.uid}`), {
          kind: "push",
          uid: n.uid,
          createdAt: FieldValue.serverTimestamp(),
          expireAt: Timestamp.fromMillis(deps.now + MARKER_TTL_MS),
        });
        try {
          await batch.commit();
          counters.writes += 3;
          fresh.push(n);
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          report.alreadyDone += 1;
        }
      }),
    );
  }
  report.created = fresh.length;

  // 3. Pushes. The sender sends each device token once per call, so a user with two new
  //    notifications this tick gets them in two rounds.
  const rounds: TickNotification[][] = [];
  const roundOf = new Map<string, number>();
  for (const n of fresh) {
    const r = roundOf.get(n.uid) ?? 0;
    roundOf.set(n.uid, r + 1);
    (rounds[r] ??= []).push(n);
  }
  for (const round of rounds) {
    const recipients = round.map((n) => ({ ...profileOf(n.uid), n }));
    const sent = await sendToUsers(
      recipients,
      (p) => ({
        ...p.n.text(p.locale),
        data: {
          notificationId: p.n.key,
          machineId: p.n.machineId,
          roomId: p.n.roomId ?? "",
          type: p.n.type,
        },
        link: notificationLink(deps.appUrl, p.n.roomId ?? ""),
        topic: machineTopic(p.n.machineId),
        ttlSeconds: p.n.ttlSeconds,
      }),
      {
        transport: deps.transport,
        now: () => deps.now,
        sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
        tokenStore: firestoreTokenStore(db),
      },
    );
    report.pushed += sent.sent;
    report.pushFailed += sent.failed;
  }
  logger.info("tick notifications", { ...report });
  return report;
}
