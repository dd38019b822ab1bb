/** machines/{machineId}/reports/{reportId} created → apply it (store/applyReport.ts), log it. */
import type { QueryDocumentSnapshot } from "firebase-admin/firestore";
import * as logger from "firebase-functions/logger";
import { onDocumentCreated } from "firebase-functions/v2/firestore";
import { type Invocation, startInvocation } from "../invocation";
import { applyReport } from "../store/applyReport";

interface ReportCreatedEvent {
  params: { machineId: string; reportId: string };
  /** The created report (absent only for an event without data, which is not retried). */
  data?: QueryDocumentSnapshot;
}

export async function handleReportCreated(event: ReportCreatedEvent, inv: Invocation) {
  const { machineId, reportId } = event.params;
  if (!event.data) {
    logger.error("report event without its document", { machineId, reportId });
    return null;
  }
  const result = await applyReport(inv, machineId, event.data);
  if (!result) {
    // Permanent: acknowledged with an error log, not retried for days under `retry: true`.
    logger.error("report not applied: its machine is gone", { machineId, reportId });
    return null;
  }
  const newCycles = result.newCycles.map((c) => c.id);
  logger.info("report applied", { machineId, reportId, ...result, newCycles });
  return result;
}

export const onReportCreated = onDocumentCreated(
  { document: "machines/{machineId}/reports/{reportId}", retry: true },
  (event) => handleReportCreated(event, startInvocation()),
);
