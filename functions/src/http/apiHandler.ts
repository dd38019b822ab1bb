/**
 * The `api` function's handler: the router (apiRouter.ts) over every route (routes/index.ts).
 * Tests call it directly, some with a table of their own; api.ts only registers it.
 */
import type { Handler } from "./adapter";
import { type ApiDeps, type ApiRoute, createRouter } from "./apiRouter";
import { apiRoutes } from "./routes";

export function createApiHandler(deps: ApiDeps, routes: readonly ApiRoute[] = apiRoutes): Handler {
  return createRouter(routes, deps);
}
