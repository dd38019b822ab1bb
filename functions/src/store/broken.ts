/**
 * Broken-machine reports and the out-of-order flag.
 *
 * Layout (server-only):
 * - `machines/{id}/brokenReports/{uid}`: one report per user per outage (`uid`, `reason`,
 *   `outage`, `counts`, `createdAt`), created with `create()`; reporting again is a no-op.
 *   `counts: false` marks a report from an account too new to count (the route decides): kept for
 *   admins, left out of the threshold.
 * - `machines/{id}.brokenOutage` (number, default 0): the current outage. Clearing moves it on,
 *   so the reports of a cleared outage never count towards the next one.
 * - `machines/{id}.outOfOrder`, `outOfOrderSince`, `outOfOrderReason`: set once `threshold`
 *   distinct users reported the current outage.
 * - `idempotency/broken-{machineId}-{outage}`: the outage reached the threshold (its `since` and
 *   `reason` are the ones written to the machine).
 * - `users/{adminUid}/notifications/broken-{machineId}-{outage}`: one notice per admin per outage
 *   (store/notices.ts: entry, unread count and push document written together), so no retry or
 *   concurrent report notifies twice.
 * - `machines/{id}/brokenArchive/{outage}-{uid}`: the reports of a cleared outage.
 *
 * Without isolated transactions the count is the number of report documents of the outage read
 * AFTER this user's `create()`: of two concurrent reporters at least the second sees both. The
 * notices go out BEFORE the flag is written, so a request that dies in between is completed by
 * the next report (the flag is still off, the notices exist already and are not repeated).
 *
 * The queue: once flagged, the machine's offer (if any) is withdrawn without penalty; cleared
 * and idle, it is offered to the head of the queue (store/queue.ts).
 */
import * as logger from "firebase-functions/logger";
import { FieldValue, type Firestore, Timestamp } from "firebase-admin/firestore";
import { brokenAdminMessage } from "../domain/messages";
import { MACHINE_TYPES, type MachineType } from "../domain/status";
import { DEFAULT_BROKEN_REPORT_THRESHOLD } from "../config";
import { adminUids } from "./admins";
import { MARKER_TTL_MS } from "./applyReport";
import { isAlreadyExists, toMillis } from "../data/db";
import { sendNotices } from "./notices";
import { onMachineFreed, withdrawMachineOffer } from "./queue";
import { refs } from "../data/refs";

/**
 * BROKEN_REPORT_THRESHOLD's default lives in config.ts. Params' defaults are applied by the
 * Firebase CLI at deploy; where the variable is unset `.value()` answers 0, hence the fallback.
 */
export { DEFAULT_BROKEN_REPORT_THRESHOLD };
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
}

export interface BrokenReportResult {
  /** Distinct users whose reports of the current outage count, this one included if it counts. */
  reports: number;
  /** This user's report counts towards the threshold. */
  counted: boolean;
  threshold: number;
  outOfOrder: boolean;
  /** This user had already reported the current outage (nothing new was written). */
  alreadyReported: boolean;
  /** Admins who got a notice because of this request. */
  adminsNotified: number;
}

export class UnknownMachineError extends Error {}

/** The machine's queue offer, if any, is taken back (no penalty: its holder keeps their place). */
async function withdrawOffers(
  db: Firestore,
  machineId: string,
  roomId: string | null,
  now: number,
) {
  if (!roomId) return;
  const { withdrawn } = await withdrawMachineOffer(db, machineId, roomId, now);
  if (withdrawn) {
    logger.info("queue offer of an out-of-order machine withdrawn", {
      machineId,
      roomId,
      uid: withdrawn.uid,
    });
  }
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
  a: { machineId: string; uid: string; reason: string; threshold: number; counts: boolean },
): Promise<BrokenReportResult> {
  const { db } = deps;
  const machineRef = refs(db).machine(a.machineId);
  const machine = await machineRef.get();
  if (!machine.exists) throw new UnknownMachineError(a.machineId);
  const outage = outageOf(machine);
  const threshold = brokenThreshold(a.threshold);

  // 1. This user's report (once per outage).
  const reportRef = refs(db).brokenReports(a.machineId).doc(a.uid);
  const report = {
    uid: a.uid,
    reason: a.reason,
    outage,
    counts: a.counts,
    createdAt: Timestamp.fromMillis(deps.now),
  };
  let alreadyReported = false;
  try {
    await reportRef.create(report);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    const existing = await reportRef.get();
    if (existing.get("outage") === outage) {
      alreadyReported = true;
      // Reported while the account was too new, again now that it counts: it counts from now.
      if (a.counts && existing.get("counts") === false) await reportRef.update({ counts: true });
    }
    // A leftover of a cleared outage (a report that raced the clear): it becomes this one's.
    else await reportRef.set(report);
  }

  // 2. Count after the write: the reports of this outage that count.
  const outageReports = await refs(db)
    .brokenReports(a.machineId)
    .where("outage", "==", outage)
    .get();
  const reports = outageReports.docs.filter((d) => d.get("counts") !== false).length;
  const counted = a.counts;
  if (reports < threshold) {
    return {
      reports,
      counted,
      threshold,
      outOfOrder: machine.get("outOfOrder") === true,
      alreadyReported,
      adminsNotified: 0,
    };
  }

  // 3. Threshold reached: the marker fixes the outage's since/reason; first writer wins.
  const markerRef = refs(db).idempotency(`broken-${a.machineId}-${outage}`);
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
    return { reports, counted, threshold, outOfOrder: false, alreadyReported, adminsNotified: 0 };
  }
  const roomId = typeof fresh.get("roomId") === "string" ? (fresh.get("roomId") as string) : null;
  if (fresh.get("outOfOrder") === true) {
    // A request that died after the flag may have left the machine's queue offer behind.
    await withdrawOffers(db, a.machineId, roomId, deps.now);
    return { reports, counted, threshold, outOfOrder: true, alreadyReported, adminsNotified: 0 };
  }

  // 5. Notices first, then the flag (see the header).
  const typeValue = fresh.get("type") as unknown;
  const type: MachineType = MACHINE_TYPES.includes(typeValue as MachineType)
    ? (typeValue as MachineType)
    : "washer";
  const adminsNotified = await notifyAdmins(deps, {
    machineId: a.machineId,
    roomId,
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
  // After the flag, so a machine freed meanwhile is not offered again (onMachineFreed checks it).
  await withdrawOffers(db, a.machineId, roomId, deps.now);
  logger.info("machine out of order", {
    machineId: a.machineId,
    outage,
    reports,
    threshold,
    adminsNotified,
  });
  return { reports, counted, threshold, outOfOrder: true, alreadyReported, adminsNotified };
}

/** One inbox entry + push per admin for the outage (store/inbox.ts); admins served earlier are skipped. */
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
  const machine = { id: m.machineId, name: m.name, type: m.type };
  const d = await sendNotices(
    db,
    uids.map((uid) => ({
      uid,
      id: brokenNoticeId(m.machineId, m.outage),
      type: "machine_broken",
      machineId: m.machineId,
      roomId: m.roomId,
      text: (locale) => brokenAdminMessage(machine, m.reason, locale),
      ttlSeconds: BROKEN_NOTICE_TTL_SECONDS,
    })),
    deps.now,
  );
  return d.created;
}

export interface ClearBrokenResult {
  /** The machine was flagged out of order before. */
  wasOutOfOrder: boolean;
  /** Reports moved to the archive. */
  archived: number;
  /** Who the machine, back in order and idle, was offered to (queue), if anyone. */
  offeredTo: string | null;
}

/**
 * An admin declares the machine working: `outOfOrder` false, the outage moves on and its
 * reports go to `brokenArchive`. Nothing is written when there is nothing to clear.
 * Throws UnknownMachineError for a missing machine.
 */
export async function clearBroken(
  db: Firestore,
  a: { machineId: string; adminUid: string; now: number; windowMinutes: number },
): Promise<ClearBrokenResult> {
  const machineRef = refs(db).machine(a.machineId);
  const machine = await machineRef.get();
  if (!machine.exists) throw new UnknownMachineError(a.machineId);
  const outage = outageOf(machine);
  const wasOutOfOrder = machine.get("outOfOrder") === true;
  const pending = await refs(db).brokenReports(a.machineId).get();
  const offer = async (): Promise<string | null> => {
    const roomId: unknown = machine.get("roomId");
    if (typeof roomId !== "string") return null;
    const r = await onMachineFreed(db, a.machineId, roomId, a.now, a.windowMinutes);
    return r.offer?.uid ?? null;
  };
  // Nothing left to clear; a retry after a clear that died before offering still offers
  // (onMachineFreed makes no second offer and skips a running machine).
  if (!wasOutOfOrder && pending.empty) {
    return { wasOutOfOrder, archived: 0, offeredTo: await offer() };
  }

  // 1. New reports from now on belong to the next outage.
  await machineRef.update({
    outOfOrder: false,
    outOfOrderSince: null,
    outOfOrderReason: null,
    brokenOutage: outage + 1,
  });

  // 2. Archive every report of an earlier outage (one filed after step 1 stays).
  const old = (await refs(db).brokenReports(a.machineId).get()).docs.filter(
    (d) => d.get("outage") !== outage + 1,
  );
  const clearedAt = Timestamp.fromMillis(a.now);
  for (let i = 0; i < old.length; i += ARCHIVE_CHUNK) {
    const batch = db.batch();
    for (const d of old.slice(i, i + ARCHIVE_CHUNK)) {
      const data = d.data();
      batch.set(
        refs(db)
          .brokenArchive(a.machineId)
          .doc(`${String(data.outage ?? outage)}-${d.id}`),
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

  // 3. Back in order and idle: the queue gets it (onMachineFreed skips a running machine).
  const offeredTo = await offer();
  return { wasOutOfOrder, archived: old.length, offeredTo };
}
