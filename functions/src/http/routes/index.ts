/**
 * Every route of the `api` function, and its handler (api.ts registers it; tests call it). To add
 * routes: write `routes/<area>.ts` exporting an array of `defineRoute(…)`s (no type annotation:
 * the routes' types make `ApiContract`), and spread it here.
 */
import type { Handler } from "../adapter";
import { type ApiDeps, type ContractOf, createRouter } from "../apiRouter";
import { adminRoutes } from "./admin";
import { brokenRoutes } from "./broken";
import { healthRoutes } from "./health";
import { notificationRoutes } from "./notifications";
import { courseRoutes } from "./course";
import { queueRoutes } from "./queue";
import { statusRoutes } from "./status";
import { surveyRoutes } from "./survey";
import { tipRoutes } from "./tip";

export const apiRoutes = [
  ...healthRoutes,
  ...notificationRoutes,
  ...brokenRoutes,
  ...adminRoutes,
  ...tipRoutes,
  ...statusRoutes,
  ...courseRoutes,
  ...queueRoutes,
  ...surveyRoutes,
];

/** Every route's body, query and 200 response types keyed "METHOD /path" (the PWA's client). */
export type ApiContract = ContractOf<(typeof apiRoutes)[number]>;

export const createApiHandler = (deps: ApiDeps): Handler => createRouter(apiRoutes, deps);
