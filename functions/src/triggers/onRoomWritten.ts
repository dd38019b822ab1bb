/**
 * rooms/{roomId} written → a new room gets its defaults, a bad name is reverted, a deleted room is
 * cleaned up (store/console.ts applyRoomEdit).
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
