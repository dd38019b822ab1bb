/**
 * machines/{machineId} written → a console edit gets the admin API's consequences
 * (store/console.ts applyMachineEdit). Writes that change no configuration return without a read.
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
