/** Small helpers the route files share. */
import type { Firestore } from "firebase-admin/firestore";
import { z } from "zod";
import { readRoom } from "../../store/status";
import type { HttpRequest } from "../adapter";
import { HttpError, parseOrThrow } from "../errors";

/**
 * The query string parsed with a `.strict()` schema: 400 invalid_query naming a parameter that
 * is unknown (even `__proto__`), malformed, or given more than once.
 */
export function parseQuery<S extends z.ZodType>(schema: S, req: HttpRequest): z.output<S> {
  if (req.repeatedQuery && req.repeatedQuery.length > 0) {
    throw new HttpError(
      400,
      "invalid_query",
      `${req.repeatedQuery.join(", ")}: given more than once; give each query parameter once`,
    );
  }
  const pairs = Object.entries(req.query).filter((e): e is [string, string] => e[1] !== undefined);
  return parseOrThrow(schema, Object.fromEntries(pairs), "invalid_query");
}

/** A query that takes no parameters: any parameter is a 400 naming it. */
export const NoQuerySchema = z.object({}).strict();

/** The room, or a 404 naming `room_id`. */
export async function roomOr404(db: Firestore, roomId: string) {
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
