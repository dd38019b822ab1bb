/**
 * The courses a resident can pick. The api gets the stable key (the server files statistics under
 * `courseKey(course_name)`, so one course must have one name whatever the page's language); the
 * page shows the key's label in the chosen language.
 */
import type { MessageKey, Translate } from "./i18n";

export const COURSES = ["standard", "quick", "delicate", "bedding", "rinse"] as const;
export type CourseKey = (typeof COURSES)[number];

export function courseLabel(course: string, t: Translate): string {
  return (COURSES as readonly string[]).includes(course)
    ? t(`course_${course}` as MessageKey)
    : course;
}
