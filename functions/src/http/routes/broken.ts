/**
 * Broken machines (store/broken.ts).
 *
 * - POST /report_broken {machine_id, reason} (user): one report per user per outage; repeating
 *   it is not an error. Once BROKEN_REPORT_THRESHOLD distinct users with accounts at least
 *   BROKEN_MIN_ACCOUNT_AGE_HOURS old reported it, the machine is `outOfOrder` and every admin
 *   gets one notice.
 * - POST /admin/clear_broken {machine_id} (admin): the machine works again; the reports are archived.
 */
import { z } from "zod";
import { OneLineSchema } from "../../domain/consoleConfig";
import { UnknownMachineError, clearBroken, reportBroken } from "../../store/broken";
import { type ApiDeps, defineRoute } from "../apiRouter";
import { IdSchema } from "../deviceSchemas";
import { noMachine } from "./common";

const ReportBrokenBodySchema = z
  .object({
    machine_id: IdSchema,
    reason: OneLineSchema(200).describe("What is wrong, 1–200 characters."),
  })
  .strict();

const ReportBrokenResponseSchema = z.strictObject({
  message: z.literal("ok"),
  machine_id: z.number().int(),
  reports: z.number().int(),
  threshold: z.number().int(),
  out_of_order: z.boolean(),
  already_reported: z.boolean(),
  /** False for an account younger than BROKEN_MIN_ACCOUNT_AGE_HOURS: kept, not counted. */
  counted: z.boolean(),
  note: z.string().optional(),
});

const ClearBrokenResponseSchema = z.strictObject({
  message: z.literal("ok"),
  machine_id: z.number().int(),
  was_out_of_order: z.boolean(),
  archived: z.number().int(),
});

/** Whether the account was created at least `hours` ago (Auth's creation time). */
async function accountOlderThan(deps: ApiDeps, uid: string, hours: number): Promise<boolean> {
  if (hours <= 0) return true;
  // Deleted since its ID token was issued (or Auth unreachable): the report does not count.
  const account = await deps.auth.getUser(uid).catch(() => null);
  const created = Date.parse(account?.metadata.creationTime ?? "");
  return Number.isFinite(created) && deps.now() - created >= hours * 3600_000;
}

const orNoMachine =
  (machineId: string) =>
  (err: unknown): never => {
    throw err instanceof UnknownMachineError ? noMachine(machineId) : err;
  };

export const brokenRoutes = [
  defineRoute({
    method: "POST",
    path: "/report_broken",
    response: ReportBrokenResponseSchema,
    auth: "user",
    body: ReportBrokenBodySchema,
  }).handle(async ({ deps, user, body }) => {
    const { machine_id: machineId, reason } = body;
    const minAgeHours = deps.settings.broken.minAccountAgeHours;
    const counts = await accountOlderThan(deps, user.uid, minAgeHours);
    const r = await reportBroken(deps, { machineId, uid: user.uid, reason, counts }).catch(
      orNoMachine(machineId),
    );
    return {
      message: "ok",
      machine_id: Number(machineId),
      reports: r.reports,
      threshold: r.threshold,
      out_of_order: r.outOfOrder,
      already_reported: r.alreadyReported,
      counted: counts,
      ...(counts
        ? {}
        : {
            note: `reports from accounts younger than ${minAgeHours} hours are kept for admins but do not count`,
          }),
    };
  }),
  defineRoute({
    method: "POST",
    path: "/admin/clear_broken",
    response: ClearBrokenResponseSchema,
    auth: "admin",
    body: z.object({ machine_id: IdSchema }).strict(),
  }).handle(async ({ deps, user, body }) => {
    const r = await clearBroken(deps, { machineId: body.machine_id, adminUid: user.uid }).catch(
      orNoMachine(body.machine_id),
    );
    return {
      message: "ok",
      machine_id: Number(body.machine_id),
      was_out_of_order: r.wasOutOfOrder,
      archived: r.archived,
    };
  }),
];
