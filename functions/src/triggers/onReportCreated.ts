/**
 * machines/{machineId}/reports/{reportId} created → apply it to the machine (the only writer of
 * machine state), cycles, statistics and congestion, then settle what the machine's applied
 * reports owe: announce finished cycles (watchers and room subscribers: inbox + push, once per
 * user however often the event is delivered) and move the room's fair queue (a freed machine is
 * offered to the head; a started one counts as claimed). Thin: decode, apply, settle, log; the
 * work is in store/ and the rules in domain/.
 */
import * as logger from "firebase-functions/logger";
import { onDocumentCreated } from "firebase-functions/v2/firestore";
import {
  APP_URL,
  CLAIM_WINDOW_MINUTES,
  CYCLE_MAX_MINUTES_DRYER,
  CYCLE_MAX_MINUTES_WASHER,
  CYCLE_MIN_MINUTES,
} from "../config";
import type { CycleBounds } from "../domain/apply";
import { selectTransport } from "../services/fcm/select";
import { MissingReportError, applyReport } from "../store/applyReport";
import { db } from "../store/db";
import { settleMachineEffects } from "../store/effects";
import type { NotifyDeps } from "../store/notifications";
import { claimWindowFrom } from "../store/queue";

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
  const min = CYCLE_MIN_MINUTES.value();
  const bounds: CycleBounds = {
    washer: { minMinutes: min, maxMinutes: CYCLE_MAX_MINUTES_WASHER.value() },
    dryer: { minMinutes: min, maxMinutes: CYCLE_MAX_MINUTES_DRYER.value() },
  };
  let result;
  try {
    result = await applyReport(firestore, machineId, reportId, now, bounds);
  } catch (err) {
    // Permanent: acknowledged with an error log, not retried for days under `retry: true`.
    if (!(err instanceof MissingReportError)) throw err;
    logger.error("report not applied: its document or machine is gone", {
      machineId,
      reportId,
      machineMissing: err.machineMissing,
    });
    return null;
  }
  const settled = await settleMachineEffects(firestore, machineId, {
    notify: {
      db: firestore,
      now,
      transport: notify.transport ?? selectTransport(firestore, now),
      appUrl: notify.appUrl ?? APP_URL.value(),
      ...(notify.sleep ? { sleep: notify.sleep } : {}),
    },
    claimWindowMinutes: claimWindowFrom(CLAIM_WINDOW_MINUTES.value()),
  });
  logger.info("report applied", {
    machineId,
    reportId,
    decision: result.decision,
    statusBefore: result.statusBefore,
    statusAfter: result.statusAfter,
    newCycles: result.newCycles.map((c) => c.id),
    effectsSettled: settled.settled,
  });
  return result;
}

export const onReportCreated = onDocumentCreated(
  { document: "machines/{machineId}/reports/{reportId}", retry: true },
  (event) => handleReportCreated(event),
);
