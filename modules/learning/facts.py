"""A learner's standing read from their record (lessons done, quizzes passed or handed in, the
action plan): shared by the workflow, which decides on it, and by pages, which show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from app.clock import as_utc, utcnow
from modules.courses.schemas import QuizContent
from modules.courses.service import CourseView
from modules.learning import rules
from modules.plans import service as plans
from modules.progress import service as progress
from modules.quizzes import service as quizzes


def standing(
    session: Session, user_id: int, course: CourseView, done: set[str] | None = None
) -> rules.Standing:
    """The learner's standing against the course's completion rule."""
    if done is None:
        done = progress.lesson_state(
            conn=session.connection(), user_id=user_id, course_id=course.id
        ).done
    ready = rules.graded_quizzes(course, lessons_done=done)
    passed = (
        quizzes.passed_quiz_ids(
            session=session, user_id=user_id, course_id=course.id, quizzes=ready
        )
        if ready
        else set()
    )
    found = rules.standing(course, done, passed)
    # the plan is asked about only when it is all that may be left (most events come before):
    # no query on a lesson mark in the middle of the course
    if found.plan_open and plans.written(session=session, user_id=user_id, course_id=course.id):
        return rules.standing(course, done, passed, plan_written=True)
    return found


@dataclass(frozen=True)
class AfterCourse:
    """What comes after the course for a learner with an action plan: the report, the
    follow-up self-assessment, and whether each is due. Read only."""

    report_on: datetime
    report_due: bool
    follow_up: QuizContent | None
    follow_up_open: bool
    follow_up_taken: bool


def after_course(
    session: Session, settings: Any, user_id: int, course: CourseView, view: Any
) -> AfterCourse | None:
    """For a learner whose plan is `view` (None: nothing after the course yet)."""
    if view is None:
        return None
    now = utcnow()
    follow_up = next(iter(course.content.quizzes_of_kind("follow_up")), None)
    opens = plans.follow_up_opens(view.plan, settings.follow_up_days)
    taken = follow_up is not None and any(
        a.submitted_at is not None
        for a in quizzes.attempts(
            session=session, user_id=user_id, course_id=course.id, quiz_id=follow_up.id
        )
    )
    return AfterCourse(
        report_on=as_utc(view.plan.written_at) + timedelta(days=settings.plan_report_days),
        report_due=plans.report_due(view.plan, now, settings.plan_report_days),
        follow_up=follow_up,
        follow_up_open=opens is not None and opens <= now,
        follow_up_taken=taken,
    )
