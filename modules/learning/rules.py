"""What a course's completion rule asks of a learner, given what they have done. Pure: the
workflow reads the facts, these functions decide."""

from __future__ import annotations

from dataclasses import dataclass

from modules.courses.schemas import LessonContent, PlanContent, QuizContent
from modules.courses.service import CourseView


def graded_quizzes(course: CourseView, lessons_done: set[str] | None = None) -> list[QuizContent]:
    """The quizzes that count towards completion under the `modules` rule: module quizzes and
    the post-test (passed), the pre-test and the reaction survey (handed in); self-assessments
    are taken, never required. With `lessons_done`, only those of modules whose lessons are
    all done."""
    return [
        q
        for m in course.content.modules
        if lessons_done is None or {lesson.id for lesson in m.lessons} <= lessons_done
        for q in m.quizzes
        if q.required
    ]


@dataclass(frozen=True)
class Standing:
    """Where a learner stands against the completion rule of one course version."""

    modules_complete: frozenset[str]
    complete: bool
    # everything but the action plan is done (rule `modules`): the plan may be written
    plan_open: bool = False


def standing(
    course: CourseView, done: set[str], passed: set[str], plan_written: bool = False
) -> Standing:
    """A module is complete when its lessons are done, its required quizzes passed (or handed
    in) and its action plan written; the course when every module is (rule `modules`) or when
    every lesson is done (`all_lessons`)."""
    complete = set()
    before_plan = True
    for module in course.content.modules:
        lessons = {lesson.id for lesson in module.lessons}
        quizzes = {q.id for q in module.quizzes if q.required}
        if lessons <= done and quizzes <= passed:
            if module.plan is None or plan_written:
                complete.add(module.id)
        else:
            before_plan = False
    if course.content.completion == "modules":
        met = len(complete) == len(course.content.modules)
    else:
        met = set(course.lesson_ids) <= done
    return Standing(frozenset(complete), met, before_plan and course.content.plan is not None)


@dataclass(frozen=True)
class Remaining:
    """What a learner still has to do to complete the course, by its rule."""

    lessons: list[LessonContent]
    quizzes: list[QuizContent]
    plan: PlanContent | None = None


def remaining(
    course: CourseView, done: set[str], passed: set[str], plan_written: bool = False
) -> Remaining:
    """The lessons not done and (rule `modules`) the required quizzes not passed yet and the
    action plan not written, in the course's order."""
    lessons = [lesson for _m, lesson in course.content.lessons() if lesson.id not in done]
    by_rule = course.content.completion == "modules"
    quizzes = [q for q in graded_quizzes(course) if q.id not in passed] if by_rule else []
    plan = course.content.plan if by_rule and not plan_written else None
    return Remaining(lessons, quizzes, plan)
