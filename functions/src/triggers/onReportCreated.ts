/**
 * machines/{machineId}/reports/{reportId} created → apply it to the machine (the only writer of
 * machine state), cycles, statistics and congestion, then announce every cycle this delivery
 * completed (watchers and room subscribers: inbox + push, once per user however often the event
 * is delivered). Thin: decode, apply, notify, log; the work is in store/ and the rules in domain/.
 */
import * as logger from "firebase-functions/logger";
import { onDocumentCreated } from "firebase-functions/v2/firestore";
import { APP_URL, CLAIM_WINDOW_MINUTES } from "../config";
import { isRunning } from "../domain/status";
import { selectTransport } from "../services/fcm/select";
import { applyReport } from "../store/applyReport";
import { db } from "../store/db";
import { type NotifyDeps, notifyFinished } from "../store/notifications";
import { claimWindowFrom, onMachineFreed, onMachineStarted } from "../store/queue";

export interface ReportCreatedEvent {
  params: { machineId: string; reportId: string };
}

export async function handleReportCreated(
  event: ReportCreatedEvent,
  now: () => number = Date.now,
  /** Tests swap the push transport (or sleep); the default follows PUSH_TRANSPORT. */
  notify: Partial<Omit<NotifyDeps, "db" | "now">> = {},
) {
  const { machineId, reportId } = event.params;
  const firestore = db();
  const result = await applyReport(firestore, machineId, reportId, now);
  logger.info("report applied", {
    machineId,
    reportId,
    decision: result.decision,
    statusBefore: result.statusBefore,
    statusAfter: result.statusAfter,
    newCycles: result.newCycles.map((c) => c.id),
  });
  if (result.newCycles.length > 0) {
    const deps: NotifyDeps = {
      db: firestore,
      now,
      transport: notify.transport ?? selectTransport(firestore, now),
      appUrl: notify.appUrl ?? APP_URL.value(),
      ...(notify.sleep ? { sleep: notify.sleep } : {}),
    };
    for (const cycle of result.newCycles) {
      await notifyFinished(deps, {
        machineId,
        roomId: result.roomId,
        type: result.type,
        cycleId: cycle.id,
      });
    }
  }
  // Fair queue: a machine that stopped running is offered to the head of its room's queue; one
  // that started counts as claimed by whoever held its offer. A redelivery sees no transition
  // (statusBefore == statusAfter), so a failure here cannot be redone by a retry: log it instead.
  const wasRunning = result.statusBefore !== null && isRunning(result.statusBefore);
  const isNowRunning = result.statusAfter !== null && isRunning(result.statusAfter);
  if (result.roomId && wasRunning !== isNowRunning) {
    try {
      if (wasRunning) {
        const window = claimWindowFrom(CLAIM_WINDOW_MINUTES.value());
        await onMachineFreed(firestore, machineId, result.roomId, now(), window, notify);
      } else {
        await onMachineStarted(firestore, machineId, result.roomId, now());
      }
    } catch (err) {
      logger.error("queue update failed", {
        machineId,
        roomId: result.roomId,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
  return result;
}

export const onReportCreated = onDocumentCreated(
  { document: "machines/{machineId}/reports/{reportId}", retry: true },
  (event) => handleReportCreated(event),
);
