"""Load the course or lesson a URL names, or answer 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from modules.courses.service import CourseView, LessonRef


async def live_course(request: Request, course_id: str) -> CourseView:
    """The live version of the course in the URL."""
    catalogue = request.app.state.catalogue
    await catalogue.ensure_fresh()
    course = catalogue.cached(course_id)
    if course is None:
        raise HTTPException(404)
    return course


LiveCourse = Annotated[CourseView, Depends(live_course)]


async def live_lesson(request: Request, course_id: str, lesson_id: str) -> LessonRef:
    """The lesson in the URL, within the live course (`ref.course` is the course)."""
    catalogue = request.app.state.catalogue
    await catalogue.ensure_fresh()
    course = catalogue.cached(course_id)
    ref = course.lesson(lesson_id) if course else None
    if ref is None:
        raise HTTPException(404)
    return ref


LiveLesson = Annotated[LessonRef, Depends(live_lesson)]
