/**
 * GET /health, for uptime monitors and admins.
 *
 * - Without a token (an uptime monitor): `{"status":"ok"}` when Firestore answers a cheap read,
 *   else a 503 in the contract's error shape. Nothing more is disclosed.
 * - With an admin's ID token: also the deployed version, Firestore's state and the server time.
 * - With a valid non-admin token: the same as without one. An invalid token is a 401 (auth
 *   "optional"), so a client that meant to authenticate learns that it did not.
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
    if (user?.admin !== true) return { status: 200, body: { status: "ok" } };
    return {
      status: 200,
      body: {
        status: "ok",
        version: deps.version,
        firestore: "ok",
        time: new Date(started).toISOString(),
      },
    };
  }),
];
