/**
 * The fair queue (domain/queue.ts, store/queue.ts).
 *
 * - POST /reserve {room_id, isreserved}: 1 joins the room's queue at the back (again: the same
 *   place), 0 leaves it (a machine on offer to the user passes to the next). Answers the place,
 *   the expected wait and a running offer.
 * - POST /reserve/claim {room_id, machine_id?}: takes the machine offered to the user before the
 *   claim window (CLAIM_WINDOW_MINUTES) ends; the user then leaves the queue.
 */
import { z } from "zod";
import { claim } from "../../domain/queue";
import { QueueBusyError, joinQueue, leaveQueue, mutateQueue } from "../../store/queue";
import { idOut, readReservation } from "../views";
import { defineRoute } from "../apiRouter";
import { ReserveClaimResponseSchema, ReserveResponseSchema } from "../apiResponses";
import { OnOffSchema } from "../apiSchemas";
import { IdSchema } from "../deviceSchemas";
import { HttpError } from "../errors";
import { machineOr404, roomOr404 } from "./common";

/** A queue change that lost every race in a burst: 409 with a retry hint, never a 500. */
function queueBusy(err: unknown): never {
  if (!(err instanceof QueueBusyError)) throw err;
  throw new HttpError(
    409,
    "conflict",
    `room_id: the queue of room ${err.roomId} is changing too fast; retry in a second`,
    { "Retry-After": "1" },
  );
}

export const queueRoutes = [
  defineRoute({
    method: "POST",
    path: "/reserve",
    response: ReserveResponseSchema,
    auth: "user",
    body: z.object({ room_id: IdSchema, isreserved: OnOffSchema }).strict(),
  }).handle(async ({ deps, user, body }) => {
    const room = await roomOr404(deps.db, body.room_id);
    const now = deps.now();
    const r = await (
      body.isreserved
        ? joinQueue(deps.db, user.uid, room.roomId, now)
        : leaveQueue(deps.db, user.uid, room.roomId, now, deps.settings.claimWindowMinutes)
    ).catch(queueBusy);
    const view = await readReservation(deps.db, room, user.uid, now, r.queue);
    return { message: "ok", ...("joined" in r ? { joined: r.joined } : { left: r.left }), ...view };
  }),
  defineRoute({
    method: "POST",
    path: "/reserve/claim",
    response: ReserveClaimResponseSchema,
    auth: "user",
    body: z.object({ room_id: IdSchema, machine_id: IdSchema.optional() }).strict(),
  }).handle(async ({ deps, user, body }) => {
    const room = await roomOr404(deps.db, body.room_id);
    if (body.machine_id !== undefined) await machineOr404(deps.db, body.machine_id);
    const now = deps.now();
    const r = await mutateQueue(deps.db, room.roomId, now, (q) =>
      claim(q, user.uid, body.machine_id, now),
    ).catch(queueBusy);
    if (!r.ok) {
      const message = {
        notQueued: `room_id: you are not in the queue of room ${room.roomId}`,
        noOffer: `room_id: no machine is offered to you in room ${room.roomId} yet`,
        otherMachine: `machine_id: machine ${body.machine_id ?? ""} is not the one offered to you`,
        expired: `room_id: your offer in room ${room.roomId} has expired`,
      }[r.reason];
      throw new HttpError(409, "conflict", message);
    }
    return {
      message: "claimed",
      room_id: idOut(room.roomId),
      machine_id: idOut(r.claimed.machineId),
      offered_at: r.claimed.offeredAt,
      expires_at: r.claimed.expiresAt,
      claimed_at: r.claimed.claimedAt,
      isreserved: 0,
    };
  }),
];
