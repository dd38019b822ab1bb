/** provisioning/{machineId} written → `rotate: true` or a `chosen_secret` rotates the secret. */
import { applyProvisioningEdit } from "../store/console";
import { consoleTrigger } from "./consoleDeps";

export const onProvisioningWritten = consoleTrigger(
  "provisioning",
  "provisioning/{machineId}",
  applyProvisioningEdit,
);
