/**
 * The test Firestore. With FIRESTORE_EMULATOR_HOST set from outside (the real emulator, e.g.
 * under `npm run test:emulators`) tests use it; otherwise each worker process starts an embedded
 * endpoint (@firestore-emulator/server) on a free port of its own. No host is hard-coded.
 */
import { embeddedAt, startFirestore } from "../../tools/stack/firestore";

export const PROJECT_ID = "demo-washcall";

/** Makes sure FIRESTORE_EMULATOR_HOST points at a Firestore for this process. */
export async function ensureFirestore(): Promise<void> {
  await startFirestore(0);
}

/** Deletes every document. */
export async function clearFirestore(): Promise<void> {
  const host = process.env.FIRESTORE_EMULATOR_HOST;
  if (!host) throw new Error("no Firestore: call ensureFirestore() first");
  const embedded = embeddedAt(host);
  if (embedded) {
    embedded.state.clear();
    return;
  }
  const res = await fetch(
    `http://${host}/emulator/v1/projects/${PROJECT_ID}/databases/(default)/documents`,
    { method: "DELETE" },
  );
  if (!res.ok) throw new Error(`clearing the Firestore emulator failed: ${res.status}`);
}

interface StateDocument {
  metadata: { hasExist: boolean };
  collections: Record<string, StateCollection>;
  getDocumentPath(): string;
  toJSON(): { fields: unknown };
}
interface StateCollection {
  getAllDocuments(): StateDocument[];
}

/**
 * Every existing document of the embedded endpoint, path → fields, read from its state (so no
 * collection, however deep, is missed), or null when the real emulator is in use.
 */
export function dumpEmbedded(): Record<string, unknown> | null {
  const embedded = embeddedAt(process.env.FIRESTORE_EMULATOR_HOST);
  if (!embedded) return null;
  const database = embedded.state.getProject(PROJECT_ID).getDatabase("(default)") as unknown as {
    collections: Record<string, StateCollection>;
  };
  const out: Record<string, unknown> = {};
  const walk = (collections: Record<string, StateCollection>) => {
    for (const col of Object.values(collections)) {
      for (const doc of col.getAllDocuments()) {
        if (doc.metadata.hasExist) out[doc.getDocumentPath()] = doc.toJSON().fields;
        walk(doc.collections);
      }
    }
  };
  walk(database.collections);
  return out;
}
