/**
 * The test Firestore. With FIRESTORE_EMULATOR_HOST set from outside (the real emulator, e.g.
 * under `npm run test:emulators`) tests use it; otherwise each worker process starts the local
 * Firestore (tools/firestore) on a free port of its own. No host is hard-coded.
 */
import { embeddedAt, startFirestore } from "../../tools/stack/firestore";

export const PROJECT_ID = "demo-washcall";

/** Makes sure FIRESTORE_EMULATOR_HOST points at a Firestore for this process. */
export async function ensureFirestore(): Promise<void> {
  await startFirestore(0);
}

/**
 * Deletes every document, through the emulator's clear endpoint (which the local Firestore
 * serves too).
 */
export async function clearFirestore(): Promise<void> {
  const host = process.env.FIRESTORE_EMULATOR_HOST;
  if (!host) throw new Error("no Firestore: call ensureFirestore() first");
  const res = await fetch(
    `http://${host}/emulator/v1/projects/${PROJECT_ID}/databases/(default)/documents`,
    { method: "DELETE" },
  );
  if (!res.ok) throw new Error(`clearing the Firestore emulator failed: ${res.status}`);
}

/**
 * Every existing document of the local Firestore in this process, path → fields (wire form),
 * read from its store in one step; null when the real emulator is in use.
 */
export function dumpEmbedded(): Record<string, unknown> | null {
  const embedded = embeddedAt(process.env.FIRESTORE_EMULATOR_HOST);
  if (!embedded) return null;
  const prefix = `projects/${PROJECT_ID}/databases/(default)/documents/`;
  const out: Record<string, unknown> = {};
  for (const doc of embedded.backend.store.all()) {
    if (doc.name.startsWith(prefix)) out[doc.name.slice(prefix.length)] = doc.fields;
  }
  return out;
}

/**
 * Runs `work` and returns the reads it cost, by collection (`machines/watchers`…), as the local
 * Firestore bills them. Operation counts need the local Firestore: with the real emulator this
 * throws.
 */
export async function readsDuring(work: () => Promise<unknown>): Promise<Record<string, number>> {
  const embedded = embeddedAt(process.env.FIRESTORE_EMULATOR_HOST);
  if (!embedded) throw new Error("operation counts need the local Firestore (tools/firestore)");
  const reads: Record<string, number> = {};
  const store = embedded.backend.store;
  store.onOperation = (op, path, n) => {
    if (op !== "reads") return;
    const collection = (path.split("/documents/")[1] ?? path)
      .split("/")
      .filter((_, i) => i % 2 === 0)
      .join("/");
    reads[collection] = (reads[collection] ?? 0) + n;
  };
  try {
    await work();
  } finally {
    store.onOperation = null;
  }
  return reads;
}
