/**
 * Broken-machine reports and the out-of-order flag. Server-only layout:
 * - `machines/{id}/brokenReports/{uid}`: one report per user per outage (`uid, reason, outage,
 *   counts, createdAt`); `counts: false` is a report from an account too new to count.
 * - `machines/{id}.brokenOutage` (default 0): the current outage; clearing moves it on, so a
 *   cleared outage's reports never count towards the next one.
 * - `brokenOutages/{machineId}-{outage}`: the outage's tally, `reporters: {uid: counts}`.
 * - `machines/{id}/brokenArchive/{outage}-{uid}`: the reports of a cleared outage.
 *
 * A report is one transaction over the machine and the tally (one document, so concurrent
 * reporters are serialised on it); the report reaching the threshold also flags the machine,
 * withdraws its queue offer and writes every admin's notice, in the same commit.
 */
import * as logger from "firebase-functions/logger";
import { type DocumentSnapshot, Timestamp } from "firebase-admin/firestore";
import { brokenAdminMessage } from "../domain/messages";
import { withdrawOffer } from "../domain/queue";
import { toMillis } from "../data/db";
import type { Invocation } from "../invocation";
import { readNotices, writeNotices } from "./notices";
import { messageMachine, onMachineFreed, planQueueChange } from "./queue";
import { refs } from "../data/refs";

/** How long FCM keeps trying to deliver a breakdown notice. */
const BROKEN_NOTICE_TTL_SECONDS = 24 * 3600;
/** Documents moved per batch when an outage is cleared (2 writes each). */
const ARCHIVE_CHUNK = 200;

export class UnknownMachineError extends Error {}

function outageOf(machine: DocumentSnapshot): number {
  const v = machine.get("brokenOutage") as unknown;
  return typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : 0;
}

/**
 * Records `uid`'s report, flags the machine out of order once `settings.broken.threshold`
 * distinct counted users reported this outage, and notifies every admin once per outage.
 * Throws UnknownMachineError for a missing machine.
 */
export async function reportBroken(
  { db, now: clock, settings }: Invocation,
  a: { machineId: string; uid: string; reason: string; counts: boolean },
) {
  const now = clock();
  const { threshold } = settings.broken;
  const machineRef = refs(db).machine(a.machineId);
  const reportRef = refs(db).brokenReports(a.machineId).doc(a.uid);
  const result = await db.runTransaction(async (tx) => {
    const snap = await tx.get(machineRef);
    const machine = snap.data();
    if (!machine) throw new UnknownMachineError(a.machineId);
    const { outOfOrder: wasOutOfOrder, roomId } = machine;
    const outage = outageOf(snap);
    const tallyRef = refs(db).brokenOutage(a.machineId, outage);
    const [mine, tally] = await tx.getAll(reportRef, tallyRef);
    const alreadyReported = mine?.get("outage") === outage;
    const reporters = { ...(tally?.get("reporters") as Record<string, boolean> | undefined) };
    // Reported while the account was too new, again now that it counts: it counts from now.
    const counts = a.counts || (alreadyReported && mine?.get("counts") !== false);
    reporters[a.uid] = counts;
    const reports = Object.values(reporters).filter(Boolean).length;
    const flag = reports >= threshold && !wasOutOfOrder;

    // Reads of the flag's consequences, before any write.
    const admins = flag ? (await tx.get(refs(db).admins)).docs.map((d) => d.id) : [];
    const queue =
      flag && roomId !== null
        ? await planQueueChange(db, tx, roomId, now, (q) => withdrawOffer(q, a.machineId))
        : null;
    const notices = await readNotices(
      db,
      tx,
      admins.map((uid) => ({
        uid,
        id: `broken-${a.machineId}-${outage}`,
        type: "machine_broken",
        machineId: a.machineId,
        roomId,
        text: (locale) => brokenAdminMessage(messageMachine(snap), a.reason, locale),
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
      /** Distinct users whose reports of this outage count. */
      reports,
      threshold,
      outOfOrder: wasOutOfOrder || flag,
      alreadyReported,
      adminsNotified: notices.length,
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

/**
 * An admin declares the machine working: `outOfOrder` false, the outage moves on, its reports go
 * to `brokenArchive`, and the machine, if idle, is offered to the queue (`offeredTo`). Nothing is
 * written when there is nothing to clear. Throws UnknownMachineError for a missing machine.
 */
export async function clearBroken(
  { db, now, settings }: Invocation,
  a: { machineId: string; adminUid: string },
): Promise<{ wasOutOfOrder: boolean; archived: number; offeredTo: string | null }> {
  const machineRef = refs(db).machine(a.machineId);
  const snap = await machineRef.get();
  const machine = snap.data();
  if (!machine) throw new UnknownMachineError(a.machineId);
  const { outOfOrder: wasOutOfOrder, roomId } = machine;
  const outage = outageOf(snap);
  const pending = await refs(db).brokenReports(a.machineId).get();
  const offer = async (): Promise<string | null> => {
    if (roomId === null) return null;
    const r = await onMachineFreed(db, a.machineId, roomId, now(), settings.claimWindowMinutes);
    return r.offer?.uid ?? null;
  };
  // Nothing to clear; a retry after a clear that died before offering still offers (a second
  // offer is never made, and a running machine is skipped).
  if (!wasOutOfOrder && pending.empty) {
    return { wasOutOfOrder, archived: 0, offeredTo: await offer() };
  }

  // New reports from now on belong to the next outage; then every report of an earlier one is
  // archived (one filed in between stays).
  await machineRef.update({
    outOfOrder: false,
    outOfOrderSince: null,
    outOfOrderReason: null,
    brokenOutage: outage + 1,
  });
  const old = (await refs(db).brokenReports(a.machineId).get()).docs.filter(
    (d) => d.get("outage") !== outage + 1,
  );
  const clearedAt = Timestamp.fromMillis(now());
  const archive = refs(db).brokenArchive(a.machineId);
  for (let i = 0; i < old.length; i += ARCHIVE_CHUNK) {
    const batch = db.batch();
    for (const d of old.slice(i, i + ARCHIVE_CHUNK)) {
      const data = d.data();
      const archived = archive.doc(`${String(data.outage ?? outage)}-${d.id}`);
      batch.set(archived, { ...data, clearedAt, clearedBy: a.adminUid });
      batch.delete(d.ref);
    }
    await batch.commit();
  }
  logger.info("machine cleared", {
    machineId: a.machineId,
    outage,
    wasOutOfOrder,
    archived: old.length,
    since: toMillis(snap.get("outOfOrderSince")),
  });
  return { wasOutOfOrder, archived: old.length, offeredTo: await offer() };
}
