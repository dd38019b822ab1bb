/**
 * machines/{machineId} written → a console edit gets the admin API's consequences: an invalid
 * configuration is reverted (or flagged), a new machine is provisioned, a deleted one cleaned
 * up, a valid change applied (store/console.ts). Writes that change no configuration (the report
 * trigger's, this trigger's own) return at once without a read.
 */
import { onDocumentWritten } from "firebase-functions/v2/firestore";
import { DEVICE_MASTER_KEY } from "../config";
import { applyMachineEdit } from "../store/console";
import { consoleHandler } from "./consoleDeps";

export const handleMachineWritten = consoleHandler("machine", "machineId", applyMachineEdit);

export const onMachineWritten = onDocumentWritten(
  { document: "machines/{machineId}", retry: true, secrets: [DEVICE_MASTER_KEY] },
  (event) => handleMachineWritten(event),
);
