/**
 * What the rooms and machines look like now (the views are http/views.ts).
 *
 * - GET /rooms: every room with counts of its machines, the queue length and the user's place.
 * - POST /load {room_id?}: the seed's machine list, the user's reservations and totals, of one
 *   room or of every room; the body is optional (none, `{}` or `{"room_id": 1}`).
 * - GET /statistics/congestion?room_id=: `{"월":[24], …, "일":[24]}` (KST hours) of one room, or
 *   summed over every room.
 */
import { z } from "zod";
import { congestionTable } from "../../store/status";
import { loadView, roomsView } from "../views";
import { jsonBody } from "../adapter";
import { defineRoute } from "../apiRouter";
import { CongestionResponseSchema, LoadResponseSchema, RoomsResponseSchema } from "../apiResponses";
import { IdSchema } from "../deviceSchemas";
import { parseOrThrow } from "../errors";
import { roomOr404, RoomQuerySchema } from "./common";

export const LoadBodySchema = z.object({ room_id: IdSchema.optional() }).strict();

export const statusRoutes = [
  defineRoute({
    method: "GET",
    path: "/rooms",
    response: RoomsResponseSchema,
    auth: "user",
  }).handle(({ deps, user }) => roomsView(deps.db, user.uid)),
  defineRoute({
    method: "POST",
    path: "/load",
    response: LoadResponseSchema,
    auth: "user",
    // No `body` on the route: an absent or empty body is `{}`.
  }).handle(async ({ req, deps, user }) => {
    const empty = !req.rawBody?.length && !Number(req.headers["content-length"] ?? 0);
    const body = parseOrThrow(LoadBodySchema, empty ? {} : jsonBody(req));
    const room = body.room_id === undefined ? null : await roomOr404(deps.db, body.room_id);
    return loadView(deps.db, user.uid, room, deps.now());
  }),
  defineRoute({
    method: "GET",
    path: "/statistics/congestion",
    response: CongestionResponseSchema,
    auth: "user",
    query: RoomQuerySchema,
  }).handle(async ({ deps, query: q }) => {
    if (q.room_id !== undefined) await roomOr404(deps.db, q.room_id);
    return congestionTable(deps.db, q.room_id);
  }),
];
