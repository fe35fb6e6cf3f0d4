"""`berakhlak content preview DIR`: one course (or a content folder) served from disk for its
author, on a temporary database of its own, loaded again whenever one of its files changes.
The learners' database, mail, exports, certificates and logs are never touched: every path
the settings name points into a temporary folder."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session

from app import privacy
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


def start(folder: Path, base: Settings) -> Preview:
    """Prepare the temporary installation: the schema, the reference agencies, the content,
    and a learner to log in as (its password is printed by the command)."""
    from app.main import create_app, prepare  # noqa: PLC0415 - the composition root
    from modules.accounts import service as accounts_service  # noqa: PLC0415
    from modules.accounts.schemas import parse_registration  # noqa: PLC0415
    from modules.agencies import service as agencies_service  # noqa: PLC0415

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
    prepare(settings)
    app = create_app(settings)
    password = secrets.token_urlsafe(12)
    with Session(app.state.engine) as session:
        agency = agencies_service.get_by_code(session=session, code="LB-BKN")
        assert agency is not None and agency.id is not None
        data = parse_registration(
            {
                "nip": "199001012015031001",
                "name": "Pratinjau Penulis",
                "email": PREVIEW_EMAIL,
                "agency_id": str(agency.id),
                "work_unit": "Pratinjau",
                "position": "Penulis",
                "grade": "III/a",
                "password": password,
                "password_confirm": password,
                "privacy": "yes",
            },
            {agency.id},
        )
        accounts_service.register(
            session=session, data=data, verified=True, privacy_version=privacy.version(settings)
        )
    return Preview(app, folder, root, work, password, fingerprint(folder))


def reload_if_changed(preview: Preview) -> bool:
    """Load the content again when a file changed since the last look; True if it did (a
    folder with problems keeps the last good version live, as `content sync` does)."""
    from modules.courses import service as courses_service  # noqa: PLC0415

    now = fingerprint(preview.folder)
    if now == preview.seen:
        return False
    preview.seen = now
    courses_service.sync_content(engine=preview.app.state.engine, root=preview.root)
    preview.app.state.catalogue.refresh(force=True)
    return True


def close(preview: Preview) -> None:
    """Stop using the temporary installation and delete it: nothing the preview did is kept."""
    preview.app.state.engine.dispose()
    shutil.rmtree(preview.work, ignore_errors=True)
