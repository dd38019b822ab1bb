/**
 * Shared by the conformance suite (test/firestore): the Admin SDK, the Node client SDK and a raw
 * gRPC Listen client, all pointed at FIRESTORE_EMULATOR_HOST — the local Firestore in `npm
 * test`, the real emulator under `npm run test:emulators`. Nothing here knows which it is,
 * except `isLocal`, which only the known-differences file uses.
 */
import * as grpc from "@grpc/grpc-js";
import { initializeApp as initializeClientApp, type FirebaseApp } from "firebase/app";
import {
  connectFirestoreEmulator,
  getFirestore,
  terminate,
  type Firestore,
} from "firebase/firestore";
import { embeddedAt } from "../../tools/stack/firestore";
import { firestorePackage } from "../../tools/firestore/protos";
import { PROJECT_ID } from "../support/firestore";

export { testDb as adminDb } from "../support/world";

export const DATABASE = `projects/${PROJECT_ID}/databases/(default)`;
export const ROOT = `${DATABASE}/documents`;

/** True when FIRESTORE_EMULATOR_HOST is this process's local Firestore. */
export function isLocal(): boolean {
  return embeddedAt(process.env.FIRESTORE_EMULATOR_HOST) !== null;
}

export function emulatorHost(): { host: string; port: number } {
  const [host, port] = (process.env.FIRESTORE_EMULATOR_HOST ?? "").split(":");
  return { host: host, port: Number(port) };
}

let clients = 0;

/**
 * A fresh Node client SDK instance (its own app, its own streams), as the emulator's "owner"
 * (`Authorization: Bearer owner`): the real emulator then skips security rules, which these tests
 * are not about (test/rules is).
 */
export function clientDb(): { db: Firestore; app: FirebaseApp; close: () => Promise<void> } {
  const app = initializeClientApp(
    { projectId: PROJECT_ID, apiKey: "fake-api-key" },
    `c${++clients}`,
  );
  const db = getFirestore(app);
  const { host, port } = emulatorHost();
  connectFirestoreEmulator(db, host, port, { mockUserToken: "owner" });
  return { db, app, close: () => terminate(db) };
}

/** Resolves when `check()` holds, re-checking after each event the caller signals. */
export class Waiter {
  private wake: (() => void) | null = null;

  signal(): void {
    this.wake?.();
  }

  /** `refresh` (if given) runs before each check, e.g. to fetch state from a browser page. */
  async until(
    check: () => boolean,
    what: string,
    timeoutMs = 10_000,
    refresh?: () => Promise<void>,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (refresh) await refresh();
      if (check()) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  }
}

export interface ListenMessage {
  targetChange?: {
    targetChangeType?: string;
    targetIds?: number[];
    resumeToken?: Buffer;
    readTime?: unknown;
  };
  documentChange?: {
    document: { name: string; fields?: Record<string, unknown> };
    targetIds?: number[];
    removedTargetIds?: number[];
  };
  documentDelete?: { document: string; removedTargetIds?: number[] };
  documentRemove?: { document: string; removedTargetIds?: number[] };
  filter?: { targetId?: number; count?: number };
}

type ListenCall = grpc.ClientDuplexStream<unknown, ListenMessage>;

function rawClient(): grpc.Client {
  const Client = grpc.makeGenericClientConstructor(
    firestorePackage()["google.firestore.v1.Firestore"] as grpc.ServiceDefinition,
    "Firestore",
  );
  return new Client(process.env.FIRESTORE_EMULATOR_HOST!, grpc.credentials.createInsecure());
}

/**
 * One server-streaming RPC (RunQuery, BatchGetDocuments, …) over raw gRPC: its responses and
 * its status code (0 = OK). No SDK in between, so no retries.
 */
export function rawStream(
  method: string,
  request: object,
): Promise<{ responses: unknown[]; code: number }> {
  const client = rawClient();
  const call = (
    client as unknown as Record<string, (r: object) => grpc.ClientReadableStream<unknown>>
  )[method](request);
  const responses: unknown[] = [];
  return new Promise((resolve) => {
    call.on("data", (d: unknown) => responses.push(d));
    call.on("error", () => undefined);
    call.on("status", (s: grpc.StatusObject) => {
      client.close();
      resolve({ responses, code: s.code });
    });
  });
}

/** A raw Listen stream over gRPC, recording every response. */
export function rawListen(): {
  messages: ListenMessage[];
  waiter: Waiter;
  add: (targetId: number, target: object) => void;
  remove: (targetId: number) => void;
  close: () => void;
} {
  const Client = grpc.makeGenericClientConstructor(
    firestorePackage()["google.firestore.v1.Firestore"] as grpc.ServiceDefinition,
    "Firestore",
  );
  const client = new Client(
    process.env.FIRESTORE_EMULATOR_HOST!,
    grpc.credentials.createInsecure(),
  );
  const metadata = new grpc.Metadata();
  metadata.set("authorization", "Bearer owner");
  metadata.set("google-cloud-resource-prefix", DATABASE);
  const call = (client as unknown as { Listen(m: grpc.Metadata): ListenCall }).Listen(metadata);
  const messages: ListenMessage[] = [];
  const waiter = new Waiter();
  call.on("data", (m: ListenMessage) => {
    messages.push(m);
    waiter.signal();
  });
  call.on("error", () => undefined);
  return {
    messages,
    waiter,
    add: (targetId, target) =>
      call.write({ database: DATABASE, addTarget: { targetId, ...target } }),
    remove: (targetId) => call.write({ database: DATABASE, removeTarget: targetId }),
    close: () => {
      call.cancel();
      client.close();
    },
  };
}

/**
 * Applies Listen responses to a model of what a client holds per target (RESET clears a
 * target), as an SDK does. Returns target id → document name → fields.
 */
export function clientView(messages: ListenMessage[]): Map<number, Map<string, unknown>> {
  const view = new Map<number, Map<string, unknown>>();
  const of = (id: number) => {
    let m = view.get(id);
    if (!m) view.set(id, (m = new Map()));
    return m;
  };
  for (const m of messages) {
    if (m.targetChange?.targetChangeType === "RESET") {
      for (const id of m.targetChange.targetIds ?? []) of(id).clear();
    }
    if (m.documentChange) {
      for (const id of m.documentChange.targetIds ?? []) {
        of(id).set(m.documentChange.document.name, m.documentChange.document.fields ?? {});
      }
      for (const id of m.documentChange.removedTargetIds ?? []) {
        of(id).delete(m.documentChange.document.name);
      }
    }
    const gone = m.documentDelete ?? m.documentRemove;
    if (gone) for (const id of gone.removedTargetIds ?? []) of(id).delete(gone.document);
  }
  return view;
}

/** Index of the first global snapshot (NO_CHANGE, no target ids, a read time) after `from`. */
export function globalSnapshotAfter(messages: ListenMessage[], from = 0): number {
  return messages.findIndex(
    (m, i) =>
      i >= from &&
      m.targetChange !== undefined &&
      // NO_CHANGE is the enum's zero value: on the wire it is simply absent.
      (m.targetChange.targetChangeType ?? "NO_CHANGE") === "NO_CHANGE" &&
      (m.targetChange.targetIds ?? []).length === 0 &&
      m.targetChange.readTime !== undefined,
  );
}
