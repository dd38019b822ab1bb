/**
 * Every route of the `api` function. To add routes: write `routes/<area>.ts` exporting an
 * `ApiRoute[]` built with `defineRoute`, and spread it here.
 */
import type { ApiRoute } from "../apiRouter";
import { adminRoutes } from "./admin";
import { brokenRoutes } from "./broken";
import { healthRoutes } from "./health";
import { notificationRoutes } from "./notifications";
import { courseRoutes } from "./course";
import { queueRoutes } from "./queue";
import { statusRoutes } from "./status";
import { surveyRoutes } from "./survey";
import { tipRoutes } from "./tip";

export const apiRoutes: readonly ApiRoute[] = [
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
