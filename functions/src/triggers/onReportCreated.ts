/**
 * machines/{machineId}/reports/{reportId} created → apply it to the machine (the only writer of
 * machine state), cycles, statistics and congestion. Thin: decode, apply, log; the work is in
 * store/applyReport.ts and the rules in domain/.
 */
import * as logger from "firebase-functions/logger";
import { onDocumentCreated } from "firebase-functions/v2/firestore";
import { applyReport } from "../store/applyReport";
import { db } from "../store/db";

export interface ReportCreatedEvent {
  params: { machineId: string; reportId: string };
}

export async function handleReportCreated(event: ReportCreatedEvent, now: () => number = Date.now) {
  const { machineId, reportId } = event.params;
  const result = await applyReport(db(), machineId, reportId, now);
  logger.info("report applied", {
    machineId,
    reportId,
    decision: result.decision,
    statusBefore: result.statusBefore,
    statusAfter: result.statusAfter,
    newCycles: result.newCycles.map((c) => c.id),
  });
  return result;
}

export const onReportCreated = onDocumentCreated(
  { document: "machines/{machineId}/reports/{reportId}", retry: true },
  (event) => handleReportCreated(event),
);
