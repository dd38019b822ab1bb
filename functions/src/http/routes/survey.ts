/**
 * The seed PWA's satisfaction survey.
 * - POST /survey {satisfaction: 1–5, suggestion?} → `surveys/{uid}_{yyyymmdd}`: one answer per
 *   resident and KST day (a repeated submit replaces it, never counts twice).
 * - GET /admin/surveys?limit= → the newest answers (default 50, at most 200), anonymous, and
 *   their average satisfaction.
 */
import { Timestamp } from "firebase-admin/firestore";
import { z } from "zod";
import { kstDate } from "../../domain/time";
import { defineRoute } from "../apiRouter";
import { refs } from "../../data/refs";

const SurveyBodySchema = z
  .object({
    satisfaction: z
      .number()
      .int("must be a whole number from 1 to 5")
      .min(1, "must be from 1 to 5")
      .max(5, "must be from 1 to 5")
      .describe("1 (unhappy) to 5 (very happy)."),
    suggestion: z
      .string()
      .trim()
      .max(1000, "must be at most 1000 characters")
      .optional()
      .describe("Free text, up to 1000 characters; empty is the same as none."),
  })
  .strict();

const SurveyResponseSchema = z.strictObject({
  message: z.literal("survey received"),
  satisfaction: z.number().int(),
});

const SurveysQuerySchema = z
  .object({
    limit: z
      .string()
      .regex(/^[1-9][0-9]{0,2}$/, "must be a whole number from 1 to 200")
      .refine((v) => Number(v) <= 200, "must be a whole number from 1 to 200")
      .optional(),
  })
  .strict();

const SurveysResponseSchema = z.strictObject({
  surveys: z.array(
    z.object({
      satisfaction: z.number().int(),
      suggestion: z.string().nullable(),
      created_at: z.string(),
    }),
  ),
  average_satisfaction: z.number().nullable(),
});

export const surveyRoutes = [
  defineRoute({
    method: "POST",
    path: "/survey",
    response: SurveyResponseSchema,
    auth: "user",
    body: SurveyBodySchema,
  }).handle(async ({ deps, user, body }) => {
    const now = deps.now();
    await refs(deps.db)
      .surveys.doc(`${user.uid}_${kstDate(now)}`)
      .set({
        uid: user.uid,
        satisfaction: body.satisfaction,
        suggestion: body.suggestion || null,
        createdAt: Timestamp.fromMillis(now),
      });
    return { message: "survey received", satisfaction: body.satisfaction };
  }),
  defineRoute({
    method: "GET",
    path: "/admin/surveys",
    response: SurveysResponseSchema,
    auth: "admin",
    query: SurveysQuerySchema,
  }).handle(async ({ deps, query: q }) => {
    const snap = await refs(deps.db)
      .surveys.orderBy("createdAt", "desc")
      .limit(q.limit === undefined ? 50 : Number(q.limit))
      .get();
    const surveys = snap.docs.map((d) => ({
      satisfaction: Number(d.get("satisfaction")),
      suggestion: typeof d.get("suggestion") === "string" ? (d.get("suggestion") as string) : null,
      created_at: (d.get("createdAt") as Timestamp).toDate().toISOString(),
    }));
    const sum = surveys.reduce((n, s) => n + s.satisfaction, 0);
    const average = surveys.length === 0 ? null : Math.round((sum / surveys.length) * 100) / 100;
    return { surveys, average_satisfaction: average };
  }),
];
