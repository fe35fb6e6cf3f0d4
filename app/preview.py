"""`berakhlak content preview DIR`: one course (or a content folder) served from disk for its
author, on a temporary database of its own, loaded again whenever one of its files changes.
The learners' database, mail, exports, certificates and logs are never touched: every path
the settings name points into a temporary folder. The installation itself is put together in
app/cli.py (a composition root); this holds what needs no feature module."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.settings import Settings

PREVIEW_EMAIL = "pratinjau@preview.invalid"


@dataclass
class Preview:
    app: Any
    folder: Path  # what the author edits
    root: Path  # the content root the preview syncs (the folder, or a folder linking to it)
    work: Path  # the temporary folder holding the database and every file the app writes
    password: str
    seen: tuple[int, float] = (0, 0.0)


def fingerprint(folder: Path) -> tuple[int, float]:
    """How many files the folder holds and the newest change among them: a save changes it."""
    stamps = [p.stat().st_mtime for p in folder.rglob("*") if p.is_file()]
    return len(stamps), max(stamps, default=0.0)


def installation(folder: Path, base: Settings) -> tuple[Path, Path, Settings]:
    """A temporary folder, the content root to sync (the folder itself, or a root holding a
    link to the one course) and settings whose every path points into the temporary folder."""
    folder = folder.resolve()
    work = Path(tempfile.mkdtemp(prefix="berakhlak-preview-"))
    root = folder
    if (folder / "course.md").is_file():  # one course: a content root holding just it
        root = work / "content"
        root.mkdir()
        (root / folder.name).symlink_to(folder, target_is_directory=True)
    settings = base.model_copy(
        update={
            "database_url": f"sqlite:///{work / 'preview.db'}",
            "database_admin_url": "",
            "content_dir": root,
            "environment": "development",
            "email_verification": "off",
            "smtp_host": "",
            "mail_dir": work / "mail",
            "certificate_cache_dir": work / "certificates",
            "export_dir": work / "exports",
            "issuance_log": work / "issuance-log.jsonl",
            "metrics_dir": work / "metrics",
            "worker_in_process": "on",
        }
    )
    return work, root, settings


def reload_if_changed(preview: Preview, sync: Callable[..., Any]) -> bool:
    """Load the content again with `sync` (the courses module's `sync_content`) when a file
    changed since the last look; True if it did (a folder with problems keeps the last good
    version live, as `content sync` does)."""
    now = fingerprint(preview.folder)
    if now == preview.seen:
        return False
    preview.seen = now
    sync(engine=preview.app.state.engine, root=preview.root)
    preview.app.state.catalogue.refresh(force=True)
    return True


def close(preview: Preview) -> None:
    """Stop using the temporary installation and delete it: nothing the preview did is kept."""
    preview.app.state.engine.dispose()
    shutil.rmtree(preview.work, ignore_errors=True)
