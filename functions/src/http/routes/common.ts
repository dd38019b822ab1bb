/** Small helpers the route files share. */
import { z } from "zod";
import { readRoom } from "../../store/status";
import type { HttpRequest } from "../adapter";
import { HttpError, parseOrThrow } from "../errors";

/** The query string parsed with a `.strict()` schema (400 invalid_query naming the parameter). */
export function parseQuery<S extends z.ZodType>(schema: S, req: HttpRequest): z.output<S> {
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.query)) if (v !== undefined) query[k] = v;
  return parseOrThrow(schema, query, "invalid_query");
}

/** The room, or a 404 naming `room_id`. */
export async function roomOr404(db: FirebaseFirestore.Firestore, roomId: string) {
  const room = await readRoom(db, roomId);
  if (!room) throw new HttpError(404, "not_found", `room_id: no room ${roomId}`);
  return room;
}

/** `?room_id=` (optional) of the routes that answer for one room or for all of them. */
export const RoomQuerySchema = z
  .object({
    room_id: z
      .string()
      .regex(/^[1-9][0-9]{0,8}$/, "must be a positive integer")
      .optional(),
  })
  .strict();
