/**
 * The local stack in a process of its own, for the ingest benchmark: its peak RSS is then the
 * stack's alone. Prints one line `READY {json}` when serving; stops on SIGTERM.
 */
import { getFirestore } from "firebase-admin/firestore";
import { createMachine, createRoom } from "../../functions/src/store/machines";
import { startStack } from "../stack/stack";

async function main() {
  const machines = Number(process.env.BENCH_MACHINES ?? 60);
  const stack = await startStack({
    firestorePort: 0,
    functionsPort: 0,
    auth: false,
    schedules: false,
    log: { info: () => undefined, error: (m, c) => console.error(JSON.stringify({ m, ...c })) },
  });
  const db = getFirestore();
  await createRoom(db, "900", "bench room");
  for (let i = 1; i <= machines; i++) {
    const id = String(1000 + i);
    await createMachine(db, { machineId: id, roomId: "900", name: `bench ${id}`, type: "washer", secret: `bench-secret-${id}` }, process.env.DEVICE_MASTER_KEY ?? "");
  }
  console.log(`READY ${JSON.stringify({ deviceUrl: stack.deviceUrl, pid: process.pid })}`);
  process.on("SIGTERM", () => {
    void stack.dispatcher.idle().then(async () => {
      await stack.stop();
      process.exit(0);
    });
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
