/** provisioning/{machineId} written → `rotate: true` or a `chosen_secret` rotates the secret. */
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
