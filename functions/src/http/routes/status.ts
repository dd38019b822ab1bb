/**
 * Status routes: what the rooms and machines look like now.
 *
 * - GET /rooms: every room with counts of its machines (`free` = not running, online and not out
 *   of order; `busy` = running; `offline`; `out_of_order`), the queue length and the user's place.
 * - POST /load {room_id?}: the seed's machine list (`status`, `timer` minutes left, `avg_minutes`,
 *   `elapsed_time_minutes`, `isusing` = the user watches it), the user's reservations
 *   (`isreserved`, `queue_position`, `expected_wait_minutes`, a running offer) and a
 *   `status_context` of totals; of one room, or of every room without `room_id`. The body is
 *   optional: none, `{}` or `{"room_id": 1}`.
 * - GET /statistics/congestion?room_id=: `{"월":[24], …, "일":[24]}` (Asia/Seoul hours) of one
 *   room, or summed over every room without `room_id`.
 */
import { z } from "zod";
import { congestionTable } from "../../store/status";
import { loadView, roomsView } from "../views";
import { type HttpRequest, jsonBody } from "../adapter";
import { defineRoute } from "../apiRouter";
import { CongestionResponseSchema, LoadResponseSchema, RoomsResponseSchema } from "../apiResponses";
import { IdSchema } from "../deviceSchemas";
import { parseOrThrow } from "../errors";
import { roomOr404, RoomQuerySchema } from "./common";

/** POST /load: `room_id` (optional) limits the answer to one room. The whole body is optional. */
export const LoadBodySchema = z.object({ room_id: IdSchema.optional() }).strict();

/** The JSON body when there is one; an absent or empty body is `{}`. */
function optionalJsonBody(req: HttpRequest): unknown {
  const declared = Number(req.headers["content-length"] ?? "0");
  if ((req.rawBody === undefined || req.rawBody.length === 0) && !(declared > 0)) return {};
  return jsonBody(req);
}

export const statusRoutes = [
  defineRoute({
    method: "GET",
    path: "/rooms",
    response: RoomsResponseSchema,
    auth: "user",
  }).handle(async ({ deps, user }) => ({
    status: 200,
    body: await roomsView(deps.db, user.uid),
  })),
  defineRoute({
    method: "POST",
    path: "/load",
    response: LoadResponseSchema,
    auth: "user",
    // No `body` schema on the route: the body is optional (see LoadBodySchema).
  }).handle(async ({ req, deps, user }) => {
    const body = parseOrThrow(LoadBodySchema, optionalJsonBody(req));
    const room = body.room_id === undefined ? null : await roomOr404(deps.db, body.room_id);
    return { status: 200, body: await loadView(deps.db, user.uid, room, deps.now()) };
  }),
  defineRoute({
    method: "GET",
    path: "/statistics/congestion",
    response: CongestionResponseSchema,
    auth: "user",
    query: RoomQuerySchema,
  }).handle(async ({ deps, query: q }) => {
    if (q.room_id !== undefined) await roomOr404(deps.db, q.room_id);
    return { status: 200, body: await congestionTable(deps.db, q.room_id) };
  }),
];
