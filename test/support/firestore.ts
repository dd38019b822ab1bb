/**
 * The test Firestore. With FIRESTORE_EMULATOR_HOST set from outside (the real emulator, e.g.
 * under `npm run test:emulators`) tests use it; otherwise each worker process starts an embedded
 * endpoint (@firestore-emulator/server) on a free port of its own. No host is hard-coded.
 */
import { FirestoreServer } from "@firestore-emulator/server";
import { createServer } from "node:net";

export const PROJECT_ID = "demo-washcall";

interface Embedded {
  server: FirestoreServer;
  host: string;
}

const globalKey = "__washcallEmbeddedFirestore";
type WithEmbedded = typeof globalThis & { [globalKey]?: Embedded };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Makes sure FIRESTORE_EMULATOR_HOST points at a Firestore for this process. */
export async function ensureFirestore(): Promise<void> {
  const g = globalThis as WithEmbedded;
  if (g[globalKey]) return;
  if (process.env.FIRESTORE_EMULATOR_HOST && !process.env.WASHCALL_EMBEDDED_FIRESTORE) return;
  const server = new FirestoreServer();
  const port = await freePort();
  await server.start(port);
  const host = `127.0.0.1:${port}`;
  g[globalKey] = { server, host };
  process.env.FIRESTORE_EMULATOR_HOST = host;
  process.env.WASHCALL_EMBEDDED_FIRESTORE = host;
}

/** Deletes every document. */
export async function clearFirestore(): Promise<void> {
  const embedded = (globalThis as WithEmbedded)[globalKey];
  if (embedded) {
    embedded.server.state.clear();
    return;
  }
  const host = process.env.FIRESTORE_EMULATOR_HOST;
  if (!host) throw new Error("no Firestore: call ensureFirestore() first");
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
  const embedded = (globalThis as WithEmbedded)[globalKey];
  if (!embedded) return null;
  const database = embedded.server.state
    .getProject(PROJECT_ID)
    .getDatabase("(default)") as unknown as {
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
