/**
 * What the console triggers need, read inside a handler (params and secrets are never read at
 * module load), and the decoding of a Firestore write event into document versions.
 */
import type { Change, FirestoreEvent } from "firebase-functions/v2/firestore";
import type { DocumentSnapshot } from "firebase-admin/firestore";
import { DEVICE_MASTER_KEY } from "../config";
import { FUNCTIONS_REGION, deviceBaseUrl } from "../domain/firmwareSnippet";
import { startInvocation } from "../invocation";
import type { ConsoleDeps, DocumentVersion } from "../store/console";

export function consoleDeps(now: number = Date.now()): ConsoleDeps {
  const inv = startInvocation(now);
  const project = process.env.GCLOUD_PROJECT ?? process.env.GOOGLE_CLOUD_PROJECT ?? "demo-washcall";
  return {
    db: inv.db,
    now,
    masterKey: DEVICE_MASTER_KEY.value(),
    deviceUrl: deviceBaseUrl({}, project, FUNCTIONS_REGION),
    claimWindowMinutes: inv.settings.claimWindowMinutes,
  };
}

export function versionOf(snap: DocumentSnapshot | undefined): DocumentVersion | null {
  if (!snap?.exists) return null;
  return { data: snap.data() ?? {}, updateTime: snap.updateTime?.toMillis() ?? 0 };
}

export type WriteEvent<P extends Record<string, string>> = FirestoreEvent<
  Change<DocumentSnapshot> | undefined,
  P
>;
