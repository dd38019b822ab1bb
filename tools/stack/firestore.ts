/**
 * A Firestore for the local stack and the tests: the real emulator when FIRESTORE_EMULATOR_HOST
 * is already set, otherwise the embedded Node endpoint (@firestore-emulator/server) started in
 * this process. See ../../docs/ARCHITECTURE.md for what the embedded endpoint cannot do.
 *
 * Embedded endpoints started here are remembered per host, so a later caller in the same process
 * (the stack started inside a test worker) gets the server object too: the dispatcher needs it
 * to see new documents, since the endpoint's collection-group listeners never fire.
 */
import { FirestoreServer } from "@firestore-emulator/server";
import { createServer } from "node:net";

export interface LocalFirestore {
  host: string;
  embedded: FirestoreServer | null;
  stop(): void;
}

const registryKey = "__washcallEmbeddedFirestores";
type WithRegistry = typeof globalThis & { [registryKey]?: Map<string, FirestoreServer> };

function registry(): Map<string, FirestoreServer> {
  const g = globalThis as WithRegistry;
  return (g[registryKey] ??= new Map<string, FirestoreServer>());
}

/** The embedded endpoint serving `host` in this process, if any. */
export function embeddedAt(host: string | undefined): FirestoreServer | null {
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
 * Uses FIRESTORE_EMULATOR_HOST if set (and this process's embedded endpoint behind it, if it is
 * one); else starts the embedded endpoint on `port` (0 = any free port) and sets the variable.
 * Stopping is left to whoever started the endpoint.
 */
export async function startFirestore(port: number): Promise<LocalFirestore> {
  const existing = process.env.FIRESTORE_EMULATOR_HOST;
  if (existing) return { host: existing, embedded: embeddedAt(existing), stop: () => undefined };
  const server = new FirestoreServer();
  const chosen = port === 0 ? await freePort() : port;
  await server.start(chosen);
  const host = `127.0.0.1:${chosen}`;
  registry().set(host, server);
  process.env.FIRESTORE_EMULATOR_HOST = host;
  return {
    host,
    embedded: server,
    stop: () => {
      registry().delete(host);
      server.stop();
      if (process.env.FIRESTORE_EMULATOR_HOST === host) delete process.env.FIRESTORE_EMULATOR_HOST;
    },
  };
}
