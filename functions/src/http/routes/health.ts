/**
 * GET /health: Firestore answers a cheap read, and the deployed version. Like every route of the
 * user API it needs a valid ID token (the design: 401 without one on every route); uptime checks
 * use a service account's token. Failure is a 503 in the contract's error shape.
 */
import { COL } from "../../store/db";
import { type ApiRoute, defineRoute } from "../apiRouter";
import { HttpError } from "../errors";

export const healthRoutes: ApiRoute[] = [
  defineRoute({
    method: "GET",
    path: "/health",
    auth: "user",
    async handler({ deps }) {
      const started = deps.now();
      try {
        await deps.db.collection(COL.rooms).limit(1).get();
      } catch {
        throw new HttpError(503, "unavailable", "Firestore is not reachable");
      }
      return {
        status: 200,
        body: {
          status: "ok",
          version: deps.version,
          firestore: "ok",
          time: new Date(started).toISOString(),
        },
      };
    },
  }),
];
