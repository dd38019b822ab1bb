/**
 * GET /health: `{"status":"ok"}` when Firestore answers a cheap read (else 503); an admin's token
 * adds the version, Firestore's state and the server time. An invalid token is a 401 (auth
 * "optional"), so a client that meant to authenticate learns that it did not.
 */
import { defineRoute } from "../apiRouter";
import { HealthResponseSchema } from "../apiResponses";
import { HttpError } from "../errors";
import { refs } from "../../data/refs";

export const healthRoutes = [
  defineRoute({
    method: "GET",
    path: "/health",
    response: HealthResponseSchema,
    auth: "optional",
  }).handle(async ({ deps, user }) => {
    const started = deps.now();
    try {
      await refs(deps.db).rooms.limit(1).get();
    } catch {
      throw new HttpError(503, "unavailable", "Firestore is not reachable");
    }
    if (user?.admin !== true) return { status: "ok" };
    return {
      status: "ok",
      version: deps.version,
      firestore: "ok",
      time: new Date(started).toISOString(),
    };
  }),
];
