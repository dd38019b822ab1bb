/** provisioning/{machineId} written → `rotate: true` or a `chosen_secret` rotates the secret. */
import { applyProvisioningEdit } from "../store/console";
import { consoleTrigger } from "./consoleTrigger";

export const onProvisioningWritten = consoleTrigger(
  "provisioning",
  "provisioning/{machineId}",
  applyProvisioningEdit,
);
