/**
 * Once a day (04:00 Asia/Seoul, the quietest hour): the fleet's course figures, the prior of
 * rooms with few cycles, recomputed from every room's statistics (store/fleetStats.ts).
 * Idempotent: a repeated run recomputes the same figures and writes nothing new.
 */
import * as logger from "firebase-functions/logger";
import { onSchedule } from "firebase-functions/v2/scheduler";
import { type Invocation, startInvocation } from "../invocation";
import { rollupFleetStats } from "../store/fleetStats";

export async function handleRollup(inv: Invocation) {
  const result = await rollupFleetStats(inv.db);
  logger.info("fleet course statistics", { ...result });
  return result;
}

export const rollupStats = onSchedule(
  { schedule: "0 4 * * *", timeZone: "Asia/Seoul", retryCount: 3 },
  () => handleRollup(startInvocation()).then(() => undefined),
);
