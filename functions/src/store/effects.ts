/**
 * Settling what applied reports owe: announcing finished cycles and moving the room's queue.
 * `applyReport` records each owed effect (`machineEffects/{machineId}-{reportId}`, PENDING) in the
 * same transaction as the state change; the trigger then settles every PENDING effect of the
 * machine, its own and any left by a delivery that died, and marks each DONE. The tick settles
 * effects still PENDING after 2 minutes.
 *
 * One run at a time per effect: before settling an effect a run takes its lease
 * `idempotency/lease-settle-{effectId}` (lease.ts, taken in a transaction) for
 * {@link SETTLE_LEASE_MS}. A run that cannot take it leaves
 * that effect AND the machine's later ones to the holder (effects of one machine are settled in
 * report order: a "started" settled before an earlier "freed" would take the new offer for
 * claimed); the holder looks for effects recorded meanwhile before it stops, and an effect whose
 * holder died is taken over once the lease expires (by a later trigger or the tick). A run that
 * fails releases the lease so a retry need not wait. Each step is idempotent on its own too
 * (deterministic notification ids; queue changes that change nothing when already applied).
 */
import * as logger from "firebase-functions/logger";
import { FieldValue, type Firestore } from "firebase-admin/firestore";
import type { MachineType } from "../domain/status";
import { MINUTE_MS } from "../domain/time";
import { COL, toMillis } from "./db";
import { implausibleCycleAdminMessage } from "../domain/messages";
import { adminUids } from "./admins";
import { deliverInbox, resendOwedPushes } from "./inbox";
import { acquireLease, leaseRef } from "./lease";
import { type NotifyDeps, notifyFinished } from "./notifications";
import { onMachineFreed, onMachineStarted } from "./queue";

/** How long a settling run holds an effect: longer than a fan-out with its push retries. */
export const SETTLE_LEASE_MS = 2 * MINUTE_MS;
/** Re-reads of the machine's PENDING effects by one run (effects recorded while it worked). */
const MAX_PASSES = 5;

interface StoredEffect {
  id: string;
  machineId: string;
  roomId: string | null;
  type: MachineType;
  reportId: string;
  cycleIds: string[];
  /** Absent on effects recorded before implausible cycles were told to admins. */
  implausibleCycleIds?: string[];
  transition: "freed" | "started" | null;
  createdAt: unknown;
}

export interface SettleDeps {
  notify: NotifyDeps;
  claimWindowMinutes: number;
}

export interface SettleReport {
  settled: string[];
  announced: string[];
  /** Effects another run holds (left to it). */
  held: string[];
}

async function pendingEffects(db: Firestore, machineId: string): Promise<StoredEffect[]> {
  const snap = await db
    .collection(COL.machineEffects)
    .where("machineId", "==", machineId)
    .where("state", "==", "PENDING")
    .get();
  return snap.docs
    .map((d) => ({ id: d.id, ...d.data() }) as StoredEffect)
    .sort((a, b) => a.reportId.localeCompare(b.reportId, "en", { numeric: true }));
}

async function settleOne(
  db: Firestore,
  effect: StoredEffect,
  deps: SettleDeps,
  report: SettleReport,
) {
  for (const cycleId of effect.cycleIds) {
    await notifyFinished(deps.notify, {
      machineId: effect.machineId,
      roomId: effect.roomId,
      type: effect.type,
      cycleId,
      appliedAt: toMillis(effect.createdAt),
    });
    report.announced.push(cycleId);
  }
  for (const cycleId of effect.implausibleCycleIds ?? []) {
    await tellAdminsImplausible(db, effect, cycleId, deps.notify);
  }
  if (effect.roomId && effect.transition === "freed") {
    const { transport, appUrl, sleep } = deps.notify;
    await onMachineFreed(
      db,
      effect.machineId,
      effect.roomId,
      deps.notify.now(),
      deps.claimWindowMinutes,
      { transport, appUrl, ...(sleep ? { sleep } : {}) },
    );
  } else if (effect.roomId && effect.transition === "started") {
    await onMachineStarted(db, effect.machineId, effect.roomId, deps.notify.now());
  }
}

/** How long FCM keeps an implausible-cycle notice. */
const IMPLAUSIBLE_NOTICE_TTL_SECONDS = 24 * 3600;

/** One inbox entry (and push) per admin per implausible cycle, id `implausible-{cycleId}`. */
async function tellAdminsImplausible(
  db: Firestore,
  effect: StoredEffect,
  cycleId: string,
  notify: NotifyDeps,
): Promise<void> {
  const [uids, machineSnap, cycleSnap] = await Promise.all([
    adminUids(db),
    db.collection(COL.machines).doc(effect.machineId).get(),
    db.collection(COL.cycles).doc(cycleId).get(),
  ]);
  const totalMinutes = cycleSnap.get("totalMinutes") as unknown;
  logger.warn("implausible cycle kept out of statistics", {
    machineId: effect.machineId,
    cycleId,
    totalMinutes,
    admins: uids.length,
  });
  if (uids.length === 0 || typeof totalMinutes !== "number") return;
  const name = machineSnap.get("name") as unknown;
  const machine = {
    id: effect.machineId,
    name: typeof name === "string" ? name : null,
    type: effect.type,
  };
  await deliverInbox(
    notify,
    uids.map((uid) => ({
      uid,
      notificationId: `implausible-${cycleId}`,
      type: "implausible_cycle",
      machineId: effect.machineId,
      roomId: effect.roomId,
      text: (locale) => implausibleCycleAdminMessage(machine, totalMinutes, locale),
      extra: { cycleId },
      ttlSeconds: IMPLAUSIBLE_NOTICE_TTL_SECONDS,
    })),
  );
}

export async function settleMachineEffects(
  db: Firestore,
  machineId: string,
  deps: SettleDeps,
): Promise<SettleReport> {
  const report: SettleReport = { settled: [], announced: [], held: [] };
  const seen = new Set<string>();
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const effects = (await pendingEffects(db, machineId)).filter((e) => !seen.has(e.id));
    if (effects.length === 0) break;
    for (const effect of effects) {
      seen.add(effect.id);
      const lease = await acquireLease(db, leaseRef(db, `settle-${effect.id}`), {
        kind: "lease",
        now: deps.notify.now(),
        leaseMs: SETTLE_LEASE_MS,
      });
      if (!lease) {
        logger.info("effect held by another run, leaving it and the later ones", {
          machineId,
          effectId: effect.id,
        });
        report.held.push(effect.id);
        return report;
      }
      const ref = db.collection(COL.machineEffects).doc(effect.id);
      // The query may predate another run's settlement of it.
      if ((await ref.get()).get("state") !== "PENDING") {
        await lease.release();
        continue;
      }
      try {
        await settleOne(db, effect, deps, report);
        await ref.update({ state: "DONE", doneAt: FieldValue.serverTimestamp() });
      } finally {
        // Released before the next read of PENDING effects: a run that found this one held
        // and left the later ones to us did so before this point, so the re-read sees them.
        await lease.release();
      }
      report.settled.push(effect.id);
    }
  }
  return report;
}

/**
 * The tick's safety net: effects still PENDING `olderThanMs` after their report was applied
 * (every delivery of it failed, or the trigger gave up retrying) are settled here, and so are
 * pushes still owed past their grace period (inbox.ts `resendOwedPushes`: a sender that died
 * between writing an inbox entry and pushing it, whatever the notice).
 */
export async function settleStaleEffects(
  db: Firestore,
  deps: SettleDeps,
  olderThanMs = 2 * 60_000,
): Promise<string[]> {
  const snap = await db.collection(COL.machineEffects).where("state", "==", "PENDING").get();
  const cutoff = deps.notify.now() - olderThanMs;
  const machines = new Set(
    snap.docs
      .filter((d) => (toMillis(d.get("createdAt")) ?? 0) <= cutoff)
      .map((d) => d.get("machineId") as string),
  );
  const settled: string[] = [];
  for (const machineId of [...machines].sort()) {
    settled.push(...(await settleMachineEffects(db, machineId, deps)).settled);
  }
  // Pushes whose sender died after writing the inbox entry (any kind of notice).
  await resendOwedPushes(deps.notify);
  return settled;
}
