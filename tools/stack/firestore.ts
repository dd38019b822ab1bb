/**
 * A Firestore for the local stack and the tests: the real emulator when FIRESTORE_EMULATOR_HOST
 * is already set, otherwise the local Firestore (../firestore) started in this process.
 *
 * Local endpoints started here are remembered per host, so a later caller in the same process
 * (the stack started inside a test worker) gets the endpoint object too: persistence and the
 * benchmark's operation counts read its store.
 */
import { createServer } from "node:net";
import { type FirestoreEmulator, startFirestoreEmulator } from "../firestore/server";

export interface LocalFirestore {
  host: string;
  /** The in-process local endpoint, or null when FIRESTORE_EMULATOR_HOST points elsewhere. */
  embedded: FirestoreEmulator | null;
  stop(): Promise<void>;
}

const registryKey = "__washcallLocalFirestores";
type WithRegistry = typeof globalThis & { [registryKey]?: Map<string, FirestoreEmulator> };

function registry(): Map<string, FirestoreEmulator> {
  const g = globalThis as WithRegistry;
  return (g[registryKey] ??= new Map<string, FirestoreEmulator>());
}

/** The local endpoint serving `host` in this process, if any. */
export function embeddedAt(host: string | undefined): FirestoreEmulator | null {
  return host ? (registry().get(host) ?? null) : null;
}

/** A free TCP port on 127.0.0.1. */
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

/**
 * Uses FIRESTORE_EMULATOR_HOST if set (and this process's local endpoint behind it, if it is
 * one); else starts the local endpoint on `port` (0 = any free port) and sets the variable.
 * Stopping is left to whoever started the endpoint.
 */
export async function startFirestore(port: number): Promise<LocalFirestore> {
  const existing = process.env.FIRESTORE_EMULATOR_HOST;
  if (existing) {
    return { host: existing, embedded: embeddedAt(existing), stop: () => Promise.resolve() };
  }
  const emulator = await startFirestoreEmulator({ port });
  const host = emulator.host;
  registry().set(host, emulator);
  process.env.FIRESTORE_EMULATOR_HOST = host;
  return {
    host,
    embedded: emulator,
    stop: async () => {
      registry().delete(host);
      if (process.env.FIRESTORE_EMULATOR_HOST === host) delete process.env.FIRESTORE_EMULATOR_HOST;
      await emulator.stop();
    },
  };
}
