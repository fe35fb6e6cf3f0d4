"""Courses written in the browser: a draft per course (in the database, so that every server
process sees the same), saved file by file with a revision number that stops two people from
overwriting each other, checked as `content check` checks a folder, published as the live
version, rolled back to an earlier one. Who may: admins, and trainers for the courses they
train or created."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app import jobs
from app.clock import utcnow
from app.i18n import N_, tr
from modules.accounts import service as accounts
from modules.audit import service as audit
from modules.authoring import archive
from modules.authoring.models import CourseDraft, DraftFile
from modules.courses import service as courses
from modules.courses.service import (
    COURSE_FILE,
    ContentError,
    CourseContent,
    LoadedCourse,
    load_course,
)

MIRROR_JOB = "authoring.mirror"
ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
PATH_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_DEPTH = 4
MAX_NAME = 100  # one file or folder name (file systems take 255 bytes)
MAX_DRAFT_BYTES = 200 * 1024 * 1024  # every file of a draft together
TEXT_LIMIT = 512 * 1024  # one markdown file


class DraftError(ValueError):
    """A change refused, with the reason in the author's words (a message id)."""

    def __init__(self, message: str, **values: Any) -> None:
        super().__init__(message)
        self.message, self.values = message, values


@dataclass(frozen=True)
class Conflict(Exception):
    """The draft changed since the author's page was loaded: who saved it last, and when."""

    revision: int
    by: str
    at: Any


@dataclass(frozen=True)
class Scope:
    """Which courses a person may author: `every` (an admin, or a trainer of every course),
    else those listed; `create`: whether they may start new courses."""

    every: bool
    courses: frozenset[str]
    create: bool

    def allows(self, course_id: str) -> bool:
        return self.every or course_id in self.courses


def scope(*, session: Session, user_id: int) -> Scope:
    """What the person may author: admins everything; trainers the courses their grants name
    (every course for a grant without one) and the drafts they created."""
    trained = accounts.trainer_courses(session=session, user_id=user_id)
    roles = accounts.roles_of(session=session, user_id=user_id)
    created = session.exec(
        select(CourseDraft.course_id).where(
            col(CourseDraft.created_by) == user_id,
            col(CourseDraft.started_here) == True,  # noqa: E712
        )
    ).all()
    may = bool(roles & {"trainer", "admin"})
    return Scope(
        every=may and trained is None,
        courses=frozenset((trained or set()) | set(created)) if may else frozenset(),
        create=may,
    )


def check_path(path: str) -> str:
    """A file's path within the course folder, or DraftError: relative, forward slashes,
    plain names (letters, digits, dot, dash, underscore), no hidden or parent parts, at most
    four levels, a type the format takes."""
    path = path.strip()
    parts = path.split("/")
    if (
        not path
        or len(path) > 300
        or len(parts) > MAX_DEPTH
        or not all(PATH_PART.fullmatch(p) and len(p) <= MAX_NAME for p in parts)
        or any(p in (".", "..") for p in parts)
    ):
        raise DraftError(
            N_(
                "Give the file's place in the course folder, like 01-pengantar/01-sambutan.md: "
                "letters, digits, dashes and dots, folders separated by /."
            )
        )
    if PurePosixPath(path).suffix.lower() not in archive.ALLOWED:
        raise DraftError(
            N_("The course format does not take this type of file ({suffix})."),
            suffix=PurePosixPath(path).suffix or "-",
        )
    return path


def get(session: Session, course_id: str) -> CourseDraft | None:
    return session.get(CourseDraft, course_id)


def files(session: Session, course_id: str) -> dict[str, bytes]:
    """Every file of a draft by path."""
    rows = session.exec(
        select(DraftFile).where(col(DraftFile.course_id) == course_id).order_by(DraftFile.path)
    ).all()
    out: dict[str, bytes] = {}
    for row in rows:
        data = courses.blob(session=session, sha256=row.sha256)
        out[row.path] = data if data is not None else b""
    return out


def listing(session: Session, course_id: str) -> list[DraftFile]:
    return list(
        session.exec(
            select(DraftFile).where(col(DraftFile.course_id) == course_id).order_by(DraftFile.path)
        ).all()
    )


def skeleton(course_id: str, title: str) -> dict[str, bytes]:
    """A new course that passes the check: one module, one lesson (45 minutes, 1 JP)."""
    course = (
        f"---\nid: {course_id}\ntitle: {json.dumps(title, ensure_ascii=False)}\n"
        "description: Tuliskan di sini untuk siapa kursus ini dan apa yang dipelajari.\n"
        "version: 0.1.0\njp: 1\nlanguage: id\ncompletion: all_lessons\n---\n"
        "Sambutan singkat untuk peserta: apa yang akan mereka pelajari dan berapa lama.\n"
    )
    module = "---\nid: pengantar\ntitle: Pengantar\nsummary: Ringkasan modul pertama.\n---\n"
    lesson = (
        "---\nid: pengantar-sambutan\ntitle: Sambutan\nminutes: 45\n---\n"
        "Tulis isi pelajaran di sini. Markdown biasa: **tebal**, daftar, tabel, dan "
        "[tautan](https://www.menpan.go.id).\n"
    )
    return {
        COURSE_FILE: course.encode(),
        "01-pengantar/module.md": module.encode(),
        "01-pengantar/01-sambutan.md": lesson.encode(),
    }


def _title_problem(title: str) -> None:
    if not 3 <= len(title.strip()) <= 200 or not title.isprintable() or ":" in title:
        raise DraftError(N_("Give the course a title of 3 to 200 characters, without a colon (:)."))


def create(
    *,
    session: Session,
    course_id: str,
    title: str,
    actor_id: int,
    agency_id: int | None,
    address: str = "",
) -> CourseDraft:
    """Start a new course from the skeleton (or DraftError: an id taken or malformed).
    Commits, audited."""
    course_id = course_id.strip()
    if not ID_RE.match(course_id) or len(course_id) > 64:
        raise DraftError(
            N_("Give the course an id of small letters, digits and dashes, like etika-asn.")
        )
    _title_problem(title)
    if (
        courses.course_row(session=session, course_id=course_id) is not None
        or session.get(CourseDraft, course_id) is not None
    ):
        raise DraftError(N_("A course with the id {id} exists already."), id=course_id)
    draft = CourseDraft(
        course_id=course_id,
        folder=course_id,
        started_here=True,
        created_by=actor_id,
        updated_by=actor_id,
        editors=json.dumps([actor_id]),
    )
    session.add(draft)
    session.flush()
    # an agency's course is offered to its own people until the owner chooses others; a
    # national one (an admin's) to everyone
    courses.set_access(
        session=session,
        course_id=course_id,
        owner_agency_id=agency_id,
        agencies=[] if agency_id is not None else None,
        review=False,
        accredited=False,
    )
    for path, data in skeleton(course_id, title.strip()).items():
        _put(session, course_id, path, data)
    audit.record(
        session=session,
        actor_id=actor_id,
        action="course.create",
        subject_type="course",
        subject_id=course_id,
        detail={"title": title.strip(), "agency": agency_id},
        address=address,
    )
    session.commit()
    return draft


def open_draft(*, session: Session, course_id: str, actor_id: int) -> CourseDraft | None:
    """The course's draft, started from its live version the first time (None: no such
    course, or its source files were not kept: sync it from disk once)."""
    draft = session.get(CourseDraft, course_id)
    if draft is not None:
        return draft
    course = courses.course_row(session=session, course_id=course_id)
    if course is None:
        return None
    source = courses.version_files(session=session, version_id=course.current_version_id)
    if source is None:
        return None
    folder = courses.folder_of(session=session, course_id=course_id) or course_id
    draft = CourseDraft(
        course_id=course_id,
        folder=folder,
        base_version_id=course.current_version_id,
        created_by=actor_id,
        updated_by=actor_id,
    )
    session.add(draft)
    session.flush()
    for path, data in source.items():
        _put(session, course_id, path, data)
    session.commit()
    return draft


def _put(session: Session, course_id: str, path: str, data: bytes) -> None:
    sha = courses.store_blob(session=session, data=data)
    row = session.get(DraftFile, (course_id, path))
    if row is None:
        row = DraftFile(course_id=course_id, path=path, sha256=sha, size=len(data))
    row.sha256, row.size = sha, len(data)
    session.add(row)


def _conflict(session: Session, draft: CourseDraft) -> Conflict:
    """What an author is told when the draft moved on: who saved it last, and when."""
    names = accounts.names(session=session, user_ids=[draft.updated_by])
    return Conflict(draft.revision, names.get(draft.updated_by, "?"), draft.updated_at)


def _bump(session: Session, draft: CourseDraft, revision: int, actor_id: int) -> int:
    """Raise the draft's revision from the one the author saw, or Conflict: one conditional
    UPDATE, so that of two saves made on the same revision exactly one wins."""
    done = session.execute(
        update(CourseDraft)
        .where(col(CourseDraft.course_id) == draft.course_id, col(CourseDraft.revision) == revision)
        .values(revision=revision + 1, updated_by=actor_id, updated_at=utcnow())
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        current = session.get(CourseDraft, draft.course_id)
        assert current is not None
        session.refresh(current)
        raise _conflict(session, current)
    session.refresh(draft)
    editors = set(json.loads(draft.editors or "[]")) | {actor_id}
    draft.editors = json.dumps(sorted(editors))
    session.add(draft)
    return revision + 1


def _clean(path: str, data: bytes) -> bytes:
    """A file's bytes as they are kept: text as UTF-8 with Unix line ends (what a textarea
    sends is CRLF), other files checked to be what their name says (images lose metadata)."""
    if path.lower().endswith(tuple(archive.TEXT_TYPES)):
        if len(data) > TEXT_LIMIT:
            raise DraftError(N_("A text file may hold at most {kb} KB."), kb=TEXT_LIMIT // 1024)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DraftError(N_("The file is not UTF-8 text: save it again as UTF-8.")) from None
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if any(not (ch.isprintable() or ch in "\n\t") for ch in text):
            raise DraftError(N_("The text holds control characters: remove them."))
        return text.encode()
    problem, cleaned = archive.file_problem(path, data)
    if problem:
        raise DraftError(problem)  # already in the reader's language
    return cleaned


def _edited(
    session: Session,
    draft: CourseDraft,
    actor_id: int,
    address: str,
    detail: dict[str, Any],
    action: str = "course.edit",
) -> None:
    """Audit one act on a draft (a change, a review asked or given), and commit it with the
    act."""
    audit.record(
        session=session,
        actor_id=actor_id,
        action=action,
        subject_type="course",
        subject_id=draft.course_id,
        detail=detail,
        address=address,
    )
    session.commit()


def _fits(present: dict[str, int], incoming: dict[str, bytes]) -> None:
    """DraftError unless the files can sit together in one course folder (no file where a
    folder of another is, or the other way round) and within the draft's size."""
    sizes = dict(present)
    sizes.update({path: len(data) for path, data in incoming.items()})
    folders = {"/".join(p.split("/")[:i]) for p in sizes for i in range(1, p.count("/") + 1)}
    clash = sorted(p for p in sizes if p in folders)
    if clash:
        raise DraftError(
            N_("{path} cannot be both a file and a folder of the course."), path=clash[0]
        )
    if sum(sizes.values()) > MAX_DRAFT_BYTES:
        raise DraftError(
            N_("A course may hold at most {limit} MB of files."),
            limit=MAX_DRAFT_BYTES // 1_048_576,
        )


def save(
    *,
    session: Session,
    draft: CourseDraft,
    path: str,
    data: bytes,
    revision: int,
    actor_id: int,
    address: str = "",
    max_bytes: int | None = None,
) -> int:
    """Write one file of the draft (new or changed) on the revision the author saw; the new
    revision, or Conflict / DraftError (nothing written). Commits, audited."""
    path = check_path(path)
    if max_bytes is not None and len(data) > max_bytes:
        raise DraftError(
            N_("The file is {size} MB, more than {limit} MB."),
            size=round(len(data) / 1_048_576, 1),
            limit=round(max_bytes / 1_048_576, 1),
        )
    data = _clean(path, data)
    present = {row.path: row.size for row in listing(session, draft.course_id)}
    _fits(present, {path: data})
    new = _bump(session, draft, revision, actor_id)
    _put(session, draft.course_id, path, data)
    _edited(session, draft, actor_id, address, {"file": path, "revision": new})
    return new


def remove(
    *,
    session: Session,
    draft: CourseDraft,
    path: str,
    revision: int,
    actor_id: int,
    address: str = "",
) -> int:
    """Delete one file of the draft (course.md stays); the new revision."""
    if path == COURSE_FILE:
        raise DraftError(N_("course.md cannot be deleted: every course needs one."))
    row = session.get(DraftFile, (draft.course_id, path))
    if row is None:
        raise DraftError(N_("There is no such file in the draft."))
    new = _bump(session, draft, revision, actor_id)
    session.delete(session.get(DraftFile, (draft.course_id, path)))
    _edited(session, draft, actor_id, address, {"deleted": path, "revision": new})
    return new


def replace_all(
    *,
    session: Session,
    draft: CourseDraft,
    new_files: dict[str, bytes],
    revision: int,
    actor_id: int,
    action: str,
    address: str = "",
) -> int:
    """Put a whole set of files in the draft (an archive uploaded, an earlier version taken
    back into the draft); the new revision. Every path is held to the rules of one file's."""
    for path in new_files:
        try:
            check_path(path)
        except DraftError as error:
            raise DraftError(
                N_("{path}: {problem}"), path=path, problem=tr(error.message, **error.values)
            ) from None
    _fits({}, new_files)
    new = _bump(session, draft, revision, actor_id)
    for row in listing(session, draft.course_id):
        if row.path not in new_files:
            session.delete(row)
    for path, data in new_files.items():
        _put(session, draft.course_id, path, data)
    _edited(
        session,
        draft,
        actor_id,
        address,
        {"replaced": action, "files": len(new_files), "revision": new},
    )
    return new


@contextmanager
def written_out(draft_files: dict[str, bytes], folder: str) -> Iterator[Path]:
    """The draft's files in a temporary course folder (named as on disk), removed after."""
    work = Path(tempfile.mkdtemp(prefix="berakhlak-draft-"))
    try:
        course_dir = work / folder
        course_dir.mkdir()
        for path, data in draft_files.items():
            target = course_dir / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        yield course_dir
    finally:
        shutil.rmtree(work, ignore_errors=True)


@dataclass
class Checked:
    """A draft as `content check` sees it: the course when valid, every problem by file."""

    content: CourseContent | None
    errors: list[ContentError]
    by_file: dict[str, list[ContentError]] = field(default_factory=dict)
    assets: dict[str, bytes] = field(default_factory=dict)  # sha256 -> bytes, for the preview


def check(draft: CourseDraft, draft_files: dict[str, bytes]) -> Checked:
    """Check the draft's files as a course folder; a course id that is not the draft's is a
    problem of course.md; files that cannot be laid out as a folder are a problem too."""
    try:
        with written_out(draft_files, draft.folder) as folder:
            loaded = load_course(folder, display_root=folder)
            assets = {sha: path.read_bytes() for sha, path in loaded.asset_files.items()}
    except OSError as error:
        problem = ContentError(
            str(error.filename or COURSE_FILE).rsplit(f"/{draft.folder}/", 1)[-1],
            1,
            tr("this file cannot be written as part of a course folder; delete or rename it"),
        )
        return Checked(None, [problem], {problem.path: [problem]})
    return _checked(draft, loaded, assets)


def _checked(draft: CourseDraft, loaded: LoadedCourse, assets: dict[str, bytes]) -> Checked:
    errors = list(loaded.errors)
    content = loaded.content
    if loaded.course_id is not None and loaded.course_id != draft.course_id:
        errors.append(
            ContentError(
                COURSE_FILE,
                2,
                tr("the id of this course is {id} and cannot change", id=draft.course_id),
            )
        )
        content = None
    by_file: dict[str, list[ContentError]] = {}
    for error in errors:
        by_file.setdefault(error.path, []).append(error)
    return Checked(content if not errors else None, errors, by_file, assets)


def publish(
    *,
    engine: Engine,
    session: Session,
    draft: CourseDraft,
    revision: int,
    actor_id: int,
    address: str = "",
) -> tuple[int, list[ContentError]]:
    """Make the draft (at the revision the author saw) the live version for every process:
    (version id, []) or (0, the problems) when it does not pass the check. The worker then
    settles the course's learners again and writes the course to disk. Audited."""
    if draft.revision != revision:
        raise _conflict(session, draft)
    if needs_review(session, draft.course_id) and draft.approved_revision != draft.revision:
        raise DraftError(
            N_("This course is published only after a reviewer approves this revision.")
        )
    draft_files = files(session, draft.course_id)
    # a save committed since the check above would be published unseen (and unapproved)
    current = session.exec(
        select(CourseDraft.revision).where(col(CourseDraft.course_id) == draft.course_id)
    ).one()
    if current != revision:
        session.refresh(draft)
        raise _conflict(session, draft)
    try:
        with written_out(draft_files, draft.folder) as folder:
            loaded = load_course(folder, display_root=folder)
            checked = _checked(draft, loaded, {})
            if checked.errors:
                return 0, checked.errors
            version_id, _new = courses.publish_course(
                engine=engine, loaded=loaded, files=draft_files, actor_id=actor_id
            )
    except OSError:
        return 0, check(draft, draft_files).errors
    after_publish(session, draft.course_id, draft, version_id, actor_id, "course.publish", address)
    return version_id, []


def after_publish(
    session: Session,
    course_id: str,
    draft: CourseDraft | None,
    version_id: int,
    actor_id: int,
    action: str,
    address: str,
) -> None:
    """What a publish or rollback leaves: the draft in step with the live version, the audit
    event, the worker's job of writing the course to disk."""
    if draft is not None:
        session.refresh(draft)
        draft.base_version_id = version_id
        # in step with the live version: the next change starts a new review
        draft.editors, draft.review_asked_revision, draft.review_asked_by = "[]", None, None
        session.add(draft)
    label = courses.version_label(session=session, version_id=version_id)
    audit.record(
        session=session,
        actor_id=actor_id,
        action=action,
        subject_type="course",
        subject_id=course_id,
        detail={"version": label},
        address=address,
    )
    jobs.enqueue(session, MIRROR_JOB, {"course_id": course_id, "version_id": version_id})
    session.commit()


def unpublished(session: Session, draft: CourseDraft) -> bool:
    """Whether the draft's files differ from the live version's."""
    course = courses.course_row(session=session, course_id=draft.course_id)
    if course is None:
        return True
    live = courses.manifest_of(session=session, version_id=course.current_version_id)
    mine = {row.path: row.sha256 for row in listing(session, draft.course_id)}
    return live != mine


def roll_back(
    *,
    session: Session,
    course_id: str,
    version_id: int,
    actor_id: int,
    address: str = "",
) -> bool:
    """Make an earlier version live again (False: not a version of this course, or live
    already). A draft without unpublished changes follows it; one with changes keeps them."""
    draft = session.get(CourseDraft, course_id)
    follow = draft is not None and not unpublished(session, draft)
    if not courses.roll_back(
        session=session, course_id=course_id, version_id=version_id, actor_id=actor_id
    ):
        return False
    if draft is not None and follow:
        source = courses.version_files(session=session, version_id=version_id)
        if source is not None:
            with suppress(DraftError):  # a version from disk whose names a draft refuses
                replace_all(
                    session=session,
                    draft=draft,
                    new_files=source,
                    revision=draft.revision,
                    actor_id=actor_id,
                    action="rollback",
                    address=address,
                )
    after_publish(session, course_id, draft, version_id, actor_id, "course.rollback", address)
    return True


def is_live(session: Session, course_id: str) -> bool:
    """Whether the course is in the catalogue now."""
    course = courses.course_row(session=session, course_id=course_id)
    return course is not None and course.active


class CheckCache:
    """The last few drafts checked by this process, by (course, revision, time of the last
    change): a cache only (one per app), the draft itself is in the database."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, int, str], Checked] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session, draft: CourseDraft) -> Checked:
        """The draft checked at its current revision."""
        key = (draft.course_id, draft.revision, str(draft.updated_at))
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        result = check(draft, files(session, draft.course_id))
        with self._lock:
            self._items[key] = result
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return result


def drafts(session: Session) -> list[CourseDraft]:
    """Every draft, by course id."""
    return list(session.exec(select(CourseDraft).order_by(col(CourseDraft.course_id))).all())


def roles(session: Session, user_id: int) -> set[str]:
    return accounts.roles_of(session=session, user_id=user_id)


def names(session: Session, user_ids: list[int]) -> dict[int, str]:
    return accounts.names(session=session, user_ids=user_ids)


def person(session: Session, user_id: int) -> tuple[str, str] | None:
    """A person's name and address (the author of a commit)."""
    try:
        user = accounts.get(session=session, user_id=user_id)
    except LookupError:
        return None
    return user.name, user.email or "berakhlak@localhost"


def needs_review(session: Session, course_id: str) -> bool:
    """Whether each publish of the course needs a reviewer's approval (accredited courses
    always)."""
    access = courses.access_of(session=session, course_id=course_id)
    return access.review or access.accredited


def may_set_access(session: Session, user_id: int, agency_id: int, course_id: str) -> bool:
    """Admins set any course's owner and audience; a trainer only those of a course owned by
    their own agency."""
    if "admin" in accounts.roles_of(session=session, user_id=user_id):
        return True
    access = courses.access_of(session=session, course_id=course_id)
    return access.owner_agency_id is not None and access.owner_agency_id == agency_id


def change_access(
    *,
    session: Session,
    course_id: str,
    agencies: list[int] | None,
    review: bool,
    accredited: bool,
    actor_id: int,
    address: str = "",
) -> None:
    """Set which agencies are offered the course (None: every agency) and the review rule;
    the owner stays. Commits, audited."""
    access = courses.access_of(session=session, course_id=course_id)
    if "admin" not in accounts.roles_of(session=session, user_id=actor_id):
        # an author's own agency never lifts the review its course is under
        accredited = access.accredited
        review = review or access.review
    courses.set_access(
        session=session,
        course_id=course_id,
        owner_agency_id=access.owner_agency_id,
        agencies=agencies,
        review=review,
        accredited=accredited,
    )
    audit.record(
        session=session,
        actor_id=actor_id,
        action="course.access",
        subject_type="course",
        subject_id=course_id,
        detail={"agencies": agencies, "review": review or accredited, "accredited": accredited},
        address=address,
    )
    session.commit()


def ask_review(
    *, session: Session, draft: CourseDraft, revision: int, actor_id: int, address: str = ""
) -> None:
    """Ask for a review of the draft at the revision the author saw."""
    if draft.revision != revision:
        raise _conflict(session, draft)
    draft.review_asked_revision, draft.review_asked_by = revision, actor_id
    session.add(draft)
    _edited(session, draft, actor_id, address, {"revision": revision}, "course.review_ask")


def approve(
    *, session: Session, draft: CourseDraft, revision: int, actor_id: int, address: str = ""
) -> None:
    """A reviewer approves the draft at the revision they read: never anyone who changed it
    since the last publish, nor the one who asked (four eyes); a later save needs a new
    approval."""
    if draft.revision != revision:
        raise _conflict(session, draft)
    editors = set(json.loads(draft.editors or "[]"))
    if actor_id in editors | {draft.updated_by, draft.review_asked_by}:
        raise DraftError(
            N_("Someone who made none of the draft's changes approves it (four eyes).")
        )
    draft.approved_revision, draft.approved_by, draft.approved_at = revision, actor_id, utcnow()
    session.add(draft)
    _edited(session, draft, actor_id, address, {"revision": revision}, "course.approve")


def draft_hashes(session: Session) -> set[str]:
    """The source files every draft uses."""
    return set(session.exec(select(DraftFile.sha256)).all())
