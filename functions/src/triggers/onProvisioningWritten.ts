/**
 * provisioning/{machineId} written → `rotate: true` or a `chosen_secret` rotates the machine's
 * device secret, as the admin API's rotate_device_secret, and shows the new one in the same
 * server-only document for a day (store/console.ts).
 */
import { onDocumentWritten } from "firebase-functions/v2/firestore";
import { DEVICE_MASTER_KEY } from "../config";
import { applyProvisioningEdit } from "../store/console";
import { consoleHandler } from "./consoleDeps";

export const handleProvisioningWritten = consoleHandler(
  "provisioning",
  "machineId",
  applyProvisioningEdit,
);

export const onProvisioningWritten = onDocumentWritten(
  { document: "provisioning/{machineId}", retry: true, secrets: [DEVICE_MASTER_KEY] },
  (event) => handleProvisioningWritten(event),
);
