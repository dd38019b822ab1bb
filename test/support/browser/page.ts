/**
 * The page script of the browser tests, bundled by test/support/browser.ts: the Firebase web SDK
 * exactly as a web app uses it, connected with connectFirestoreEmulator. Tests drive it through
 * `window.wc` and read what each listener saw, with the page's clock. Listeners include
 * metadata changes, so a snapshot first served from the cache is followed by the server's.
 */
import { initializeApp } from "firebase/app";
import {
  collection,
  connectFirestoreEmulator,
  doc,
  getCountFromServer,
  getDoc,
  initializeFirestore,
  onSnapshot,
  query,
  runTransaction,
  setDoc,
  where,
  type Firestore,
} from "firebase/firestore";

export interface SeenEvent {
  key: string;
  at: number;
  fromCache: boolean;
  data: unknown;
}

let db: Firestore | null = null;
const events: SeenEvent[] = [];
const errors: string[] = [];

function need(): Firestore {
  if (!db) throw new Error("call wc.init first");
  return db;
}

const wc = {
  events,
  errors,
  /**
   * `user`: "owner" (the emulator skips rules) or a uid, sent as an unsigned mock ID token so
   * the real emulator evaluates the rules for that signed-in user.
   */
  init(opts: {
    projectId: string;
    host: string;
    port: number;
    longPolling?: boolean;
    user: string;
  }) {
    const app = initializeApp({ projectId: opts.projectId, apiKey: "fake-api-key" });
    db = initializeFirestore(app, opts.longPolling ? { experimentalForceLongPolling: true } : {});
    connectFirestoreEmulator(db, opts.host, opts.port, {
      mockUserToken: opts.user === "owner" ? "owner" : { user_id: opts.user, sub: opts.user },
    });
  },
  listenDoc(key: string, path: string) {
    onSnapshot(
      doc(need(), path),
      { includeMetadataChanges: true },
      (s) =>
        events.push({
          key,
          at: Date.now(),
          fromCache: s.metadata.fromCache,
          data: s.data() ?? null,
        }),
      (e) => errors.push(`${key}: ${e.message}`),
    );
  },
  listenQuery(key: string, path: string, field?: string, value?: unknown) {
    const base = collection(need(), path);
    const q = field === undefined ? base : query(base, where(field, "==", value));
    onSnapshot(
      q,
      { includeMetadataChanges: true },
      (s) =>
        events.push({
          key,
          at: Date.now(),
          fromCache: s.metadata.fromCache,
          data: Object.fromEntries(s.docs.map((d) => [d.id, d.data()])),
        }),
      (e) => errors.push(`${key}: ${e.message}`),
    );
  },
  async write(path: string, data: Record<string, unknown>) {
    await setDoc(doc(need(), path), data);
  },
  async read(path: string) {
    return (await getDoc(doc(need(), path))).data() ?? null;
  },
  async count(path: string) {
    return (await getCountFromServer(collection(need(), path))).data().count;
  },
  async increment(path: string, field: string) {
    return runTransaction(need(), async (tx) => {
      const snap = await tx.get(doc(need(), path));
      const next = ((snap.data()?.[field] as number | undefined) ?? 0) + 1;
      tx.set(doc(need(), path), { [field]: next }, { merge: true });
      return next;
    });
  },
};

(globalThis as unknown as { wc: typeof wc }).wc = wc;
