"""The worker writes a course published (or rolled back) in the browser to the content folder,
so that disk and database agree and a later `content sync` changes nothing; when the content
folder is a git repository of its own, each such write is a commit with the trainer as its
author. One writer: only the worker touches the folder, never a request."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

from app.jobs import Handler, JobContext, Schedule
from modules.authoring import service
from modules.courses import service as courses

log = logging.getLogger("berakhlak.authoring")
GIT_TIMEOUT = 30
# what became of the copy on disk, as the history shows it (templates/authoring/history.html)
DISK_WRITTEN, DISK_COMMITTED, DISK_NOT_WRITTEN = "written", "committed", "not-written"


def _git(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        ["git", "-C", str(folder), *args],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT,
        check=False,
        env=env,
    )


def own_repository(content_dir: Path) -> bool:
    """Whether the content folder is the top of a git work tree of its own (a content folder
    inside the application's repository, as in development, is never committed to)."""
    try:
        out = _git(content_dir, "rev-parse", "--show-toplevel")
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and Path(out.stdout.strip()).resolve() == content_dir.resolve()


def write_folder(target: Path, files: dict[str, bytes]) -> None:
    """Replace a course folder with these files, never leaving half of it: written beside it,
    then renamed into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=target.parent))
    try:
        course_dir = staging / "course"
        for path, data in files.items():
            file = course_dir / path
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(data)
        hidden = [p for p in target.iterdir() if p.name.startswith(".")] if target.exists() else []
        for kept in hidden:  # a folder's own dot files (.gitkeep, notes) stay with it
            os.rename(kept, course_dir / kept.name)
        if target.exists():
            os.rename(target, staging / "previous")
        os.rename(course_dir, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def commit(content_dir: Path, folder: str, message: str, name: str, email: str) -> str | None:
    """Commit the folder's changes with the trainer as author; the commit, or None when there
    was nothing to commit."""
    _git(content_dir, "add", "-A", "--", folder)
    if _git(content_dir, "diff", "--cached", "--quiet", "--", folder).returncode == 0:
        return None
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME=name,
        GIT_AUTHOR_EMAIL=email,
        GIT_COMMITTER_NAME="berakhlak",
        GIT_COMMITTER_EMAIL="berakhlak@localhost",
    )
    out = _git(content_dir, "commit", "--no-verify", "-q", "-m", message, "--", folder, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"git commit failed: {out.stderr.strip()[:200]}")
    return _git(content_dir, "rev-parse", "HEAD").stdout.strip()


def mirror(ctx: JobContext) -> None:
    """Write the course's live version to its folder (unless the folder holds changes made on
    disk and not synced: those are never overwritten) and commit it when the content folder
    is a git repository of its own."""
    course_id = str(ctx.payload["course_id"])
    session = ctx.session
    course = courses.course_row(session=session, course_id=course_id)
    if course is None:
        return
    version_id = course.current_version_id
    files = courses.version_files(session=session, version_id=version_id)
    if files is None:
        return
    draft = service.get(session, course_id)
    folder = (draft.folder if draft else None) or courses.folder_of(
        session=session, course_id=course_id
    )
    folder = folder or course_id
    content_dir: Path = ctx.state.settings.content_dir
    target = content_dir / folder
    if target.exists() and not courses.is_stored_folder(
        session=session, course_id=course_id, folder=target
    ):
        note = DISK_NOT_WRITTEN
        log.warning("course %s: not written, %s has changes never synced", course_id, target)
        courses.note_disk(session=session, course_id=course_id, version_id=version_id, note=note)
        session.commit()
        return
    write_folder(target, files)
    note = DISK_WRITTEN
    if own_repository(content_dir):
        publication = courses.last_publication(session=session, course_id=course_id)
        actor = publication.actor_id if publication else None
        who = service.person(session, actor) if actor else None
        label = courses.version_label(session=session, version_id=version_id) or ""
        action = publication.action if publication else "publish"
        made = commit(
            content_dir,
            folder,
            f"{course_id}: {action} {label}",
            who[0] if who else "berakhlak",
            who[1] if who else "berakhlak@localhost",
        )
        note = f"{DISK_COMMITTED} {made[:12]}" if made else DISK_WRITTEN
    courses.note_disk(session=session, course_id=course_id, version_id=version_id, note=note)
    session.commit()
    log.info("course %s: %s in %s", course_id, note, target)


def prune_sources(ctx: JobContext) -> None:
    """Daily: delete the stored file bodies that no draft and no version uses any more (a
    draft's replaced files, uploads taken back)."""
    keep = service.draft_hashes(ctx.session)
    removed = courses.prune_sources(session=ctx.session, keep=keep)
    if removed:
        log.info("%s unused source file(s) deleted", removed)


PRUNE_JOB = "authoring.prune_sources"
HANDLERS = {
    service.MIRROR_JOB: Handler(mirror, transactional=False),
    PRUNE_JOB: Handler(prune_sources),
}
SCHEDULES = [Schedule(PRUNE_JOB, timedelta(days=1), PRUNE_JOB)]
