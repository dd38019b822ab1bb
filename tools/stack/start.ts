/**
 * `npm start`: the whole local stack with demo data, until Ctrl-C.
 */
import { startStack } from "./stack";

async function main() {
  const t0 = Date.now();
  // Ports are fixed by the design (8080, 5001); the overrides exist for side-by-side runs.
  const stack = await startStack({
    firestorePort: Number(process.env.WASHCALL_FIRESTORE_PORT ?? 8080),
    functionsPort: Number(process.env.WASHCALL_FUNCTIONS_PORT ?? 5001),
  });
  console.log(`
WashCall local stack ready in ${Date.now() - t0} ms (project ${stack.projectId})
  device function   ${stack.deviceUrl}/update | /heartbeat | /raw_data
  api function      ${stack.apiUrl}/…
  Firestore         ${stack.firestoreHost} (${stack.firestoreEmbedded ? "embedded endpoint" : "emulator from FIRESTORE_EMULATOR_HOST"})
  Auth emulator     ${stack.authHost ?? "off"}
  triggers          ${stack.dispatcher.triggers.join(", ") || "none"}
  schedules         ${stack.dispatcher.schedules.join(", ") || "none"}
  push messages     recorded to the Firestore collection "outbox"
  demo data         room 1; washers 1–4, dryers 5–6; secrets demo-secret-<id>
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
