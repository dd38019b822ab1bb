/**
 * rooms/{roomId} written → a room made in the console gets its defaults, an invalid name is
 * reverted, a deleted room's queue and subscriptions go (store/console.ts).
 */
import { onDocumentWritten } from "firebase-functions/v2/firestore";
import { DEVICE_MASTER_KEY } from "../config";
import { applyRoomEdit } from "../store/console";
import { consoleHandler } from "./consoleDeps";

export const handleRoomWritten = consoleHandler("room", "roomId", applyRoomEdit);

export const onRoomWritten = onDocumentWritten(
  { document: "rooms/{roomId}", retry: true, secrets: [DEVICE_MASTER_KEY] },
  (event) => handleRoomWritten(event),
);
