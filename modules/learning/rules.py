"""What a course's completion rule asks of a learner, given what they have done. Pure: the
workflow reads the facts, these functions decide."""

from __future__ import annotations

from dataclasses import dataclass

from modules.courses.schemas import LessonContent, QuizContent
from modules.courses.service import CourseView


def graded_quizzes(course: CourseView, lessons_done: set[str] | None = None) -> list[QuizContent]:
    """The quizzes that count towards completion (self-assessments are taken, never block);
    with `lessons_done`, only those of modules whose lessons are all done."""
    return [
        q
        for m in course.content.modules
        if lessons_done is None or {lesson.id for lesson in m.lessons} <= lessons_done
        for q in m.quizzes
        if not q.self_assessment
    ]


@dataclass(frozen=True)
class Standing:
    """Where a learner stands against the completion rule of one course version."""

    modules_complete: frozenset[str]
    complete: bool


def standing(course: CourseView, done: set[str], passed: set[str]) -> Standing:
    """A module is complete when its lessons are done and its graded quizzes passed; the course
    when every module is (rule `modules`) or when every lesson is done (`all_lessons`)."""
    complete = set()
    for module in course.content.modules:
        lessons = {lesson.id for lesson in module.lessons}
        quizzes = {q.id for q in module.quizzes if not q.self_assessment}
        if lessons <= done and quizzes <= passed:
            complete.add(module.id)
    if course.content.completion == "modules":
        met = len(complete) == len(course.content.modules)
    else:
        met = set(course.lesson_ids) <= done
    return Standing(frozenset(complete), met)


@dataclass(frozen=True)
class Remaining:
    """What a learner still has to do to complete the course, by its rule."""

    lessons: list[LessonContent]
    quizzes: list[QuizContent]


def remaining(course: CourseView, done: set[str], passed: set[str]) -> Remaining:
    """The lessons not done and (rule `modules`) the graded quizzes not passed yet, in the
    course's order."""
    lessons = [lesson for _m, lesson in course.content.lessons() if lesson.id not in done]
    quizzes = (
        [q for q in graded_quizzes(course) if q.id not in passed]
        if course.content.completion == "modules"
        else []
    )
    return Remaining(lessons, quizzes)
