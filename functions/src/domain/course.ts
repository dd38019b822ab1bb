/**
 * Which cycle a user's course choice (`POST /start_course`) belongs to. Pure.
 *
 * People pick the course just before or just after they press start, and sometimes while the
 * previous user's cycle is still running. A choice made at `setAt` belongs to exactly one cycle:
 * the first cycle of the machine that started at or after `setAt − 15 min` (picked just after
 * pressing start), provided it started by `setAt + 90 min`. Every other cycle runs the default
 * course, so a choice never relabels the previous user's cycle nor the next user's.
 *
 * Once the report trigger has resolved a running cycle's course from a choice, a later choice
 * (the next user picking theirs while waiting) does not take it away: see {@link resolveCourse}.
 */
import { DEFAULT_COURSE } from "./stats";
import { MINUTE_MS } from "./time";

const COURSE_GRACE_MS = 15 * MINUTE_MS;
const COURSE_LEAD_MS = 90 * MINUTE_MS;

export interface CourseChoice {
  /** courseKey() of the chosen course. */
  course: string;
  /** The name as the user gave it, for display. */
  courseName: string;
  setAt: number;
  uid: string;
}

/** A cycle's course, as the trigger resolved it. */
export interface ResolvedCourse {
  course: string;
  courseName: string | null;
  startedBy: string | null;
}

/** What the trigger resolved for the running cycle on an earlier delivery, keyed by its start. */
export type PreviousCourse = ResolvedCourse & { cycleStartedAt: number };

/** Earliest start a choice made at `setAt` can belong to. */
export function earliestStartFor(choice: CourseChoice): number {
  return choice.setAt - COURSE_GRACE_MS;
}

/** The first start, among `starts`, that the choice could belong to (or null). */
export function firstEligibleStart(
  choice: CourseChoice | null,
  starts: readonly number[],
): number | null {
  if (!choice) return null;
  const eligible = starts.filter((s) => s >= earliestStartFor(choice));
  return eligible.length > 0 ? Math.min(...eligible) : null;
}

/** Does the choice belong to the cycle starting at `cycleStartedAt`? */
export function choiceApplies(
  choice: CourseChoice,
  cycleStartedAt: number,
  firstStart: number | null,
): boolean {
  if (cycleStartedAt < earliestStartFor(choice)) return false;
  if (cycleStartedAt > choice.setAt + COURSE_LEAD_MS) return false;
  return firstStart === null || firstStart === cycleStartedAt;
}

/**
 * The course of a cycle: from the current choice when it belongs to the cycle, else what the
 * trigger resolved earlier for the same cycle (`previous`), else default.
 */
export function resolveCourse(
  choice: CourseChoice | null,
  cycleStartedAt: number,
  firstStart: number | null,
  previous: PreviousCourse | null,
): ResolvedCourse {
  if (choice && choiceApplies(choice, cycleStartedAt, firstStart)) {
    return { course: choice.course, courseName: choice.courseName, startedBy: choice.uid };
  }
  if (previous?.cycleStartedAt === cycleStartedAt && previous.startedBy !== null) {
    const { course, courseName, startedBy } = previous;
    return { course, courseName, startedBy };
  }
  return { course: DEFAULT_COURSE, courseName: null, startedBy: null };
}

/**
 * The course to show and to time a running cycle by: the trigger's resolution, unless a choice
 * was made since the trigger last resolved (`choiceSeenAt` is the `setAt` of the choice it
 * considered) and belongs to the running cycle. Null for an idle machine.
 */
export function effectiveCourse(m: {
  course: string | null;
  courseName: string | null;
  cycleStartedAt: number | null;
  courseChoice: CourseChoice | null;
  choiceSeenAt: number | null;
}): { course: string; courseName: string | null } | null {
  if (m.cycleStartedAt === null) return null;
  const choice = m.courseChoice;
  if (choice && choice.setAt !== m.choiceSeenAt && choiceApplies(choice, m.cycleStartedAt, null)) {
    return { course: choice.course, courseName: choice.courseName };
  }
  return { course: m.course ?? DEFAULT_COURSE, courseName: m.courseName };
}
