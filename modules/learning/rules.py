"""What a course's completion rule asks of a learner, given what they have done. Pure: the
workflow reads the facts, these functions decide."""

from __future__ import annotations

from dataclasses import dataclass, field

from modules.courses.schemas import QuizContent
from modules.courses.service import CourseView


def graded_quizzes(course: CourseView) -> list[QuizContent]:
    """The quizzes that count towards completion (self-assessments are taken, never block)."""
    return [q for m in course.content.modules for q in m.quizzes if not q.self_assessment]


@dataclass(frozen=True)
class Standing:
    """Where a learner stands against the completion rule of one course version."""

    modules_complete: frozenset[str]
    lessons_left: tuple[str, ...] = ()
    quizzes_left: tuple[str, ...] = ()  # graded quizzes not passed, in course order
    complete: bool = False
    unmet: tuple[str, ...] = field(default_factory=tuple)  # modules not complete

    @property
    def summary(self) -> str:
        return f"{len(self.lessons_left)} lessons, {len(self.quizzes_left)} quizzes left"


def standing(course: CourseView, done: set[str], passed: set[str]) -> Standing:
    """A module is complete when its lessons are done and its graded quizzes passed; the course
    when every module is (rule `modules`) or when every lesson is done (`all_lessons`)."""
    complete = set()
    for module in course.content.modules:
        lessons = {lesson.id for lesson in module.lessons}
        quizzes = {q.id for q in module.quizzes if not q.self_assessment}
        if lessons <= done and quizzes <= passed:
            complete.add(module.id)
    lessons_left = tuple(i for i in course.lesson_ids if i not in done)
    quizzes_left = tuple(q.id for q in graded_quizzes(course) if q.id not in passed)
    if course.content.completion == "modules":
        met = len(complete) == len(course.content.modules)
    else:
        met = not lessons_left
    unmet = tuple(m.id for m in course.content.modules if m.id not in complete)
    return Standing(frozenset(complete), lessons_left, quizzes_left, met, unmet)
