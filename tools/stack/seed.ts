/**
 * The demo data of the local stack and the tests (not deployed: it lives here, not in
 * functions/): room 1, washers 1–4, dryers 5–6, secrets `demo-secret-<id>`, made with the same
 * calls the admin API makes.
 */
import type { Firestore } from "firebase-admin/firestore";
import type { MachineType } from "../../functions/src/domain/status";
import { refs } from "../../functions/src/data/refs";
import { createMachine, createRoom } from "../../functions/src/store/machines";

/** The demo data of the local stack: room 1, washers 1–4, dryers 5–6, `demo-secret-<id>`. */
export async function seedDemo(db: Firestore, masterKey: string): Promise<boolean> {
  if ((await refs(db).room("1").get()).exists) return false;
  await createRoom(db, "1", "1번 세탁실");
  for (let i = 1; i <= 6; i++) {
    const type: MachineType = i <= 4 ? "washer" : "dryer";
    await createMachine(
      db,
      {
        machineId: String(i),
        roomId: "1",
        name: `${type === "washer" ? "세탁기" : "건조기"} ${i}`,
        type,
        secret: `demo-secret-${i}`,
      },
      masterKey,
    );
  }
  return true;
}
