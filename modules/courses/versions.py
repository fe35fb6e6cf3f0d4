"""A course's versions as its authors see them: the source files each version was made from,
every change of the live version (sync from disk, publish from the browser, rollback) with a
summary of what changed, and a diff between two versions."""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from app import jobs
from modules.courses.models import ContentVersion, Course, Publication, SourceFile
from modules.courses.schemas import CourseContent

PUBLISHED_JOB = "content.published"
# a list in a summary names at most this many items (the count is always whole)
SUMMARY_NAMES = 30
TEXT_SUFFIXES = (".md", ".txt", ".csv", ".svg", ".yml", ".yaml")


def folder_files(folder: Path) -> dict[str, bytes]:
    """A course folder's files by relative path, as its content hash counts them (names
    starting with a dot left out)."""
    files: dict[str, bytes] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        files[rel] = path.read_bytes()
    return files


def store_blob(session: Session, data: bytes) -> str:
    """Keep one file's bytes (once per content) and return their SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    if session.get(SourceFile, sha) is None:
        session.add(SourceFile(sha256=sha, size=len(data), data=data))
        session.flush()
    return sha


def blob(session: Session, sha256: str) -> bytes | None:
    row = session.get(SourceFile, sha256)
    return row.data if row else None


def store_files(session: Session, files: dict[str, bytes]) -> str:
    """Keep a folder's files; the manifest ({path: sha256}) as JSON."""
    return json.dumps(
        {path: store_blob(session, data) for path, data in sorted(files.items())},
        separators=(",", ":"),
    )


def manifest(version: ContentVersion | None) -> dict[str, str] | None:
    """A version's {path: sha256}, or None when its sources were not kept."""
    if version is None or version.files is None:
        return None
    value = json.loads(version.files)
    return value if isinstance(value, dict) else None


def version_files(session: Session, version_id: int) -> dict[str, bytes] | None:
    """The files a stored version was made from (None: not kept)."""
    files = manifest(session.get(ContentVersion, version_id))
    if files is None:
        return None
    out: dict[str, bytes] = {}
    for path, sha in files.items():
        data = blob(session, sha)
        if data is None:
            return None
        out[path] = data
    return out


def _names(items: list[str]) -> dict[str, Any]:
    return {"count": len(items), "names": items[:SUMMARY_NAMES]}


def summarise(
    old: CourseContent | None,
    new: CourseContent,
    old_files: dict[str, str] | None,
    new_files: dict[str, str] | None,
) -> dict[str, Any]:
    """What changed from one version to the next: files (added, removed, changed), lessons
    and questions (added, removed, by title or id); the first version adds everything."""
    summary: dict[str, Any] = {}
    if new_files is not None:
        before = old_files or {}
        summary["files"] = {
            "added": _names(sorted(set(new_files) - set(before))),
            "removed": _names(sorted(set(before) - set(new_files))),
            "changed": _names(
                sorted(p for p in new_files if p in before and before[p] != new_files[p])
            ),
        }
    old_lessons = {lesson.id: lesson.title for _m, lesson in old.lessons()} if old else {}
    new_lessons = {lesson.id: lesson.title for _m, lesson in new.lessons()}
    summary["lessons"] = {
        "added": _names([new_lessons[i] for i in new_lessons if i not in old_lessons]),
        "removed": _names([old_lessons[i] for i in old_lessons if i not in new_lessons]),
    }

    def questions(content: CourseContent | None) -> set[str]:
        if content is None:
            return set()
        return {q.id for m in content.modules for quiz in m.quizzes for q in quiz.questions}

    before_q, after_q = questions(old), questions(new)
    summary["questions"] = {
        "added": _names(sorted(after_q - before_q)),
        "removed": _names(sorted(before_q - after_q)),
    }
    summary["activities_changed"] = old is not None and _requirements(old) != _requirements(new)
    return summary


def _requirements(content: CourseContent) -> tuple[Any, ...]:
    """What completing the course asks, for "this change alters what completes it"."""
    return (
        content.completion,
        tuple(lesson.id for _m, lesson in content.lessons()),
        tuple((quiz.id, quiz.kind, quiz.pass_mark) for m in content.modules for quiz in m.quizzes),
        tuple(m.plan.id for m in content.modules if m.plan is not None),
    )


def make_live(
    session: Session,
    *,
    course_id: str,
    version: ContentVersion,
    action: str,
    actor_id: int | None,
    position: int | None = None,
) -> Publication | None:
    """Make a stored version the course's live one (creating the course row the first time),
    log the change with its summary, and enqueue the re-evaluation of its learners; None when
    it already was live. The caller commits."""
    assert version.id is not None
    content = CourseContent.model_validate_json(version.snapshot)
    course = session.get(Course, course_id)
    previous: ContentVersion | None = None
    if course is None:
        if position is None:
            last = session.exec(select(Course.position).order_by(col(Course.position).desc()))
            position = (last.first() or 0) + 1
        course = Course(id=course_id, title="", jp=0, language="", current_version_id=version.id)
    else:
        previous = session.get(ContentVersion, course.current_version_id)
    changed = previous is None or previous.id != version.id or not course.active
    course.title, course.jp, course.language = content.title, content.jp, content.language
    if position is not None:
        course.position = position
    course.current_version_id, course.active = version.id, True
    session.add(course)
    session.flush()
    if not changed:
        return None
    old = (
        CourseContent.model_validate_json(previous.snapshot)
        if previous is not None and previous.id != version.id
        else None
    )
    summary = summarise(old, content, manifest(previous) if old else None, manifest(version))
    publication = Publication(
        course_id=course_id,
        version_id=version.id,
        previous_version_id=previous.id if previous is not None else None,
        action=action,
        actor_id=actor_id,
        summary=json.dumps(summary, ensure_ascii=False),
    )
    session.add(publication)
    jobs.enqueue(session, PUBLISHED_JOB, {"course_id": course_id, "version_id": version.id})
    session.flush()
    return publication


def last_publication(session: Session, course_id: str) -> Publication | None:
    return session.exec(
        select(Publication)
        .where(col(Publication.course_id) == course_id)
        .order_by(col(Publication.id).desc())
    ).first()


def publications(session: Session, course_id: str, limit: int = 200) -> list[Publication]:
    """A course's changes of live version, newest first."""
    return list(
        session.exec(
            select(Publication)
            .where(col(Publication.course_id) == course_id)
            .order_by(col(Publication.id).desc())
            .limit(limit)
        ).all()
    )


@dataclass(frozen=True)
class FileDiff:
    path: str
    status: str  # added, removed, changed
    lines: list[str]  # a unified diff of a text file; empty for other files
    binary: bool = False


def diff(
    session: Session, old_version_id: int | None, new_version_id: int
) -> list[FileDiff] | None:
    """File by file, what changed between two versions (None: a version's sources were not
    kept)."""
    new = version_files(session, new_version_id)
    old = version_files(session, old_version_id) if old_version_id is not None else {}
    if new is None or old is None:
        return None
    out: list[FileDiff] = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        status = "added" if before is None else "removed" if after is None else "changed"
        if not path.endswith(TEXT_SUFFIXES):
            out.append(FileDiff(path, status, [], binary=True))
            continue
        a = (before or b"").decode("utf-8", "replace").splitlines()
        b = (after or b"").decode("utf-8", "replace").splitlines()
        lines = list(difflib.unified_diff(a, b, "a/" + path, "b/" + path, lineterm="", n=3))
        out.append(FileDiff(path, status, lines))
    return out
