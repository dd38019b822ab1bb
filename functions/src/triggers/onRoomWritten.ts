/**
 * rooms/{roomId} written → a new room gets its defaults, a bad name is reverted, a deleted room is
 * cleaned up (store/console.ts applyRoomEdit).
 */
import { applyRoomEdit } from "../store/console";
import { consoleTrigger } from "./consoleTrigger";

export const onRoomWritten = consoleTrigger("room", "rooms/{roomId}", applyRoomEdit);
