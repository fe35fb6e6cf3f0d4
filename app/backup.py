"""Backups, restores, and the restore generation.

A backup is a folder: the database (SQLite's online backup API into `berakhlak.db`, or
`pg_dump --format=custom` into `berakhlak.pgdump`) and `manifest.json`, written last, so a
folder without it is an unfinished backup. The signing keys are in the database, encrypted
with a password derived from `BERAKHLAK_SECRET_KEY`; the secret itself is never written into a
backup (whoever holds the backup would hold the keys): the manifest carries its fingerprint, and
a restore under another secret is refused unless asked to rotate the keys.

Restoring an older backup rewinds the database: the certificate serials issued after the backup
are free again, although those certificates were printed and handed out. So every restore bumps
the *restore generation*, which certificate numbers carry (`{restore}` in the number pattern):
a number taken after a restore can never repeat one taken before it."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Field, Session, SQLModel

from app.clock import utcnow
from app.db import write_lock  # noqa: F401 - also: the naming convention before the table below

MANIFEST = "manifest.json"
SQLITE_FILE = "berakhlak.db"
POSTGRES_FILE = "berakhlak.pgdump"
FORMAT = 1
_GENERATION = "restore_generation"


class PlatformState(SQLModel, table=True):
    """Small named values that belong to the database's history (the restore generation)."""

    __tablename__ = "platform_state"
    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=200)


def generation(session: Session) -> int:
    """How many restores this database's history has been through (0: none)."""
    row = session.get(PlatformState, _GENERATION)
    return int(row.value) if row else 0


def set_generation(session: Session, value: int) -> None:
    """Record the restore generation (in the caller's transaction)."""
    row = session.get(PlatformState, _GENERATION) or PlatformState(name=_GENERATION, value="0")
    row.value = str(value)
    session.add(row)


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    format: int
    created_at: str
    database: str  # "sqlite" or "postgresql"
    schema: str  # the Alembic revision of the schema backed up
    generation: int
    secret_fingerprint: str
    certificates: int
    last_certificate_id: int

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        try:
            data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            manifest = cls(**{name: data[name] for name in cls.__dataclass_fields__})
        except FileNotFoundError:
            raise BackupError(
                f"{folder} is not a finished backup (no {MANIFEST}): use another one"
            ) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"{folder / MANIFEST} is unreadable ({exc})") from None
        if manifest.format != FORMAT:
            raise BackupError(f"backup format {manifest.format} is not known to this version")
        return manifest


def fingerprint(secret: str) -> str:
    """Tells secrets apart without revealing them."""
    return hmac.new(secret.encode(), b"berakhlak backup fingerprint", hashlib.sha256).hexdigest()[
        :16
    ]


def _kind(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as pg_dump and pg_restore take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError:
        raise BackupError(
            f"{command[0]} is not installed (Debian: apt install postgresql-client)"
        ) from None
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-1500:]}")


_COUNT = text("SELECT count(*), coalesce(max(id), 0) FROM certificate")


def _describe(engine: Engine, secret: str, schema: str) -> Manifest:
    with Session(engine) as session:
        row = session.connection().execute(_COUNT).one()
        count, last = int(row[0]), int(row[1])
        return Manifest(
            format=FORMAT,
            created_at=utcnow().isoformat(),
            database=engine.dialect.name,
            schema=schema,
            generation=generation(session),
            secret_fingerprint=fingerprint(secret),
            certificates=count,
            last_certificate_id=last,
        )


def backup(engine: Engine, admin_url: str, secret: str, schema: str, target: Path) -> Manifest:
    """Back the database up into the new folder `target` while the platform runs."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new folder")
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    manifest = _describe(engine, secret, schema)
    if _kind(admin_url) == "sqlite":
        source = sqlite3.connect(_sqlite_path(admin_url))
        copy = sqlite3.connect(target / SQLITE_FILE)
        try:
            with copy:
                source.backup(copy)  # a consistent copy, page by page, while others write
        finally:
            copy.close()
            source.close()
    else:
        dump = target / POSTGRES_FILE
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", _libpq(admin_url)])
    partial = target / f".{MANIFEST}"
    partial.write_text(json.dumps(asdict(manifest), indent=2) + "\n", encoding="utf-8")
    os.replace(partial, target / MANIFEST)
    return manifest


def restore(admin_url: str, secret: str, source: Path, *, new_secret: bool) -> Manifest:
    """Put the backup in `source` back in place of the database. Every server and worker
    must be stopped first (docs/operations.md, "Restore")."""
    manifest = Manifest.read(source)
    if manifest.database != _kind(admin_url):
        raise BackupError(
            f"this is a {manifest.database} backup and the database is {_kind(admin_url)}"
        )
    if manifest.secret_fingerprint != fingerprint(secret) and not new_secret:
        raise BackupError(
            "the backup was made under another BERAKHLAK_SECRET_KEY: restore with that secret "
            "(the signing keys in the backup open with it), or pass --new-secret to keep this "
            "one and make a new signing key (credentials already handed out keep verifying)"
        )
    if manifest.database == "sqlite":
        dump = source / SQLITE_FILE
        if not dump.is_file():
            raise BackupError(f"{dump} is missing")
        live = _sqlite_path(admin_url)
        live.parent.mkdir(parents=True, exist_ok=True)
        backup_copy = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
        target = sqlite3.connect(live)
        try:
            with target:
                backup_copy.backup(target)
        finally:
            target.close()
            backup_copy.close()
    else:
        dump = source / POSTGRES_FILE
        if not dump.is_file():
            raise BackupError(f"{dump} is missing")
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={_libpq(admin_url)}",
                str(dump),
            ]
        )
    return manifest
