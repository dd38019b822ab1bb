/**
 * rooms/{roomId} written → a room made in the console gets its defaults, an invalid name is
 * reverted, a deleted room's queue and subscriptions go (store/console.ts).
 */
import * as logger from "firebase-functions/logger";
import { onDocumentWritten } from "firebase-functions/v2/firestore";
import { DEVICE_MASTER_KEY } from "../config";
import { onRoomWritten as applyEdit } from "../store/console";
import { consoleDeps, versionOf, type WriteEvent } from "./consoleDeps";

export async function handleRoomWritten(
  event: WriteEvent<{ roomId: string }>,
  now: number = Date.now(),
) {
  const { roomId } = event.params;
  const outcome = await applyEdit(
    consoleDeps(now),
    roomId,
    versionOf(event.data?.before),
    versionOf(event.data?.after),
  );
  if (outcome !== "unchanged") logger.info("room document handled", { roomId, outcome });
  return outcome;
}

export const onRoomWritten = onDocumentWritten(
  { document: "rooms/{roomId}", retry: true, secrets: [DEVICE_MASTER_KEY] },
  (event) => handleRoomWritten(event),
);
