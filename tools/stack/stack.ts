/**
 * The local stack in one call: Firestore (real emulator or the local one), the Auth emulator, the
 * exported HTTPS functions on the emulator's URLs, Firestore triggers and schedules delivered
 * to the exported functions, FCM recorded to the `outbox` collection, and the demo data.
 * Used by `npm start` (start.ts), the end-to-end tests and the benchmark.
 */
import { getApps, initializeApp } from "firebase-admin/app";
import { getFirestore } from "firebase-admin/firestore";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { type LocalAuth, startAuth } from "./auth";
import { type Dispatcher, type DispatcherLog, startDispatcher } from "./dispatcher";
import { recordPushesToOutbox } from "./fcmSink";
import type { FirestoreEmulator } from "../firestore/server";
import { type LocalFirestore, startFirestore } from "./firestore";
import { loadDocuments, persistDocuments } from "./persist";
import { applyParamDefaults } from "./paramDefaults";
import { seedDemo } from "./seed";
import { type FunctionsHost, startFunctionsHost } from "./functionsHost";
import { type LocalHosting, startHosting } from "./hosting";

export const PROJECT_ID = "demo-washcall";
/** Fixed, public dev key: only ever encrypts the demo secrets of the local stack. */
export const LOCAL_MASTER_KEY = "washcall-local-dev-master-key-not-secret";
export const ROOT = path.resolve(__dirname, "..", "..");

export interface StackOptions {
  firestorePort?: number;
  functionsPort?: number;
  /** Serve the PWA (web/dist) on this port; null: no PWA. Default 5000. */
  hostingPort?: number | null;
  /** Start the Auth emulator (or reuse FIREBASE_AUTH_EMULATOR_HOST). Default true. */
  auth?: boolean;
  /** Run scheduled functions every minute. Default true. */
  schedules?: boolean;
  seed?: boolean;
  /**
   * Where local data survives restarts (local Firestore documents, Auth emulator accounts);
   * null or absent: nothing is kept. `npm start` uses `.washcall/` unless told to start clean.
   */
  dataDir?: string | null;
  log?: DispatcherLog;
}

export interface Stack {
  projectId: string;
  firestoreHost: string;
  /** True when the local Firestore (tools/firestore) serves, in this process. */
  firestoreEmbedded: boolean;
  /** The local Firestore itself (null with the real emulator), e.g. to count operations. */
  embedded: FirestoreEmulator | null;
  authHost: string | null;
  deviceUrl: string;
  apiUrl: string;
  /** The PWA, when served (hostingPort not null and the Auth emulator on). */
  webUrl: string | null;
  functions: Record<string, unknown>;
  dispatcher: Dispatcher;
  stop(): Promise<void>;
}

/** KEY=value lines of git-ignored functions/.secret.local and .env.local, if present. */
function localEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const file of ["functions/.secret.local", "functions/.env.local"]) {
    const p = path.join(ROOT, file);
    if (!existsSync(p)) continue;
    for (const line of readFileSync(p, "utf8").split(/\r?\n/)) {
      const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
      if (m) out[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
    }
  }
  return out;
}

/** The Auth emulator's own import / export-on-exit, in `<dataDir>/auth`. */
function authPersistArgs(dataDir: string): string[] {
  const dir = path.join(dataDir, "auth");
  const exported = existsSync(path.join(dir, "firebase-export-metadata.json"));
  return [...(exported ? ["--import", dir] : []), "--export-on-exit", dir];
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const log: DispatcherLog = opts.log ?? {
    info: (message, ctx) => console.log(JSON.stringify({ severity: "INFO", message, ...ctx })),
    error: (message, ctx) => console.error(JSON.stringify({ severity: "ERROR", message, ...ctx })),
  };
  const env = localEnv();
  for (const [k, v] of Object.entries(env)) process.env[k] ??= v;
  process.env.GCLOUD_PROJECT = PROJECT_ID;
  process.env.GOOGLE_CLOUD_PROJECT = PROJECT_ID;
  process.env.DEVICE_MASTER_KEY ??= LOCAL_MASTER_KEY;
  const hostingPort = opts.hostingPort === undefined ? 5000 : opts.hostingPort;

  const started: { stop(): unknown }[] = [];
  try {
    const firestore: LocalFirestore = await startFirestore(opts.firestorePort ?? 8080);
    started.push(firestore);
    let auth: LocalAuth | null = null;
    if (opts.auth !== false) {
      auth = await startAuth(PROJECT_ID, ROOT, opts.dataDir ? authPersistArgs(opts.dataDir) : []);
      started.push(auth);
    }
    const requireLib = createRequire(path.join(ROOT, "functions", "lib", "index.js"));
    const functions = requireLib("./index.js") as Record<string, unknown>;
    // The params functions/lib declared, from the firebase-functions instance it loaded.
    const { declaredParams } = requireLib(
      "firebase-functions/params",
    ) as typeof import("firebase-functions/params");
    applyParamDefaults(process.env, declaredParams);
    if (getApps().length === 0) initializeApp({ projectId: PROJECT_ID });
    const db = getFirestore();
    // FCM: recorded to the outbox through the messaging module functions/lib uses.
    recordPushesToOutbox(requireLib("firebase-admin/messaging") as never, db);
    const documentsFile = opts.dataDir ? path.join(opts.dataDir, "firestore.json") : null;
    // Before the dispatcher: restored documents are not new events (but see `replay` below).
    const loaded =
      documentsFile && firestore.embedded ? await loadDocuments(db, documentsFile) : null;
    if (loaded && loaded.restored > 0) {
      log.info("local data restored", { documents: loaded.restored, file: documentsFile });
    }
    if (opts.seed !== false) {
      await seedDemo(db, process.env.DEVICE_MASTER_KEY);
    }
    if (documentsFile && firestore.embedded) {
      // Stopped after the functions host and the dispatcher: the final save sees every write.
      started.push(
        persistDocuments(db, firestore.embedded.backend.store, PROJECT_ID, documentsFile, (err) =>
          log.error("saving local data failed", {
            error: err instanceof Error ? err.message : String(err),
          }),
        ),
      );
    }
    const host: FunctionsHost = await startFunctionsHost(
      functions,
      PROJECT_ID,
      opts.functionsPort ?? 5001,
    );
    started.push(host);
    const dispatcher = startDispatcher(db, functions, {
      log,
      schedules: opts.schedules !== false,
      projectId: PROJECT_ID,
      changes: firestore.embedded
        ? (listener) =>
            firestore.embedded!.backend.store.onCommit((commit) => {
              for (const write of commit.changes)
                listener({ ...write, commitTime: commit.commitTime });
            })
        : undefined,
    });
    started.push(dispatcher);
    await dispatcher.ready;
    // Reports saved before their trigger ran are created now, so the dispatcher delivers them.
    const replayed = loaded ? await loaded.replay() : 0;
    if (replayed > 0) log.info("unapplied reports delivered again", { reports: replayed });
    let web: LocalHosting | null = null;
    if (hostingPort !== null && auth) {
      web = await startHosting({
        port: hostingPort,
        projectId: PROJECT_ID,
        dir: path.join(ROOT, "web", "dist"),
        apiUrl: host.urlOf("api"),
        authHost: auth.host,
        firestoreHost: firestore.host,
        studentEmailDomain: process.env.STUDENT_EMAIL_DOMAIN ?? "students.washcall.local",
      });
      started.push(web);
      // Notification links open the local PWA.
      process.env.APP_URL ??= web.url;
    }
    return {
      projectId: PROJECT_ID,
      firestoreHost: firestore.host,
      firestoreEmbedded: firestore.embedded !== null,
      embedded: firestore.embedded,
      authHost: auth?.host ?? null,
      deviceUrl: host.urlOf("device"),
      apiUrl: host.urlOf("api"),
      webUrl: web?.url ?? null,
      functions,
      dispatcher,
      stop: async () => {
        for (const s of started.reverse()) await s.stop();
      },
    };
  } catch (err) {
    for (const s of started.reverse()) await s.stop();
    throw err;
  }
}
