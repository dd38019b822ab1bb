/**
 * GET /health, for uptime monitors and admins.
 *
 * - Without a token (an uptime monitor): `{"status":"ok"}` when Firestore answers a cheap read,
 *   else a 503 in the contract's error shape. Nothing more is disclosed.
 * - With an admin's ID token: also the deployed version, Firestore's state and the server time.
 * - With a valid non-admin token: the same as without one. An invalid token is a 401, so a
 *   client that meant to authenticate learns that it did not.
 */
import { COL } from "../../store/db";
import { type ApiDeps, type ApiRoute, defineRoute } from "../apiRouter";
import { HttpError } from "../errors";
import type { HttpRequest } from "../adapter";

async function isAdmin(deps: ApiDeps, req: HttpRequest): Promise<boolean> {
  const header = req.headers.authorization?.trim();
  if (!header) return false;
  const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (!token) {
    throw new HttpError(
      401,
      "unauthenticated",
      "Authorization must be 'Bearer <Firebase ID token>'",
    );
  }
  try {
    return (await deps.auth.verifyIdToken(token)).admin === true;
  } catch {
    throw new HttpError(401, "unauthenticated", "the ID token is invalid or expired");
  }
}

export const healthRoutes: ApiRoute[] = [
  defineRoute({
    method: "GET",
    path: "/health",
    auth: "none",
    async handler({ req, deps }) {
      const admin = await isAdmin(deps, req);
      const started = deps.now();
      try {
        await deps.db.collection(COL.rooms).limit(1).get();
      } catch {
        throw new HttpError(503, "unavailable", "Firestore is not reachable");
      }
      if (!admin) return { status: 200, body: { status: "ok" } };
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
