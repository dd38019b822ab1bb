/**
 * The fair queue (rules in domain/queue.ts, storage in store/queue.ts).
 *
 * - POST /reserve {room_id, isreserved}: 1 joins the room's queue at the back (joining again
 *   keeps the same place), 0 leaves it (a machine on offer to the user passes to the next).
 *   Answers the place in line, the expected wait in minutes and a running offer.
 * - POST /reserve/claim {room_id, machine_id?}: takes the machine offered to the user (which
 *   `machine_id`, when given, must name) before the claim window ends; the user then leaves the
 *   queue. A machine that starts a cycle counts as claimed by its holder without this call.
 *
 * An offer not claimed within CLAIM_WINDOW_MINUTES (default 10) passes to the next in line: the
 * first time the holder goes to the back of the queue, the second time they leave it.
 */
import { z } from "zod";
import { QueueBusyError, claimOffer, joinQueue, leaveQueue } from "../../store/queue";
import { idOut } from "../../store/status";
import { readReservation } from "../views";
import { defineRoute } from "../apiRouter";
import { ReserveClaimResponseSchema, ReserveResponseSchema } from "../apiResponses";
import { OnOffSchema } from "../apiSchemas";
import { IdSchema } from "../deviceSchemas";
import { HttpError } from "../errors";
import { machineOr404, roomOr404 } from "./common";

/** POST /reserve: isreserved 1 = join the room's queue, 0 = leave it. */
const ReserveBodySchema = z.object({ room_id: IdSchema, isreserved: OnOffSchema }).strict();

/** POST /reserve/claim: claim the offered machine (`machine_id` optional, must match). */
const ReserveClaimBodySchema = z
  .object({ room_id: IdSchema, machine_id: IdSchema.optional() })
  .strict();

const CLAIM_REFUSED: Record<"notQueued" | "noOffer" | "otherMachine" | "expired", string> = {
  notQueued: "room_id: you are not in the queue of room {room}",
  noOffer: "room_id: no machine is offered to you in room {room} yet",
  otherMachine: "machine_id: machine {machine} is not the one offered to you",
  expired: "room_id: your offer in room {room} has expired",
};

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
    body: ReserveBodySchema,
  }).handle(async ({ deps, settings, user, body }) => {
    const room = await roomOr404(deps.db, body.room_id);
    const now = deps.now();
    if (body.isreserved) {
      const r = await joinQueue(deps.db, user.uid, room.roomId, now).catch(queueBusy);
      const view = await readReservation(deps.db, room, user.uid, now, r.queue);
      return { status: 200, body: { message: "ok", joined: r.joined, ...view } };
    }
    const r = await leaveQueue(
      deps.db,
      user.uid,
      room.roomId,
      now,
      settings.claimWindowMinutes,
    ).catch(queueBusy);
    const view = await readReservation(deps.db, room, user.uid, now, r.queue);
    return { status: 200, body: { message: "ok", left: r.left, ...view } };
  }),
  defineRoute({
    method: "POST",
    path: "/reserve/claim",
    response: ReserveClaimResponseSchema,
    auth: "user",
    body: ReserveClaimBodySchema,
  }).handle(async ({ deps, user, body }) => {
    const room = await roomOr404(deps.db, body.room_id);
    if (body.machine_id !== undefined) await machineOr404(deps.db, body.machine_id);
    const r = await claimOffer(deps.db, user.uid, room.roomId, body.machine_id, deps.now()).catch(
      queueBusy,
    );
    if (!r.ok) {
      const message = CLAIM_REFUSED[r.reason]
        .replace("{room}", room.roomId)
        .replace("{machine}", body.machine_id ?? "");
      throw new HttpError(409, "conflict", message);
    }
    return {
      status: 200,
      body: {
        message: "claimed",
        room_id: idOut(room.roomId),
        machine_id: idOut(r.claimed.machineId),
        offered_at: r.claimed.offeredAt,
        expires_at: r.claimed.expiresAt,
        claimed_at: r.claimed.claimedAt,
        isreserved: 0,
      },
    };
  }),
];
