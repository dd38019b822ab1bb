/**
 * POST /start_course {machine_id, course_name}: the user says which course they started. This
 * route is the only writer of `machines/{id}.courseChoice` (the report trigger decides which cycle
 * it belongs to, domain/course.ts). It also watches the machine for the user (as `notify_me`) and
 * answers the course's expected minutes on this machine type in its room (the room's statistics,
 * else the fleet's, else the type's default).
 */
import { Timestamp } from "firebase-admin/firestore";
import { z } from "zod";
import { DEFAULT_MINUTES, courseKey } from "../../domain/stats";
import { setWatch } from "../../store/notifications";
import { readStats } from "../../store/status";
import { idOut } from "../views";
import { defineRoute } from "../apiRouter";
import { StartCourseResponseSchema } from "../apiResponses";
import { IdSchema } from "../deviceSchemas";
import { HttpError } from "../errors";
import { refs } from "../../data/refs";
import { machineOr404 } from "./common";

const StartCourseBodySchema = z
  .object({
    machine_id: IdSchema,
    course_name: z
      .string()
      .trim()
      .min(1, "must not be empty")
      .max(40, "must be at most 40 characters")
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
    const machine = await machineOr404(deps.db, body.machine_id);
    if (machine.outOfOrder) {
      throw new HttpError(
        409,
        "conflict",
        `machine_id: machine ${body.machine_id} is out of order`,
      );
    }
    const r = refs(deps.db);
    const key = courseKey(body.course_name);
    const figures = await readStats(deps.db, [
      { roomId: machine.roomId, type: machine.type, course: key },
    ]);
    const stats = figures(machine.roomId, machine.type, key);
    const now = deps.now();
    const setAt = Timestamp.fromMillis(now);
    // The choice on the machine (residents read it); who made it, server-only.
    await deps.db
      .batch()
      .update(r.machine(body.machine_id), {
        courseChoice: { course: key, courseName: body.course_name, setAt },
      })
      .set(r.courseChoice(body.machine_id), { uid: user.uid, setAt }, { merge: true })
      .commit();
    await setWatch(deps.db, user.uid, body.machine_id, true, now);
    const expected = stats?.avgTotalMinutes ?? DEFAULT_MINUTES[machine.type].total;
    return {
      message: "ok",
      machine_id: idOut(body.machine_id),
      course_name: body.course_name,
      course_key: key,
      expected_minutes: Math.round(expected),
      expected_range: {
        low_minutes: Math.round(stats?.lowMinutes ?? expected * 0.8),
        high_minutes: Math.round(stats?.highMinutes ?? expected * 1.2),
      },
      samples: stats?.samples ?? 0,
      isusing: 1,
    };
  }),
];
