/** What the route files share: the lookups that answer 404 naming the id at fault. */
import type { Firestore } from "firebase-admin/firestore";
import { z } from "zod";
import { DECIMAL_ID } from "../../domain/consoleConfig";
import type { Machine, Room } from "../../data/model";
import { refs } from "../../data/refs";
import { HttpError } from "../errors";

export const noMachine = (machineId: string) =>
  new HttpError(404, "not_found", `machine_id: no machine ${machineId}`);

/** The machine, or a 404 naming `machine_id`. */
export async function machineOr404(db: Firestore, machineId: string): Promise<Machine> {
  const machine = (await refs(db).machine(machineId).get()).data();
  if (!machine) throw noMachine(machineId);
  return machine;
}

/** The room, or a 404 naming `room_id`. */
export async function roomOr404(db: Firestore, roomId: string): Promise<Room> {
  const room = (await refs(db).room(roomId).get()).data();
  if (!room) throw new HttpError(404, "not_found", `room_id: no room ${roomId}`);
  return room;
}

/** `?room_id=` (optional) of the routes that answer for one room or for all of them. */
export const RoomQuerySchema = z
  .object({
    room_id: z.string().regex(DECIMAL_ID, "must be a positive integer").optional(),
  })
  .strict();
