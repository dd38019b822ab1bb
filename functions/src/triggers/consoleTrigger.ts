/**
 * The registration the console triggers share (docs/ADMIN.md): a write to machines/, rooms/ or
 * provisioning/ decoded into document versions and handed to a store/console.ts function with the
 * invocation and the master key (read in the handler, never at module load).
 */
import * as logger from "firebase-functions/logger";
import { onDocumentWritten } from "firebase-functions/v2/firestore";
import type { DocumentSnapshot } from "firebase-admin/firestore";
import { DEVICE_MASTER_KEY } from "../config";
import { startInvocation } from "../invocation";
import type { ConsoleDeps, DocumentVersion } from "../store/console";

function versionOf(snap: DocumentSnapshot | undefined): DocumentVersion | null {
  if (!snap?.exists) return null;
  return { data: snap.data() ?? {}, updateTime: snap.updateTime?.toMillis() ?? 0 };
}

/** The trigger on `document`, whose one parameter is the id `apply` gets. */
export function consoleTrigger<O extends string>(
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
