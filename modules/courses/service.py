"""Courses: sync content folders into the database and serve the current versions."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.clock import utcnow
from app.db import run_read
from modules.courses import versions

# re-exported: what a course archive taken in (modules/authoring) is checked against
from modules.courses.content import ATTACHMENT_TYPES as ATTACHMENT_TYPES
from modules.courses.content import COURSE_FILE as COURSE_FILE
from modules.courses.content import MAX_ASSET_BYTES as MAX_ASSET_BYTES
from modules.courses.content import ContentError, LoadedCourse, content_hash, load_content_dir
from modules.courses.content import load_course as load_course
from modules.courses.models import (
    ContentAsset,
    ContentCheck,
    ContentVersion,
    Course,
    CourseAccess,
    CourseModule,
    Lesson,
    Publication,
    SourceFile,
)
from modules.courses.schemas import CourseContent, LessonContent, ModuleContent, QuizContent

# Enqueued with every change of a course's live version (the learning workflow settles its
# learners again: a requirement removed may complete some of them).
from modules.courses.versions import PUBLISHED_JOB as PUBLISHED_JOB
from modules.courses.versions import FileDiff as FileDiff
from modules.courses.versions import diff as diff
from modules.courses.versions import publications as publications

log = logging.getLogger("berakhlak.content")
REFRESH_SECONDS = 5.0


@dataclass
class CourseSync:
    """What happened to one course folder during a sync."""

    folder: str
    course_id: str | None
    version: str | None = None  # the version now served
    created: bool = False  # a version not seen before was stored
    errors: list[ContentError] = field(default_factory=list)
    kept_previous: bool = False  # the folder is broken; the last good version stays live


def _store_version(
    session: Session, loaded: LoadedCourse, position: int | None, how: Publish
) -> tuple[int, bool]:
    """Store a valid course (its snapshot, assets and source files) unless the same files are
    stored already, and make it live as `how` says. Returns the version id and whether it
    was new. A sync from disk makes a known older version live again only when the course's
    live version came from disk too: a folder behind a publish made in the browser (whose
    copy on disk the worker is still to write) never undoes it."""
    content = loaded.content
    assert content is not None
    version = session.exec(
        select(ContentVersion).where(
            ContentVersion.course_id == content.id,
            ContentVersion.content_hash == content.content_hash,
        )
    ).first()
    created = version is None
    if version is None:
        version = ContentVersion(
            course_id=content.id,
            version=content.version,
            content_hash=content.content_hash,
            git_commit=content.git_commit,
            snapshot=content.model_dump_json(),
        )
        session.add(version)
        for asset in content.assets:
            if session.get(ContentAsset, asset.sha256) is None:
                data = loaded.asset_files[asset.sha256].read_bytes()
                session.add(
                    ContentAsset(
                        sha256=asset.sha256, media_type=asset.media_type, size=len(data), data=data
                    )
                )
    if version.files is None:  # new, or stored before sources were kept
        files = how.files if how.files is not None else versions.folder_files(loaded.folder)
        version.files = versions.store_files(session, files)
        session.add(version)
    session.flush()
    assert version.id is not None
    course = session.get(Course, content.id)
    if (
        how.action == "sync"
        and not created
        and course is not None
        and course.current_version_id != version.id
        and course.active
    ):
        last = versions.last_publication(session, content.id)
        if last is not None and last.action != "sync":
            log.warning(
                "content: %s on disk is an earlier version than the one published from the "
                "browser; the published version stays live",
                content.id,
            )
            session.commit()
            return version.id, created
    versions.make_live(
        session,
        course_id=content.id,
        version=version,
        action=how.action,
        actor_id=how.actor_id,
        position=position,
    )
    _sync_structure(session, content)
    session.commit()
    return version.id, created


@dataclass(frozen=True)
class Publish:
    """How a version becomes live: by a sync from disk, or a publish from the browser (with
    the files the draft holds and who published it)."""

    action: str = "sync"
    actor_id: int | None = None
    files: dict[str, bytes] | None = None


def publish_course(
    *, engine: Engine, loaded: LoadedCourse, files: dict[str, bytes], actor_id: int
) -> tuple[int, bool]:
    """Make a checked course (a draft written to a folder and loaded) the live version: its
    version id, and whether those files were new."""
    for attempt in range(3):
        try:
            with Session(engine) as session:
                return _store_version(session, loaded, None, Publish("publish", actor_id, files))
        except IntegrityError:  # another process stored the same version first
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def roll_back(*, session: Session, course_id: str, version_id: int, actor_id: int) -> bool:
    """Make an earlier stored version of the course live again (False: no such version, or it
    is live already). Commits."""
    version = session.get(ContentVersion, version_id)
    if version is None or version.course_id != course_id:
        return False
    done = versions.make_live(
        session, course_id=course_id, version=version, action="rollback", actor_id=actor_id
    )
    if done is None:
        session.rollback()
        return False
    _sync_structure(session, CourseContent.model_validate_json(version.snapshot))
    session.commit()
    return True


def _sync_structure(session: Session, content: CourseContent) -> None:
    """Mirror modules and lessons as rows, so reports can join on them in SQL."""
    modules = {
        m.id: m
        for m in session.exec(
            select(CourseModule).where(CourseModule.course_id == content.id)
        ).all()
    }
    lessons = {
        lesson.id: lesson
        for lesson in session.exec(select(Lesson).where(Lesson.course_id == content.id)).all()
    }
    for row in [*modules.values(), *lessons.values()]:
        row.active = False
    position = 0
    for m_pos, module in enumerate(content.modules):
        row = modules.get(module.id) or CourseModule(
            course_id=content.id, id=module.id, title="", position=0
        )
        row.title, row.position, row.active = module.title, m_pos, True
        session.add(row)
        for lesson in module.lessons:
            lrow = lessons.get(lesson.id) or Lesson(
                course_id=content.id, id=lesson.id, module_id="", title="", position=0, minutes=0
            )
            lrow.module_id, lrow.title, lrow.position = module.id, lesson.title, position
            lrow.minutes, lrow.active = lesson.minutes, True
            session.add(lrow)
            position += 1
    for row in [*modules.values(), *lessons.values()]:
        session.add(row)


def sync_content(*, engine: Engine, root: Path) -> list[CourseSync]:
    """Load every course folder and store new valid versions; a broken course keeps its last
    good version live."""
    courses, shared_errors = load_content_dir(root)
    results: list[CourseSync] = []
    for error in shared_errors:
        log.error("content: %s", error)
    if shared_errors:  # reported like a broken course, so that `content sync` fails
        results.append(CourseSync(folder=str(root), course_id=None, errors=list(shared_errors)))
    with Session(engine) as session:
        known = {c.folder: c.course_id for c in session.exec(select(ContentCheck)).all()}
    for position, loaded in enumerate(courses):
        # A course.md too broken to give its id: the folder's last known course is meant.
        course_id = loaded.course_id or known.get(loaded.folder.name)
        result = CourseSync(
            folder=str(loaded.folder), course_id=course_id, errors=list(loaded.errors)
        )
        if loaded.content is not None:
            for attempt in range(3):
                try:
                    with Session(engine) as session:
                        _vid, result.created = _store_version(session, loaded, position, Publish())
                    break
                except IntegrityError:  # another process stored the same version first
                    if attempt == 2:
                        raise
            result.version = loaded.content.version_label
            log.info(
                "content: %s %s (%s)",
                loaded.course_id,
                result.version,
                "new version" if result.created else "unchanged",
            )
        else:
            for error in loaded.errors:
                log.error("content: %s", error)
            with Session(engine) as session:
                live = _current_version(session, course_id)
            result.kept_previous = live is not None
            result.version = live
            log.error(
                "content: course folder %s has %d error(s); %s",
                loaded.folder,
                len(loaded.errors),
                f"still serving the last good version {live}" if live else "not served",
            )
        results.append(result)
    _record_checks(engine, results)
    if courses and not shared_errors:
        _retire_missing(
            engine,
            {r.course_id for r in results if r.course_id},
            {Path(r.folder).name for r in results},
        )
    return results


def _retire_missing(engine: Engine, present: set[str], folders: set[str]) -> None:
    """A course whose folder was removed from the content is withdrawn from the catalogue
    (its rows and everyone's progress stay); its stale check row goes. A course last
    published from the browser has no folder until the worker writes it: it stays."""
    with Session(engine) as session:
        for course in session.exec(select(Course).where(Course.active == True)).all():  # noqa: E712
            last = versions.last_publication(session, course.id)
            if course.id not in present and (last is None or last.action == "sync"):
                course.active = False
                session.add(course)
                log.warning("content: course %s has no folder any more; withdrawn", course.id)
        for check in session.exec(select(ContentCheck)).all():
            if check.folder not in folders:
                session.delete(check)
        session.commit()


def _record_checks(engine: Engine, results: list[CourseSync]) -> None:
    with Session(engine) as session:
        for result in results:
            folder = Path(result.folder).name
            row = session.get(ContentCheck, folder) or ContentCheck(folder=folder)
            row.course_id, row.checked_at = result.course_id, utcnow()
            row.error_count = len(result.errors)
            row.errors = "\n".join(str(e) for e in result.errors[:50])
            session.add(row)
        session.commit()


def content_health(*, session: Session) -> list[dict[str, object]]:
    """Each course folder's last check and the version being served."""
    checks = session.exec(select(ContentCheck).order_by(ContentCheck.folder)).all()
    return [
        {
            "folder": c.folder,
            "course": c.course_id,
            "errors": c.error_count,
            "serving": _current_version(session, c.course_id),
            "status": "ok" if c.error_count == 0 else "broken",
        }
        for c in checks
    ]


def _current_version(session: Session, course_id: str | None) -> str | None:
    if course_id is None:
        return None
    row = session.exec(
        select(ContentVersion)
        .join(Course, col(Course.current_version_id) == col(ContentVersion.id))
        .where(Course.id == course_id)
    ).first()
    return f"{row.version}+{row.content_hash[:12]}" if row else None


@dataclass(frozen=True)
class Step:
    """One activity in the course's order: a lesson, a quiz (or form) or the action plan."""

    kind: str  # "lesson", "quiz" or "plan"
    id: str
    title: str
    url: str


@dataclass(frozen=True)
class LessonRef:
    """A lesson with its place in the course."""

    course: CourseView
    module: ModuleContent
    lesson: LessonContent
    index: int
    previous: LessonContent | None
    next: LessonContent | None
    # the activity after this lesson in the course's order: after a module's last lesson,
    # that module's first quiz (a learner who only follows "next" meets every quiz)
    after: Step | None = None


class CourseView:
    """A course version ready to serve: content plus lookups built once."""

    def __init__(self, version_id: int, content: CourseContent) -> None:
        self.version_id = version_id
        self.content = content
        # the agencies offered the course (None: every agency), from its access row
        self.offered_to: frozenset[int] | None = None
        flat = content.lessons()
        self.lesson_ids = [lesson.id for _m, lesson in flat]
        base = f"/courses/{content.id}"
        # The order a learner meets the activities in: per module its pre-test, its lessons,
        # its other quizzes and forms, its action plan. The follow-up, opened months after
        # the course, is not in it.
        self.steps: list[Step] = []
        for module in content.modules:
            for quiz in module.pre_tests:
                self.steps.append(Step("quiz", quiz.id, quiz.title, f"{base}/quizzes/{quiz.id}"))
            for lesson in module.lessons:
                self.steps.append(
                    Step("lesson", lesson.id, lesson.title, f"{base}/lessons/{lesson.id}")
                )
            for quiz in module.after_lessons:
                if quiz.kind != "follow_up":
                    self.steps.append(
                        Step("quiz", quiz.id, quiz.title, f"{base}/quizzes/{quiz.id}")
                    )
            if module.plan is not None:
                self.steps.append(Step("plan", module.plan.id, module.plan.title, f"{base}/plan"))
        self._position = {(step.kind, step.id): i for i, step in enumerate(self.steps)}
        self.refs: dict[str, LessonRef] = {}
        for i, (module, lesson) in enumerate(flat):
            prev = flat[i - 1][1] if i > 0 else None
            nxt = flat[i + 1][1] if i + 1 < len(flat) else None
            after = self.step_after("lesson", lesson.id)
            self.refs[lesson.id] = LessonRef(self, module, lesson, i, prev, nxt, after)

    @property
    def id(self) -> str:
        return self.content.id

    def offered(self, agency_id: int | None) -> bool:
        """Whether people of this agency see the course (in the catalogue, and may learn)."""
        return self.offered_to is None or agency_id in self.offered_to

    def quiz(self, quiz_id: str) -> tuple[ModuleContent, QuizContent] | None:
        """A quiz of this course with its module."""
        for module in self.content.modules:
            for quiz in module.quizzes:
                if quiz.id == quiz_id:
                    return module, quiz
        return None

    def lesson(self, lesson_id: str) -> LessonRef | None:
        return self.refs.get(lesson_id)

    def step_after(self, kind: str, ident: str) -> Step | None:
        """The activity after one in the course's order; None at the end (or off it)."""
        position = self._position.get((kind, ident))
        if position is None or position + 1 >= len(self.steps):
            return None
        return self.steps[position + 1]

    def after_quiz(self, quiz_id: str) -> Step | None:
        """The activity after a quiz in the course's order: the module's next quiz or form,
        the action plan, else the next module's first activity; None at the end."""
        return self.step_after("quiz", quiz_id)


def course_progress(course: CourseView, done: set[str]) -> dict[str, object]:
    """Per-module and overall counts for progress bars."""
    modules = []
    for module in course.content.modules:
        ids = [lesson.id for lesson in module.lessons]
        modules.append(
            {"id": module.id, "done": sum(1 for i in ids if i in done), "total": len(ids)}
        )
    total = len(course.lesson_ids)
    count = sum(1 for i in course.lesson_ids if i in done)
    return {
        "modules": {m["id"]: m for m in modules},
        "done": count,
        "total": total,
        "percent": round(100 * count / total) if total else 0,
    }


def resume_lesson(course: CourseView, last: str | None, done: set[str]) -> str | None:
    """Where to continue: the last lesson opened unless done, else the next one not done."""
    order = course.lesson_ids
    start = order.index(last) if last in order else 0
    for lesson_id in order[start:] + order[:start]:
        if lesson_id not in done:
            return lesson_id
    return None


class Catalogue:
    """Per-process cache of the live course versions, re-checked against the database every few
    seconds so that a `content sync` run by another process is picked up everywhere."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._views: dict[str, CourseView] = {}
        self._order: list[str] = []
        self._checked = 0.0
        self._lock = threading.Lock()
        self._older: dict[int, CourseView] = {}

    def stale(self) -> bool:
        """True when the live versions are due to be re-checked."""
        return time.monotonic() - self._checked >= REFRESH_SECONDS

    async def ensure_fresh(self) -> None:
        """`refresh` for async callers: inline on SQLite, in the thread pool elsewhere."""
        if self.stale():
            await run_read(self.engine, lambda _conn: self.refresh())

    def refresh(self, force: bool = False) -> None:
        """Reload versions that changed since the last look."""
        if not force and not self.stale():
            return
        with self._lock, Session(self.engine) as session:
            if not force and not self.stale():
                return  # another thread refreshed while this one waited
            rows = session.exec(
                select(Course.id, Course.current_version_id)
                .where(Course.active == True)  # noqa: E712
                .order_by(col(Course.position), col(Course.id))
            ).all()
            views = {}
            for course_id, version_id in rows:
                view = self._views.get(course_id)
                if view is None or view.version_id != version_id:
                    snapshot = session.get(ContentVersion, version_id)
                    assert snapshot is not None
                    view = CourseView(
                        version_id, CourseContent.model_validate_json(snapshot.snapshot)
                    )
                views[course_id] = view
            for access in session.exec(select(CourseAccess)).all():
                if access.course_id in views:
                    views[access.course_id].offered_to = offered_to(access)
            self._views, self._order = views, [r[0] for r in rows]
            self._checked = time.monotonic()

    def courses(self) -> list[CourseView]:
        """Live courses in catalogue order."""
        self.refresh()
        return [self._views[c] for c in self._order]

    def get(self, course_id: str) -> CourseView | None:
        """One live course, or None."""
        self.refresh()
        return self._views.get(course_id)

    def version(self, version_id: int) -> CourseView | None:
        """A course at a given version (live or older): what an attempt was started on."""
        for view in self._views.values():
            if view.version_id == version_id:
                return view
        older = self._older.get(version_id)
        if older is not None:
            return older
        with Session(self.engine) as session:
            snapshot = session.get(ContentVersion, version_id)
            if snapshot is None:
                return None
            loaded = CourseView(version_id, CourseContent.model_validate_json(snapshot.snapshot))
        if len(self._older) > 32:
            self._older.clear()
        self._older[version_id] = loaded
        return loaded

    def lesson_in_history(
        self, course_id: str, lesson_id: str, limit: int = 20
    ) -> LessonRef | None:
        """A lesson the live version no longer has, in the newest earlier version that had it
        (of the last `limit`): what a learner's page, or a mark queued offline, still refers
        to."""
        with Session(self.engine) as session:
            ids = session.exec(
                select(ContentVersion.id)
                .where(col(ContentVersion.course_id) == course_id)
                .order_by(col(ContentVersion.id).desc())
                .limit(limit)
            ).all()
        for version_id in ids:
            view = self.version(version_id) if version_id is not None else None
            ref = view.lesson(lesson_id) if view else None
            if ref is not None:
                return ref
        return None

    def cached(self, course_id: str) -> CourseView | None:
        """One live course as last loaded (callers ran `ensure_fresh`)."""
        return self._views.get(course_id)


def asset(*, session: Session, sha256: str) -> ContentAsset | None:
    """An image or attachment by content hash."""
    return session.get(ContentAsset, sha256)


def version_label(*, session: Session, version_id: int) -> str | None:
    """`1.0.0+hash` for a stored version id."""
    row = session.get(ContentVersion, version_id)
    return f"{row.version}+{row.content_hash[:12]}" if row else None


def course_row(*, session: Session, course_id: str) -> Course | None:
    """A course as stored (live or retired)."""
    return session.get(Course, course_id)


def version_of(*, session: Session, course_id: str, version_id: int) -> int:
    """`version_id` if it is a stored version of the course, else the course's current one
    (a version loaded after a backup is gone once that backup is restored)."""
    row = session.get(ContentVersion, version_id)
    if row is not None and row.course_id == course_id:
        return version_id
    course = session.get(Course, course_id)
    if course is None:
        raise LookupError(course_id)
    return course.current_version_id


def blob(*, session: Session, sha256: str) -> bytes | None:
    """One source file's bytes by hash."""
    return versions.blob(session, sha256)


def store_blob(*, session: Session, data: bytes) -> str:
    """Keep one source file's bytes; their hash."""
    return versions.store_blob(session, data)


def version_files(*, session: Session, version_id: int) -> dict[str, bytes] | None:
    """The files a version was made from (None: not kept)."""
    return versions.version_files(session, version_id)


def manifest_of(*, session: Session, version_id: int) -> dict[str, str] | None:
    """A version's {path: sha256} (None: not kept)."""
    return versions.manifest(session.get(ContentVersion, version_id))


def folder_of(*, session: Session, course_id: str) -> str | None:
    """The folder name a course was last synced from."""
    row = session.exec(
        select(ContentCheck.folder).where(col(ContentCheck.course_id) == course_id)
    ).first()
    return row


def version_row(*, session: Session, version_id: int) -> ContentVersion | None:
    return session.get(ContentVersion, version_id)


def course_versions(*, session: Session, course_id: str) -> list[ContentVersion]:
    """Every stored version of a course, newest first."""
    return list(
        session.exec(
            select(ContentVersion)
            .where(col(ContentVersion.course_id) == course_id)
            .order_by(col(ContentVersion.id).desc())
        ).all()
    )


def is_stored_folder(*, session: Session, course_id: str, folder: Path) -> bool:
    """Whether a course folder on disk holds exactly a stored version of the course (so that
    writing another version over it loses nothing)."""
    digest = content_hash(folder)
    return (
        session.exec(
            select(ContentVersion.id).where(
                col(ContentVersion.course_id) == course_id,
                col(ContentVersion.content_hash) == digest,
            )
        ).first()
        is not None
    )


def last_publication(*, session: Session, course_id: str) -> Publication | None:
    return versions.last_publication(session, course_id)


def note_disk(*, session: Session, course_id: str, version_id: int, note: str) -> None:
    """Say on the version's latest publication what became of its copy on disk."""
    row = session.exec(
        select(Publication)
        .where(col(Publication.course_id) == course_id, col(Publication.version_id) == version_id)
        .order_by(col(Publication.id).desc())
    ).first()
    if row is not None:
        row.disk_note = note[:300]
        session.add(row)


def offered_to(access: CourseAccess | None) -> frozenset[int] | None:
    """The agencies a course is offered to (its owner always among them); None: every one."""
    if access is None or access.agencies is None:
        return None
    chosen = {int(a) for a in json.loads(access.agencies)}
    if access.owner_agency_id is not None:
        chosen.add(access.owner_agency_id)
    return frozenset(chosen)


def access_of(*, session: Session, course_id: str) -> CourseAccess:
    """A course's owner, audience and review rule (the defaults when none were set)."""
    return session.get(CourseAccess, course_id) or CourseAccess(course_id=course_id)


def set_access(
    *,
    session: Session,
    course_id: str,
    owner_agency_id: int | None,
    agencies: list[int] | None,
    review: bool,
    accredited: bool,
) -> CourseAccess:
    """Record who owns a course, who is offered it and whether publishing needs a review (an
    accredited course always does). The caller commits."""
    row = session.get(CourseAccess, course_id) or CourseAccess(course_id=course_id)
    row.owner_agency_id = owner_agency_id
    row.agencies = json.dumps(sorted(set(agencies))) if agencies is not None else None
    row.accredited = accredited
    row.review = review or accredited
    session.add(row)
    session.flush()
    return row


def prune_sources(*, session: Session, keep: set[str]) -> int:
    """Delete the source files no stored version and none of `keep` (the drafts' files)
    uses; how many. The caller commits."""
    used = set(keep)
    for files in session.exec(select(ContentVersion.files)).all():
        if files:
            used.update(json.loads(files).values())
    unused = [sha for sha in session.exec(select(SourceFile.sha256)).all() if sha not in used]
    for start in range(0, len(unused), 500):
        session.execute(
            delete(SourceFile).where(col(SourceFile.sha256).in_(unused[start : start + 500]))
        )
    return len(unused)
