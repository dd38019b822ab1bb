/**
 * Settling what applied reports owe: announcing finished cycles and moving the room's queue.
 * `applyReport` records each owed effect (`machineEffects/{machineId}-{reportId}`, PENDING) in the
 * same transaction as the state change; the trigger then settles every PENDING effect of the
 * machine, its own and any left by a delivery that died, and marks each DONE. Each step is
 * idempotent on its own (deterministic notification ids, queue versions), so settling twice is
 * harmless, and an error leaves the effect PENDING and fails the delivery, which is retried.
 */
import { FieldValue, type Firestore } from "firebase-admin/firestore";
import type { MachineType } from "../domain/status";
import { COL, toMillis } from "./db";
import { type NotifyDeps, notifyFinished } from "./notifications";
import { onMachineFreed, onMachineStarted } from "./queue";

interface StoredEffect {
  id: string;
  machineId: string;
  roomId: string | null;
  type: MachineType;
  reportId: string;
  cycleIds: string[];
  transition: "freed" | "started" | null;
}

export interface SettleDeps {
  notify: NotifyDeps;
  claimWindowMinutes: number;
}

export interface SettleReport {
  settled: string[];
  announced: string[];
}

export async function settleMachineEffects(
  db: Firestore,
  machineId: string,
  deps: SettleDeps,
): Promise<SettleReport> {
  const snap = await db
    .collection(COL.machineEffects)
    .where("machineId", "==", machineId)
    .where("state", "==", "PENDING")
    .get();
  const effects = snap.docs
    .map((d) => ({ id: d.id, ...d.data() }) as StoredEffect)
    .sort((a, b) => a.reportId.localeCompare(b.reportId, "en", { numeric: true }));
  const report: SettleReport = { settled: [], announced: [] };
  for (const effect of effects) {
    for (const cycleId of effect.cycleIds) {
      await notifyFinished(deps.notify, {
        machineId,
        roomId: effect.roomId,
        type: effect.type,
        cycleId,
      });
      report.announced.push(cycleId);
    }
    if (effect.roomId && effect.transition === "freed") {
      const { transport, appUrl, sleep } = deps.notify;
      await onMachineFreed(
        db,
        machineId,
        effect.roomId,
        deps.notify.now(),
        deps.claimWindowMinutes,
        {
          transport,
          appUrl,
          ...(sleep ? { sleep } : {}),
        },
      );
    } else if (effect.roomId && effect.transition === "started") {
      await onMachineStarted(db, machineId, effect.roomId, deps.notify.now());
    }
    await db
      .collection(COL.machineEffects)
      .doc(effect.id)
      .update({ state: "DONE", doneAt: FieldValue.serverTimestamp() });
    report.settled.push(effect.id);
  }
  return report;
}

/**
 * The tick's safety net: effects still PENDING `olderThanMs` after their report was applied
 * (every delivery of it failed, or the trigger gave up retrying) are settled here.
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
  return settled;
}
