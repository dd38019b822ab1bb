/**
 * What the console triggers need, read inside a handler (params and secrets are never read at
 * module load), and the decoding of a Firestore write event into document versions.
 */
import type { Change, FirestoreEvent } from "firebase-functions/v2/firestore";
import type { DocumentSnapshot } from "firebase-admin/firestore";
import { APP_URL, CLAIM_WINDOW_MINUTES, DEVICE_MASTER_KEY } from "../config";
import { FUNCTIONS_REGION, deviceBaseUrl } from "../domain/firmwareSnippet";
import { selectTransport } from "../services/fcm/select";
import type { ConsoleDeps, DocumentVersion } from "../store/console";
import { db } from "../store/db";
import { claimWindowFrom } from "../store/queue";

export function consoleDeps(now: number = Date.now()): ConsoleDeps {
  const firestore = db();
  const project = process.env.GCLOUD_PROJECT ?? process.env.GOOGLE_CLOUD_PROJECT ?? "demo-washcall";
  return {
    db: firestore,
    now,
    masterKey: DEVICE_MASTER_KEY.value(),
    deviceUrl: deviceBaseUrl({}, project, FUNCTIONS_REGION),
    transport: selectTransport(firestore, () => now),
    appUrl: APP_URL.value(),
    claimWindowMinutes: claimWindowFrom(CLAIM_WINDOW_MINUTES.value()),
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
