/** GET /health (no auth): Firestore answers a cheap read, and the deployed version. */
import { COL } from "../../store/db";
import { type ApiRoute, defineRoute } from "../apiRouter";

export const healthRoutes: ApiRoute[] = [
  defineRoute({
    method: "GET",
    path: "/health",
    auth: "none",
    async handler({ deps }) {
      const started = deps.now();
      try {
        await deps.db.collection(COL.rooms).limit(1).get();
        return {
          status: 200,
          body: {
            status: "ok",
            version: deps.version,
            firestore: "ok",
            time: new Date(started).toISOString(),
          },
        };
      } catch {
        return {
          status: 503,
          body: {
            status: "unavailable",
            version: deps.version,
            firestore: "error",
            time: new Date(started).toISOString(),
          },
        };
      }
    },
  }),
];
