/**
 * The console triggers (docs/ADMIN.md): a write to machines/, rooms/ or provisioning/ decoded into
 * document versions and handed to store/console.ts with the invocation and the master key (read in
 * the handler, never at module load). A machine or room edit gets the admin API's consequences (a
 * write that changes no configuration returns without a read); a provisioning document's `rotate:
 * true` or `chosen_secret` rotates the machine's secret.
 */
import * as logger from "firebase-functions/logger";
import { onDocumentWritten } from "firebase-functions/v2/firestore";
import type { DocumentSnapshot } from "firebase-admin/firestore";
import { DEVICE_MASTER_KEY } from "../config";
import { startInvocation } from "../invocation";
import {
  type ConsoleDeps,
  type DocumentVersion,
  applyMachineEdit,
  applyProvisioningEdit,
  applyRoomEdit,
} from "../store/console";

function versionOf(snap: DocumentSnapshot | undefined): DocumentVersion | null {
  if (!snap?.exists) return null;
  return { data: snap.data() ?? {}, updateTime: snap.updateTime?.toMillis() ?? 0 };
}

/** The trigger on `document`, whose one parameter is the id `apply` gets. */
function consoleTrigger<O extends string>(
  kind: string,
  document: string,
  apply: (
    deps: ConsoleDeps,
    id: string,
    before: DocumentVersion | null,
    after: DocumentVersion | null,
  ) => Promise<O>,
) {
  return onDocumentWritten(
    { document, retry: true, secrets: [DEVICE_MASTER_KEY] },
    async (event) => {
      const [id = ""] = Object.values(event.params);
      const { before, after } = event.data ?? {};
      const deps = { ...startInvocation(), masterKey: DEVICE_MASTER_KEY.value() };
      const outcome = await apply(deps, id, versionOf(before), versionOf(after));
      if (outcome !== "unchanged") {
        logger.info(`${kind} document handled`, { ...event.params, outcome });
      }
      return outcome;
    },
  );
}

export const onMachineWritten = consoleTrigger("machine", "machines/{machineId}", applyMachineEdit);
export const onRoomWritten = consoleTrigger("room", "rooms/{roomId}", applyRoomEdit);
export const onProvisioningWritten = consoleTrigger(
  "provisioning",
  "provisioning/{machineId}",
  applyProvisioningEdit,
);
