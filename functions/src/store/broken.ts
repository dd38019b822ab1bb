/**
 * Broken-machine reports and the out-of-order flag.
 *
 * Layout (server-only):
 * - `machines/{id}/brokenReports/{uid}`: one report per user per outage (`uid`, `reason`,
 *   `outage`, `createdAt`), created with `create()`; reporting again is a no-op.
 * - `machines/{id}.brokenOutage` (number, default 0): the current outage. Clearing moves it on,
 *   so the reports of a cleared outage never count towards the next one.
 * - `machines/{id}.outOfOrder`, `outOfOrderSince`, `outOfOrderReason`: set once `threshold`
 *   distinct users reported the current outage.
 * - `idempotency/broken-{machineId}-{outage}`: the outage reached the threshold (its `since` and
 *   `reason` are the ones written to the machine).
 * - `users/{adminUid}/notifications/broken-{machineId}-{outage}` (`readAt: null, read: false`):
 *   one notice per admin per outage, created with `create()` together with the unread count and
 *   the push marker (the layout of notifications.ts), so no retry or concurrent report notifies
 *   twice.
 * - `machines/{id}/brokenArchive/{outage}-{uid}`: the reports of a cleared outage.
 *
 * Without isolated transactions the count is the number of report documents of the outage read
 * AFTER this user's `create()`: of two concurrent reporters at least the second sees both. The
 * notices go out BEFORE the flag is written, so a request that dies in between is completed by
 * the next report (the flag is still off, the notices exist already and are not repeated).
 */
import * as logger from "firebase-functions/logger";
import { FieldValue, type Firestore, Timestamp } from "firebase-admin/firestore";
import { brokenAdminMessage, notificationLink } from "../domain/messages";
import { MACHINE_TYPES, type MachineType } from "../domain/status";
import { sendToUsers } from "../services/fcm/sender";
import { type PushTransport, machineTopic } from "../services/fcm/transport";
import { adminUids } from "./admins";
import { MARKER_TTL_MS } from "./applyReport";
import { COL, toMillis } from "./db";
import { NOTIFICATIONS } from "./notifications";
import { firestoreTokenStore, loadPushProfiles } from "./users";

export const BROKEN_REPORTS = "brokenReports";
export const BROKEN_ARCHIVE = "brokenArchive";
/**
 * BROKEN_REPORT_THRESHOLD's default (config.ts). Params' defaults are applied by the Firebase CLI
 * at deploy; where the variable is unset (tests, the local stack) `.value()` answers 0.
 */
export const DEFAULT_BROKEN_REPORT_THRESHOLD = 2;
/** The configured threshold, or the default when unset or not a positive integer. */
export function brokenThreshold(configured: number): number {
  return Number.isInteger(configured) && configured >= 1
    ? configured
    : DEFAULT_BROKEN_REPORT_THRESHOLD;
}
/** How long FCM keeps trying to deliver a breakdown notice. */
export const BROKEN_NOTICE_TTL_SECONDS = 24 * 3600;
/** Documents moved per batch when an outage is cleared (2 writes each). */
const ARCHIVE_CHUNK = 200;

export interface BrokenDeps {
  db: Firestore;
  now: number;
  transport: PushTransport;
  appUrl: string;
  sleep?: (ms: number) => Promise<void>;
}

export interface BrokenReportResult {
  /** Distinct users who reported the current outage, this one included. */
  reports: number;
  threshold: number;
  outOfOrder: boolean;
  /** This user had already reported the current outage (nothing new was written). */
  alreadyReported: boolean;
  /** Admins who got a notice because of this request. */
  adminsNotified: number;
}

export class UnknownMachineError extends Error {}

function isAlreadyExists(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === 6;
}

function outageOf(machine: FirebaseFirestore.DocumentSnapshot): number {
  const v = machine.get("brokenOutage") as unknown;
  return typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : 0;
}

export function brokenNoticeId(machineId: string, outage: number): string {
  return `broken-${machineId}-${outage}`;
}

/**
 * Records `uid`'s report that the machine is broken, flags the machine out of order once
 * `threshold` distinct users reported this outage, and notifies every admin once per outage.
 * Throws UnknownMachineError for a missing machine.
 */
export async function reportBroken(
  deps: BrokenDeps,
  a: { machineId: string; uid: string; reason: string; threshold: number },
): Promise<BrokenReportResult> {
  const { db } = deps;
  const machineRef = db.collection(COL.machines).doc(a.machineId);
  const machine = await machineRef.get();
  if (!machine.exists) throw new UnknownMachineError(a.machineId);
  const outage = outageOf(machine);
  const threshold = brokenThreshold(a.threshold);

  // 1. This user's report (once per outage).
  const reportRef = machineRef.collection(BROKEN_REPORTS).doc(a.uid);
  const report = {
    uid: a.uid,
    reason: a.reason,
    outage,
    createdAt: Timestamp.fromMillis(deps.now),
  };
  let alreadyReported = false;
  try {
    await reportRef.create(report);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    const existing = await reportRef.get();
    if (existing.get("outage") === outage) alreadyReported = true;
    // A leftover of a cleared outage (a report that raced the clear): it becomes this one's.
    else await reportRef.set(report);
  }

  // 2. Count after the write: the reports of this outage.
  const reports = (await machineRef.collection(BROKEN_REPORTS).where("outage", "==", outage).get())
    .size;
  if (reports < threshold) {
    return {
      reports,
      threshold,
      outOfOrder: machine.get("outOfOrder") === true,
      alreadyReported,
      adminsNotified: 0,
    };
  }

  // 3. Threshold reached: the marker fixes the outage's since/reason; first writer wins.
  const markerRef = db.collection(COL.idempotency).doc(`broken-${a.machineId}-${outage}`);
  const marker = {
    kind: "broken",
    machineId: a.machineId,
    outage,
    since: Timestamp.fromMillis(deps.now),
    reason: a.reason,
    createdAt: FieldValue.serverTimestamp(),
    expireAt: Timestamp.fromMillis(deps.now + MARKER_TTL_MS),
  };
  let since = marker.since;
  let reason = marker.reason;
  try {
    await markerRef.create(marker);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    const existing = await markerRef.get();
    since = (existing.get("since") as Timestamp | undefined) ?? since;
    reason = typeof existing.get("reason") === "string" ? (existing.get("reason") as string) : "";
  }

  // 4. Already flagged for this outage, or cleared meanwhile: nothing more to do.
  const fresh = await machineRef.get();
  if (outageOf(fresh) !== outage) {
    return { reports, threshold, outOfOrder: false, alreadyReported, adminsNotified: 0 };
  }
  if (fresh.get("outOfOrder") === true) {
    return { reports, threshold, outOfOrder: true, alreadyReported, adminsNotified: 0 };
  }

  // 5. Notices first, then the flag (see the header).
  const typeValue = fresh.get("type") as unknown;
  const type: MachineType = MACHINE_TYPES.includes(typeValue as MachineType)
    ? (typeValue as MachineType)
    : "washer";
  const adminsNotified = await notifyAdmins(deps, {
    machineId: a.machineId,
    roomId: typeof fresh.get("roomId") === "string" ? (fresh.get("roomId") as string) : null,
    name: typeof fresh.get("name") === "string" ? (fresh.get("name") as string) : null,
    type,
    outage,
    reason,
  });
  await machineRef.update({
    outOfOrder: true,
    outOfOrderSince: since,
    outOfOrderReason: reason,
  });
  logger.info("machine out of order", {
    machineId: a.machineId,
    outage,
    reports,
    threshold,
    adminsNotified,
  });
  return { reports, threshold, outOfOrder: true, alreadyReported, adminsNotified };
}

/** One inbox entry + push per admin for the outage; admins served earlier are skipped. */
async function notifyAdmins(
  deps: BrokenDeps,
  m: {
    machineId: string;
    roomId: string | null;
    name: string | null;
    type: MachineType;
    outage: number;
    reason: string;
  },
): Promise<number> {
  const { db } = deps;
  const uids = await adminUids(db);
  if (uids.length === 0) {
    logger.warn("no admin to notify of a broken machine", { machineId: m.machineId });
    return 0;
  }
  const key = brokenNoticeId(m.machineId, m.outage);
  const machine = { id: m.machineId, name: m.name, type: m.type };
  const profiles = await loadPushProfiles(db, uids);
  const fresh: typeof profiles = [];
  await Promise.all(
    profiles.map(async (p) => {
      const text = brokenAdminMessage(machine, m.reason, p.locale);
      const userRef = db.collection(COL.users).doc(p.uid);
      const batch = db.batch();
      batch.create(userRef.collection(NOTIFICATIONS).doc(key), {
        title: text.title,
        body: text.body,
        type: "machine_broken",
        machineId: m.machineId,
        roomId: m.roomId,
        createdAt: Timestamp.fromMillis(deps.now),
        readAt: null,
        read: false,
      });
      batch.set(userRef, { unreadCount: FieldValue.increment(1) }, { merge: true });
      batch.create(db.collection(COL.idempotency).doc(`push-${key}-${p.uid}`), {
        kind: "push",
        uid: p.uid,
        createdAt: FieldValue.serverTimestamp(),
        expireAt: Timestamp.fromMillis(deps.now + MARKER_TTL_MS),
      });
      try {
        await batch.commit();
        fresh.push(p);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }),
  );
  if (fresh.length > 0) {
    await sendToUsers(
      fresh,
      (p) => ({
        ...brokenAdminMessage(machine, m.reason, p.locale),
        data: {
          notificationId: key,
          machineId: m.machineId,
          roomId: m.roomId ?? "",
          type: "machine_broken",
        },
        link: notificationLink(deps.appUrl, m.roomId ?? ""),
        topic: machineTopic(m.machineId),
        ttlSeconds: BROKEN_NOTICE_TTL_SECONDS,
      }),
      {
        transport: deps.transport,
        now: () => deps.now,
        sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
        tokenStore: firestoreTokenStore(db),
      },
    );
  }
  return fresh.length;
}

export interface ClearBrokenResult {
  /** The machine was flagged out of order before. */
  wasOutOfOrder: boolean;
  /** Reports moved to the archive. */
  archived: number;
}

/**
 * An admin declares the machine working: `outOfOrder` false, the outage moves on and its
 * reports go to `brokenArchive`. Nothing is written when there is nothing to clear.
 * Throws UnknownMachineError for a missing machine.
 */
export async function clearBroken(
  db: Firestore,
  a: { machineId: string; adminUid: string; now: number },
): Promise<ClearBrokenResult> {
  const machineRef = db.collection(COL.machines).doc(a.machineId);
  const machine = await machineRef.get();
  if (!machine.exists) throw new UnknownMachineError(a.machineId);
  const outage = outageOf(machine);
  const wasOutOfOrder = machine.get("outOfOrder") === true;
  const pending = await machineRef.collection(BROKEN_REPORTS).get();
  if (!wasOutOfOrder && pending.empty) return { wasOutOfOrder, archived: 0 };

  // 1. New reports from now on belong to the next outage.
  await machineRef.update({
    outOfOrder: false,
    outOfOrderSince: null,
    outOfOrderReason: null,
    brokenOutage: outage + 1,
  });

  // 2. Archive every report of an earlier outage (one filed after step 1 stays).
  const old = (await machineRef.collection(BROKEN_REPORTS).get()).docs.filter(
    (d) => d.get("outage") !== outage + 1,
  );
  const clearedAt = Timestamp.fromMillis(a.now);
  for (let i = 0; i < old.length; i += ARCHIVE_CHUNK) {
    const batch = db.batch();
    for (const d of old.slice(i, i + ARCHIVE_CHUNK)) {
      const data = d.data();
      batch.set(
        machineRef.collection(BROKEN_ARCHIVE).doc(`${String(data.outage ?? outage)}-${d.id}`),
        { ...data, clearedAt, clearedBy: a.adminUid },
      );
      batch.delete(d.ref);
    }
    await batch.commit();
  }
  logger.info("machine cleared", {
    machineId: a.machineId,
    outage,
    wasOutOfOrder,
    archived: old.length,
    since: toMillis(machine.get("outOfOrderSince")),
  });
  return { wasOutOfOrder, archived: old.length };
}
