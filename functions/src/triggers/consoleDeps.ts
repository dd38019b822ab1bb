/**
 * The handler the console triggers share: it decodes the write event into document versions and
 * calls a store/console.ts function with the invocation and the master key (read here, in the
 * handler, never at module load).
 */
import * as logger from "firebase-functions/logger";
import type { Change, FirestoreEvent } from "firebase-functions/v2/firestore";
import type { DocumentSnapshot } from "firebase-admin/firestore";
import { DEVICE_MASTER_KEY } from "../config";
import { startInvocation } from "../invocation";
import type { ConsoleDeps, DocumentVersion } from "../store/console";

export type WriteEvent<P extends Record<string, string>> = FirestoreEvent<
  Change<DocumentSnapshot> | undefined,
  P
>;

function versionOf(snap: DocumentSnapshot | undefined): DocumentVersion | null {
  if (!snap?.exists) return null;
  return { data: snap.data() ?? {}, updateTime: snap.updateTime?.toMillis() ?? 0 };
}

/** The handler of the trigger on `{kind}s/{param}` (exported for tests, which pass the clock). */
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
    const deps = { ...startInvocation(() => now), masterKey: DEVICE_MASTER_KEY.value() };
    const outcome = await apply(
      deps,
      id,
      versionOf(event.data?.before),
      versionOf(event.data?.after),
    );
    if (outcome !== "unchanged") logger.info(`${kind} document handled`, { [param]: id, outcome });
    return outcome;
  };
}
