/**
 * provisioning/{machineId} written → `rotate: true` or a `chosen_secret` rotates the machine's
 * device secret, as the admin API's rotate_device_secret, and shows the new one in the same
 * server-only document for a day (store/console.ts).
 */
import * as logger from "firebase-functions/logger";
import { onDocumentWritten } from "firebase-functions/v2/firestore";
import { DEVICE_MASTER_KEY } from "../config";
import { onProvisioningWritten as rotate } from "../store/console";
import { consoleDeps, versionOf, type WriteEvent } from "./consoleDeps";

export async function handleProvisioningWritten(
  event: WriteEvent<{ machineId: string }>,
  now: number = Date.now(),
) {
  const { machineId } = event.params;
  const outcome = await rotate(consoleDeps(now), machineId, versionOf(event.data?.after));
  if (outcome !== "unchanged") logger.info("provisioning document handled", { machineId, outcome });
  return outcome;
}

export const onProvisioningWritten = onDocumentWritten(
  { document: "provisioning/{machineId}", retry: true, secrets: [DEVICE_MASTER_KEY] },
  (event) => handleProvisioningWritten(event),
);
