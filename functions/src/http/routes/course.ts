/**
 * POST /start_course {machine_id, course_name}: the user says which course they started.
 *
 * - Stored on the machine as the user's choice, `courseChoice` = {course: courseKey(course_name),
 *   courseName (as given, for display), setAt, uid}. This route is the only writer of that field.
 *   The report trigger decides which cycle the choice belongs to (domain/course.ts: the cycle
 *   started up to 15 minutes before, or the next one to start within 90 minutes) and files that
 *   cycle, its averages and `machines/{id}.course` under it; every other cycle runs "standard".
 * - Subscribes the user one-shot to the machine (the `notify_me` watch: told once when it
 *   finishes).
 * - Answers the expected minutes of that course on this machine type from
 *   `courseStats/{type}-{courseKey}`, or the type's default (DEFAULT_MINUTES) without statistics.
 *
 * 404 for an unknown machine, 409 when the machine is out of order.
 */
import { Timestamp } from "firebase-admin/firestore";
import { z } from "zod";
import { DEFAULT_MINUTES, courseKey } from "../../domain/stats";
import { courseStatsId } from "../../data/model";
import { setWatch } from "../../store/notifications";
import { idOut, readStats } from "../../store/status";
import { defineRoute } from "../apiRouter";
import { StartCourseResponseSchema } from "../apiResponses";
import { IdSchema } from "../deviceSchemas";
import { HttpError } from "../errors";
import { refs } from "../../data/refs";

export const COURSE_NAME_MAX = 40;

export const StartCourseBodySchema = z
  .object({
    machine_id: IdSchema,
    course_name: z
      .string()
      .trim()
      .min(1, "must not be empty")
      .max(COURSE_NAME_MAX, `must be at most ${COURSE_NAME_MAX} characters`)
      .regex(/^[^\p{Cc}]+$/u, "must not contain control characters"),
  })
  .strict();

export const courseRoutes = [
  defineRoute({
    method: "POST",
    path: "/start_course",
    response: StartCourseResponseSchema,
    auth: "user",
    body: StartCourseBodySchema,
  }).handle(async ({ deps, user, body }) => {
    const ref = refs(deps.db).machine(body.machine_id);
    const machine = (await ref.get()).data();
    if (!machine)
      throw new HttpError(404, "not_found", `machine_id: no machine ${body.machine_id}`);
    if (machine.outOfOrder) {
      throw new HttpError(
        409,
        "conflict",
        `machine_id: machine ${body.machine_id} is out of order`,
      );
    }
    const key = courseKey(body.course_name);
    const stats = (await readStats(deps.db, [{ type: machine.type, course: key }])).get(
      courseStatsId(machine.type, key),
    );
    const now = deps.now();
    // The choice on the machine (residents read it); who made it, server-only.
    const batch = deps.db.batch();
    batch.update(ref, {
      courseChoice: {
        course: key,
        courseName: body.course_name,
        setAt: Timestamp.fromMillis(now),
      },
    });
    batch.set(
      refs(deps.db).courseChoice(body.machine_id),
      { uid: user.uid, setAt: Timestamp.fromMillis(now) },
      { merge: true },
    );
    await batch.commit();
    await setWatch(deps.db, user.uid, body.machine_id, true, now);
    const expected = stats?.avgTotalMinutes ?? DEFAULT_MINUTES[machine.type].total;
    return {
      status: 200,
      body: {
        message: "ok",
        machine_id: idOut(body.machine_id),
        course_name: body.course_name,
        course_key: key,
        expected_minutes: Math.round(expected),
        expected_range: {
          low_minutes: Math.round(stats?.lowMinutes ?? expected * 0.8),
          high_minutes: Math.round(stats?.highMinutes ?? expected * 1.2),
        },
        /** Finished cycles behind the estimate (0: the machine type's default). */
        samples: stats?.samples ?? 0,
        isusing: 1,
      },
    };
  }),
];
