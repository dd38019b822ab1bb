import { describe, expect, it } from "vitest";
import {
  type CourseChoice,
  choiceApplies,
  effectiveCourse,
  firstEligibleStart,
  resolveCourse,
} from "../../functions/src/domain/course";

const MIN = 60_000;
const T = Date.UTC(2026, 10, 16, 1, 0);
const choice: CourseChoice = {
  course: "quick-wash",
  courseName: "Quick Wash",
  setAt: T,
  uid: "u1",
};
const quick = { course: "quick-wash", courseName: "Quick Wash", startedBy: "u1" };
const standard = { course: "standard", courseName: null, startedBy: null };

describe("which cycle a course choice belongs to", () => {
  it("belongs to a cycle started up to 15 minutes before the choice", () => {
    expect(choiceApplies(choice, T - 15 * MIN, T - 15 * MIN)).toBe(true);
    expect(choiceApplies(choice, T - 16 * MIN, null)).toBe(false);
  });

  it("or to the first cycle starting within 90 minutes after it", () => {
    expect(choiceApplies(choice, T + 40 * MIN, T + 40 * MIN)).toBe(true);
    expect(choiceApplies(choice, T + 91 * MIN, T + 91 * MIN)).toBe(false);
  });

  it("is used by one cycle only: when picked just after pressing start, the next user's cycle runs the default", () => {
    const first = firstEligibleStart(choice, [T - 5 * MIN, T + 50 * MIN]);
    expect(first).toBe(T - 5 * MIN);
    expect(resolveCourse(choice, T - 5 * MIN, first, null)).toEqual(quick);
    expect(resolveCourse(choice, T + 50 * MIN, first, null)).toEqual(standard);
  });

  it("never relabels the previous user's cycle, running for 20 minutes when the choice is made", () => {
    const first = firstEligibleStart(choice, [T - 20 * MIN, T + 40 * MIN]);
    expect(resolveCourse(choice, T - 20 * MIN, first, null)).toEqual(standard);
    expect(resolveCourse(choice, T + 40 * MIN, first, null)).toEqual(quick);
  });

  it("keeps a running cycle's resolved course when the next user picks theirs while waiting", () => {
    const next: CourseChoice = {
      course: "wool",
      courseName: "Wool",
      setAt: T + 20 * MIN,
      uid: "u2",
    };
    const previous = { ...quick, cycleStartedAt: T - 5 * MIN };
    const first = firstEligibleStart(next, [T - 5 * MIN]);
    expect(resolveCourse(next, T - 5 * MIN, first, previous)).toEqual(quick);
    // …and the next user's own cycle gets theirs.
    expect(resolveCourse(next, T + 45 * MIN, T + 45 * MIN, previous)).toEqual({
      course: "wool",
      courseName: "Wool",
      startedBy: "u2",
    });
  });

  it("without a choice every cycle runs the default course", () => {
    expect(resolveCourse(null, T, null, null)).toEqual(standard);
    expect(firstEligibleStart(null, [T])).toBeNull();
  });
});

describe("the course shown for a running machine", () => {
  const running = {
    course: null,
    courseName: null,
    cycleStartedAt: T - 2 * MIN,
    courseChoice: choice,
    choiceSeenAt: null,
  };

  it("uses a new choice that belongs to the running cycle until the trigger has resolved it", () => {
    expect(effectiveCourse(running)).toEqual({ course: "quick-wash", courseName: "Quick Wash" });
  });

  it("trusts the trigger once it has seen the choice, even when it decided on the default", () => {
    expect(
      effectiveCourse({
        ...running,
        course: "standard",
        cycleStartedAt: T + 60 * MIN,
        choiceSeenAt: T,
      }),
    ).toEqual({ course: "standard", courseName: null });
    expect(
      effectiveCourse({ ...running, course: "wool", courseName: "Wool", choiceSeenAt: T }),
    ).toEqual({
      course: "wool",
      courseName: "Wool",
    });
  });

  it("is null for an idle machine", () => {
    expect(effectiveCourse({ ...running, cycleStartedAt: null })).toBeNull();
  });
});
