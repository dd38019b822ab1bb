/**
 * A Firestore for the local stack and the tests: the real emulator when FIRESTORE_EMULATOR_HOST
 * is already set, otherwise the embedded Node endpoint (@firestore-emulator/server) started in
 * this process. See ../../docs/ARCHITECTURE.md for what the embedded endpoint cannot do.
 */
import { FirestoreServer } from "@firestore-emulator/server";
import { createServer } from "node:net";

export interface LocalFirestore {
  host: string;
  embedded: FirestoreServer | null;
  stop(): void;
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

/** Uses FIRESTORE_EMULATOR_HOST if set; else starts the embedded endpoint on `port` (0 = any). */
export async function startFirestore(port: number): Promise<LocalFirestore> {
  const existing = process.env.FIRESTORE_EMULATOR_HOST;
  if (existing) return { host: existing, embedded: null, stop: () => undefined };
  const server = new FirestoreServer();
  const chosen = port === 0 ? await freePort() : port;
  await server.start(chosen);
  const host = `127.0.0.1:${chosen}`;
  process.env.FIRESTORE_EMULATOR_HOST = host;
  return { host, embedded: server, stop: () => server.stop() };
}
