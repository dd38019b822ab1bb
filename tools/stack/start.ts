/**
 * `npm start`: the whole local stack with demo data, until Ctrl-C. Local data (Firestore
 * documents, Auth accounts) is kept in `.washcall/` across restarts; `npm start -- --clean`
 * (or WASHCALL_CLEAN=1) starts from the demo data alone. WASHCALL_DATA_DIR moves the folder.
 */
import { rmSync } from "node:fs";
import path from "node:path";
import { ROOT, startStack } from "./stack";

async function main() {
  const t0 = Date.now();
  const dataDir = process.env.WASHCALL_DATA_DIR ?? path.join(ROOT, ".washcall");
  const clean = process.argv.includes("--clean") || process.env.WASHCALL_CLEAN === "1";
  if (clean) rmSync(dataDir, { recursive: true, force: true });
  // Ports are fixed by the design (8080, 5001, 5000); the overrides exist for side-by-side runs.
  const stack = await startStack({
    firestorePort: Number(process.env.WASHCALL_FIRESTORE_PORT ?? 8080),
    functionsPort: Number(process.env.WASHCALL_FUNCTIONS_PORT ?? 5001),
    hostingPort: Number(process.env.WASHCALL_HOSTING_PORT ?? 5000),
    dataDir,
  });
  console.log(`
WashCall local stack ready in ${Date.now() - t0} ms (project ${stack.projectId})
  PWA (open this)   ${stack.webUrl ?? "off (no Auth emulator)"}  sign up with any email, or an admin: npm run admin -- grant <email>
  device function   ${stack.deviceUrl}/update | /heartbeat | /raw_data | /device_update
  api function      ${stack.apiUrl}/…
  Firestore         ${stack.firestoreHost} (${stack.firestoreEmbedded ? "local Firestore: gRPC, and WebChannel/REST for browsers; security rules NOT evaluated" : "emulator from FIRESTORE_EMULATOR_HOST"})
  Auth emulator     ${stack.authHost ?? "off"}
  triggers          ${stack.dispatcher.triggers.join(", ") || "none"}
  schedules         ${stack.dispatcher.schedules.join(", ") || "none"}
  push messages     recorded to the Firestore collection "outbox"
  demo data         room 1; washers 1–4, dryers 5–6; secrets demo-secret-<id>
  local data        ${path.relative(process.cwd(), dataDir) || dataDir}${clean ? " (started clean)" : ""}: kept across restarts; \`npm start -- --clean\` starts afresh
Press Ctrl-C to stop.`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    await stack.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
