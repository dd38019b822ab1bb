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
 * - `brokenOutages/{machineId}-{outage}`: the outage's tally, `reporters: {uid: counts}`.
 * - `users/{adminUid}/notifications/broken-{machineId}-{outage}`: one notice per admin per outage.
 * - `machines/{id}/brokenArchive/{outage}-{uid}`: the reports of a cleared outage.
 *
 * A report is one transaction: it reads the machine and the outage's tally (one document, not a
 * query over the reports, so concurrent reporters contend on it and are serialised), writes the
 * user's report and the tally, and the report that reaches the threshold also flags the machine,
 * withdraws its queue offer (no penalty) and writes every admin's notice (store/notices.ts), in
 * the same commit. Cleared and idle, the machine is offered to the head of the queue.
 */
import * as logger from "firebase-functions/logger";
import { type Firestore, Timestamp, type DocumentSnapshot } from "firebase-admin/firestore";
import { type MessageMachine, brokenAdminMessage } from "../domain/messages";
import { DEFAULT_BROKEN_REPORT_THRESHOLD } from "../config";
import { withdrawOffer } from "../domain/queue";
import { toMillis } from "../data/db";
import { readNotices, writeNotices } from "./notices";
import { onMachineFreed, planQueueChange } from "./queue";
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

function outageOf(machine: DocumentSnapshot): number {
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
  const { db, now } = deps;
  const threshold = brokenThreshold(a.threshold);
  const machineRef = refs(db).machine(a.machineId).withConverter(null);
  const reportRef = refs(db).brokenReports(a.machineId).doc(a.uid);
  const result = await db.runTransaction(async (tx) => {
    const machine = await tx.get(machineRef);
    if (!machine.exists) throw new UnknownMachineError(a.machineId);
    const outage = outageOf(machine);
    const tallyRef = refs(db).brokenOutage(a.machineId, outage);
    const [mine, tally] = await tx.getAll(reportRef, tallyRef);
    const alreadyReported = mine?.get("outage") === outage;
    const reporters = { ...(tally?.get("reporters") as Record<string, boolean> | undefined) };
    // Reported while the account was too new, again now that it counts: it counts from now.
    const counts = a.counts || (alreadyReported && mine?.get("counts") !== false);
    reporters[a.uid] = counts;
    const reports = Object.values(reporters).filter(Boolean).length;
    const wasOutOfOrder = machine.get("outOfOrder") === true;
    const flag = reports >= threshold && !wasOutOfOrder;

    // Reads of the flag's consequences, before any write.
    const roomId: unknown = machine.get("roomId");
    const name: unknown = machine.get("name");
    const m: MessageMachine = {
      id: a.machineId,
      name: typeof name === "string" ? name : null,
      type: machine.get("type") === "dryer" ? "dryer" : "washer",
    };
    const admins = flag ? (await tx.get(refs(db).admins)).docs.map((d) => d.id) : [];
    const queue =
      flag && typeof roomId === "string"
        ? await planQueueChange(db, tx, roomId, now, (q) => withdrawOffer(q, a.machineId))
        : null;
    const notices = await readNotices(
      db,
      tx,
      admins.map((uid) => ({
        uid,
        id: brokenNoticeId(a.machineId, outage),
        type: "machine_broken",
        machineId: a.machineId,
        roomId: typeof roomId === "string" ? roomId : null,
        text: (locale) => brokenAdminMessage(m, a.reason, locale),
        ttlSeconds: BROKEN_NOTICE_TTL_SECONDS,
      })),
    );

    if (!alreadyReported) {
      // New, or a leftover of a cleared outage (a report that raced the clear) becoming this one's.
      tx.set(reportRef, {
        uid: a.uid,
        reason: a.reason,
        outage,
        counts,
        createdAt: Timestamp.fromMillis(now),
      });
    } else if (counts && mine?.get("counts") === false) {
      tx.update(reportRef, { counts: true });
    }
    tx.set(tallyRef, { machineId: a.machineId, outage, reporters });
    if (flag) {
      tx.update(machineRef, {
        outOfOrder: true,
        outOfOrderSince: Timestamp.fromMillis(now),
        outOfOrderReason: a.reason,
      });
      queue?.write(tx);
      writeNotices(db, tx, notices, now);
    }
    return {
      reports,
      counted: a.counts,
      threshold,
      outOfOrder: wasOutOfOrder || flag,
      alreadyReported,
      adminsNotified: notices.toWrite.length,
      outage,
      withdrawn: queue?.withdrawn ?? null,
      flag,
    };
  });
  const { outage, withdrawn, flag, ...out } = result;
  if (flag) {
    logger.info("machine out of order", {
      machineId: a.machineId,
      outage,
      reports: out.reports,
      threshold,
      adminsNotified: out.adminsNotified,
      offerWithdrawnFrom: withdrawn?.uid ?? null,
    });
    if (out.adminsNotified === 0) logger.warn("no admin to notify of a broken machine", a);
  }
  return out;
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
