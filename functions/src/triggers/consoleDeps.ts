/**
 * What the console triggers share: their dependencies, read inside a handler (params and secrets
 * are never read at module load), and the handler around a store/console.ts function, which
 * decodes the write event into document versions.
 */
import * as logger from "firebase-functions/logger";
import type { Change, FirestoreEvent } from "firebase-functions/v2/firestore";
import type { DocumentSnapshot } from "firebase-admin/firestore";
import { DEVICE_MASTER_KEY } from "../config";
import { startInvocation } from "../invocation";
import type { ConsoleDeps, DocumentVersion } from "../store/console";
import { deviceUrl } from "../store/machines";

export type WriteEvent<P extends Record<string, string>> = FirestoreEvent<
  Change<DocumentSnapshot> | undefined,
  P
>;

function consoleDeps(now: number): ConsoleDeps {
  const inv = startInvocation(() => now);
  return {
    db: inv.db,
    now,
    masterKey: DEVICE_MASTER_KEY.value(),
    deviceUrl: deviceUrl(),
    claimWindowMinutes: inv.settings.claimWindowMinutes,
  };
}

function versionOf(snap: DocumentSnapshot | undefined): DocumentVersion | null {
  if (!snap?.exists) return null;
  return { data: snap.data() ?? {}, updateTime: snap.updateTime?.toMillis() ?? 0 };
}

/**
 * The handler of the trigger on `{kind}s/{param}` (exported for tests, which pass the clock):
 * `apply` gets the document's versions before and after the write; what it did is logged.
 */
export function consoleHandler<K extends string, O extends string>(
  kind: string,
  param: K,
  apply: (
    deps: ConsoleDeps,
    id: string,
    before: DocumentVersion | null,
    after: DocumentVersion | null,
  ) => Promise<O>,
) {
  return async (event: WriteEvent<Record<K, string>>, now: number = Date.now()): Promise<O> => {
    const id = event.params[param];
    const outcome = await apply(
      consoleDeps(now),
      id,
      versionOf(event.data?.before),
      versionOf(event.data?.after),
    );
    if (outcome !== "unchanged") logger.info(`${kind} document handled`, { [param]: id, outcome });
    return outcome;
  };
}
