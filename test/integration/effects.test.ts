import { beforeEach, describe, expect, it } from "vitest";
import { runTick } from "../../functions/src/scheduled/tick";
import { createRecordingTransport } from "../../tools/fcm/recordingTransport";
import { applyReport } from "../../functions/src/store/applyReport";
import { setWatch } from "../../functions/src/store/notifications";
import { postUpdate, seedDemoWorld, testDb } from "../support/world";

const START = Date.UTC(2026, 10, 16, 0, 50) / 1000;
const NOW = (START + 2 * 3600) * 1000;
let clock = NOW;

async function postAndApply(status: string, timestamp: number) {
  clock += 1500;
  const reportId = await postUpdate(clock, 1, status, timestamp);
  // Applied, but every delivery died before settling (or the trigger gave up retrying).
  await applyReport(testDb(), "1", reportId, () => clock);
}

beforeEach(async () => {
  clock = NOW;
  await seedDemoWorld();
});

describe("owed effects", () => {
  it("the tick settles an announcement left PENDING by failed deliveries, once, and not before it is 2 minutes old", async () => {
    await setWatch(testDb(), "watcher-9", "1", true, NOW);
    await postAndApply("WASHING", START);
    await postAndApply("SPINNING", START + 1800);
    await postAndApply("FINISHED", START + 2400);
    const entry = testDb().doc(`users/watcher-9/notifications/finished-1-${START + 2400}`);
    const tick = (at: number) =>
      runTick({
        db: testDb(),
        now: at,
        transport: createRecordingTransport(),
        appUrl: "https://example.test",
      });

    await tick(clock + 30_000);
    expect((await entry.get()).exists).toBe(false);

    await tick(clock + 3 * 60_000);
    expect((await entry.get()).exists).toBe(true);
    const pending = await testDb()
      .collection("machineEffects")
      .where("state", "==", "PENDING")
      .get();
    expect(pending.size).toBe(0);

    await tick(clock + 4 * 60_000);
    expect((await testDb().doc("users/watcher-9").get()).get("unreadCount")).toBe(1);
  });
});
