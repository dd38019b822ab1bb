/**
 * machines/{machineId} written → a console edit gets the admin API's consequences: an invalid
 * configuration is reverted (or flagged), a new machine is provisioned, a deleted one cleaned
 * up, a valid change applied (store/console.ts). Writes that change no configuration (the report
 * trigger's, this trigger's own) return at once without a read.
 */
import * as logger from "firebase-functions/logger";
import { onDocumentWritten } from "firebase-functions/v2/firestore";
import { DEVICE_MASTER_KEY } from "../config";
import { onMachineWritten as applyEdit } from "../store/console";
import { consoleDeps, versionOf, type WriteEvent } from "./consoleDeps";

export async function handleMachineWritten(
  event: WriteEvent<{ machineId: string }>,
  now: number = Date.now(),
) {
  const { machineId } = event.params;
  const outcome = await applyEdit(
    consoleDeps(now),
    machineId,
    versionOf(event.data?.before),
    versionOf(event.data?.after),
  );
  if (outcome !== "unchanged") logger.info("machine document handled", { machineId, outcome });
  return outcome;
}

export const onMachineWritten = onDocumentWritten(
  { document: "machines/{machineId}", retry: true, secrets: [DEVICE_MASTER_KEY] },
  (event) => handleMachineWritten(event),
);
