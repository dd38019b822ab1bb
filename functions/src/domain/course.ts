/**
 * Which cycle a user's course choice (`POST /start_course`) belongs to. Pure.
 *
 * People pick the course just before or just after they press start, and sometimes while the
 * previous user's cycle is still running. A choice made at `setAt` belongs to:
 * - the cycle running then, if it started at most {@link COURSE_GRACE_MS} earlier (picked just
 *   after pressing start); otherwise
 * - the first cycle that starts after `setAt`, if it starts within {@link COURSE_LEAD_MS}.
 * Every other cycle runs the default course. So a choice never relabels someone else's cycle,
 * and is used up by one cycle.
 */
import { DEFAULT_COURSE } from "./stats";
import { MINUTE_MS } from "./time";

export const COURSE_GRACE_MS = 15 * MINUTE_MS;
export const COURSE_LEAD_MS = 90 * MINUTE_MS;

export interface CourseChoice {
  /** courseKey() of the chosen course. */
  course: string;
  /** The name as the user gave it, for display. */
  courseName: string;
  setAt: number;
  uid: string;
}

/**
 * @param firstStartAfterSet start of the first cycle (stored or being folded) that started
 *   after `choice.setAt`, or null if none has.
 */
export function choiceApplies(
  choice: CourseChoice | null,
  cycleStartedAt: number,
  firstStartAfterSet: number | null,
): boolean {
  if (!choice) return false;
  if (cycleStartedAt <= choice.setAt) return choice.setAt - cycleStartedAt <= COURSE_GRACE_MS;
  if (cycleStartedAt - choice.setAt > COURSE_LEAD_MS) return false;
  return firstStartAfterSet === null || firstStartAfterSet >= cycleStartedAt;
}

/** The first start strictly after the choice was made, among `starts`. */
export function firstStartAfter(
  choice: CourseChoice | null,
  starts: readonly number[],
): number | null {
  if (!choice) return null;
  const after = starts.filter((s) => s > choice.setAt);
  return after.length > 0 ? Math.min(...after) : null;
}

/** The course a cycle starting at `cycleStartedAt` runs, given the machine's latest choice. */
export function courseOfCycle(
  choice: CourseChoice | null,
  cycleStartedAt: number,
  firstStartAfterSet: number | null,
): { course: string; courseName: string | null; startedBy: string | null } {
  return choice && choiceApplies(choice, cycleStartedAt, firstStartAfterSet)
    ? { course: choice.course, courseName: choice.courseName, startedBy: choice.uid }
    : { course: DEFAULT_COURSE, courseName: null, startedBy: null };
}

/**
 * The course to show and to time a running cycle by: the one the report trigger resolved, or,
 * until the trigger has seen a report since the choice, the choice itself if it belongs to the
 * running cycle. Null for an idle machine.
 */
export function effectiveCourse(m: {
  course: string | null;
  courseName: string | null;
  cycleStartedAt: number | null;
  courseChoice: CourseChoice | null;
}): { course: string; courseName: string | null } | null {
  if (m.cycleStartedAt === null) return null;
  if (m.course !== null && m.course !== DEFAULT_COURSE) {
    return { course: m.course, courseName: m.courseName };
  }
  const choice = m.courseChoice;
  if (choice && choiceApplies(choice, m.cycleStartedAt, null)) {
    return { course: choice.course, courseName: choice.courseName };
  }
  return { course: m.course ?? DEFAULT_COURSE, courseName: m.courseName };
}
