import { describe, expect, it } from "vitest";
import {
  type CourseChoice,
  choiceApplies,
  courseOfCycle,
  effectiveCourse,
  firstStartAfter,
} from "../../functions/src/domain/course";

const MIN = 60_000;
const T = Date.UTC(2026, 10, 16, 1, 0);
const choice: CourseChoice = {
  course: "quick-wash",
  courseName: "Quick Wash",
  setAt: T,
  uid: "u1",
};

describe("which cycle a course choice belongs to", () => {
  it("belongs to the cycle started up to 15 minutes before the choice", () => {
    expect(choiceApplies(choice, T - 15 * MIN, null)).toBe(true);
    expect(choiceApplies(choice, T - 16 * MIN, null)).toBe(false);
  });

  it("otherwise belongs to the first cycle starting within 90 minutes after it", () => {
    expect(choiceApplies(choice, T + 40 * MIN, T + 40 * MIN)).toBe(true);
    expect(choiceApplies(choice, T + 91 * MIN, null)).toBe(false);
  });

  it("is used up by one cycle: a later cycle runs the default course", () => {
    const first = firstStartAfter(choice, [T - 30 * MIN, T + 40 * MIN, T + 80 * MIN]);
    expect(first).toBe(T + 40 * MIN);
    expect(courseOfCycle(choice, T + 40 * MIN, first)).toEqual({
      course: "quick-wash",
      courseName: "Quick Wash",
      startedBy: "u1",
    });
    expect(courseOfCycle(choice, T + 80 * MIN, first)).toEqual({
      course: "standard",
      courseName: null,
      startedBy: null,
    });
  });

  it("never relabels the previous user's cycle, running for 20 minutes when the choice is made", () => {
    expect(courseOfCycle(choice, T - 20 * MIN, null).course).toBe("standard");
  });

  it("without a choice every cycle runs the default course", () => {
    expect(courseOfCycle(null, T, null).course).toBe("standard");
    expect(firstStartAfter(null, [T])).toBeNull();
  });

  it("a running cycle is shown with its resolved course, or with the choice until the trigger has resolved it", () => {
    const running = {
      course: null,
      courseName: null,
      cycleStartedAt: T - 2 * MIN,
      courseChoice: choice,
    };
    expect(effectiveCourse(running)).toEqual({ course: "quick-wash", courseName: "Quick Wash" });
    expect(effectiveCourse({ ...running, course: "wool", courseName: "Wool" })).toEqual({
      course: "wool",
      courseName: "Wool",
    });
    expect(effectiveCourse({ ...running, cycleStartedAt: T - 60 * MIN })).toEqual({
      course: "standard",
      courseName: null,
    });
    expect(effectiveCourse({ ...running, cycleStartedAt: null })).toBeNull();
  });
});
