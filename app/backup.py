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
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Field, Session, SQLModel

import app.db  # noqa: F401 - the naming convention before the table below is declared
from app.clock import utcnow
from app.i18n import N_

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
    """A backup or restore that cannot be done; `message` (translatable, `{name}` fields
    filled from `values`) says why and what to do."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message.format(**values) if values else message)
        self.message, self.values = message, values


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
        if not folder.is_dir():
            raise BackupError(N_("there is no folder {folder}"), folder=str(folder))
        try:
            data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            manifest = cls(**{name: data[name] for name in cls.__dataclass_fields__})
        except FileNotFoundError:
            raise BackupError(
                N_("{folder} is not a finished backup (it has no manifest.json): use another one"),
                folder=str(folder),
            ) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(
                N_("{file} is unreadable ({problem})"),
                file=str(folder / MANIFEST),
                problem=str(exc),
            ) from None
        if manifest.format != FORMAT:
            raise BackupError(
                N_("backup format {format} is not known to this version"), format=manifest.format
            )
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
        raise BackupError(N_("an in-memory SQLite database cannot be backed up"))
    return Path(database)


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as pg_dump and pg_restore take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str], stdin: Any = None) -> None:
    try:
        done = subprocess.run(  # noqa: S603
            command, stdin=stdin, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise BackupError(
            N_("{command} is not installed (Debian: apt install postgresql-client)"),
            command=command[0],
        ) from None
    if done.returncode != 0:
        raise BackupError(
            N_("{command} failed: {problem}"),
            command=command[0],
            problem=done.stderr.strip()[-1500:],
        )


_COUNT = text("SELECT count(*), coalesce(max(id), 0) FROM certificate")


def _describe(engine: Engine, secret: str, schema: str) -> Manifest:
    with Session(engine) as session:
        row = session.connection().execute(_COUNT).one()
        count, last = int(row[0]), int(row[1])
        # a database from before restore generations (backed up before its upgrade): none yet
        known = inspect(session.connection()).has_table(PlatformState.__tablename__)
        return Manifest(
            format=FORMAT,
            created_at=utcnow().isoformat(),
            database=engine.dialect.name,
            schema=schema,
            generation=generation(session) if known else 0,
            secret_fingerprint=fingerprint(secret),
            certificates=count,
            last_certificate_id=last,
        )


def backup(engine: Engine, admin_url: str, secret: str, schema: str, target: Path) -> Manifest:
    """Back the database up into the new folder `target` while the platform runs."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(
            N_("{folder} is not empty: back up into a new folder"), folder=str(target)
        )
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    target.chmod(0o700)  # personal data: the owner only
    manifest = _describe(engine, secret, schema)
    previous = os.umask(0o077)
    try:
        _copy_out(admin_url, target)
        partial = target / f".{MANIFEST}"
        partial.write_text(json.dumps(asdict(manifest), indent=2) + "\n", encoding="utf-8")
        os.replace(partial, target / MANIFEST)
    finally:
        os.umask(previous)
    return manifest


def _copy_out(admin_url: str, target: Path) -> None:
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


def check(
    admin_url: str, secret: str, source: Path, *, new_secret: bool, known: set[str]
) -> Manifest:
    """Whether the backup in `source` can replace this database, before anything is touched:
    a finished backup of the same kind of database, made by this release or an older one, under
    this secret (or `new_secret`)."""
    manifest = Manifest.read(source)
    if manifest.database != _kind(admin_url):
        raise BackupError(
            N_("this is a {backup} backup and the database is {database}"),
            backup=manifest.database,
            database=_kind(admin_url),
        )
    if manifest.schema and manifest.schema not in known:
        raise BackupError(
            N_(
                "the backup's schema ({schema}) is newer than this release: restore it with the "
                "release that made it"
            ),
            schema=manifest.schema,
        )
    if manifest.secret_fingerprint != fingerprint(secret) and not new_secret:
        raise BackupError(
            N_(
                "the backup was made under another BERAKHLAK_SECRET_KEY: set the secret it was "
                "made with (its signing keys open with it); if that secret is lost, pass "
                "--new-secret to make a new signing key (credentials already handed out keep "
                "verifying)"
            )
        )
    dump = source / (SQLITE_FILE if manifest.database == "sqlite" else POSTGRES_FILE)
    if not dump.is_file():
        raise BackupError(N_("{file} is missing"), file=str(dump))
    return manifest


def in_use(admin_url: str) -> list[str]:
    """Who else uses the database now (servers, workers, PgBouncer): SQLite, the processes of
    this machine that hold its file open; PostgreSQL, the other sessions on the database."""
    if _kind(admin_url) == "sqlite":
        live = _sqlite_path(admin_url).resolve()
        names = {str(live), f"{live}-wal"}
        found = []
        for fd_dir in Path("/proc").glob("[0-9]*/fd"):
            pid = fd_dir.parent.name
            if int(pid) == os.getpid():
                continue
            try:
                if any(os.readlink(fd) in names for fd in fd_dir.iterdir()):
                    cmdline = (fd_dir.parent / "cmdline").read_bytes().replace(b"\0", b" ")
                    found.append(f"{pid} {cmdline.decode(errors='replace').strip()[:80]}")
            except OSError:
                continue
        return found
    from sqlalchemy import create_engine

    engine = create_engine(admin_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT pid, coalesce(application_name, ''), coalesce(client_addr::text, "
                    "'local') FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ).all()
    finally:
        engine.dispose()
    return [f"{pid} {name} {addr}".strip() for pid, name, addr in rows]


def restore(admin_url: str, source: Path, manifest: Manifest) -> None:
    """Put the backup in `source` (checked by `check`) in place of the database, all at once:
    SQLite, the online backup API into the live file; PostgreSQL, the schema dropped and the
    dump restored in one transaction (psql --single-transaction), so a failure leaves the
    database as it was. Every server and worker must be stopped first (`in_use`)."""
    if manifest.database == "sqlite":
        dump = source / SQLITE_FILE
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
        return
    script = subprocess.run(  # noqa: S603
        ["pg_restore", "--no-owner", "--no-privileges", "--file=-", str(source / POSTGRES_FILE)],  # noqa: S607
        capture_output=True,
        check=False,
    )
    if script.returncode != 0:
        raise BackupError(
            N_("{command} failed: {problem}"),
            command="pg_restore",
            problem=script.stderr.decode(errors="replace")[-1500:],
        )
    with tempfile.TemporaryFile() as sql:
        # tables of a newer release (not in an older backup) go too: the schema is remade
        sql.write(b"DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n")
        sql.write(script.stdout)
        sql.seek(0)
        _run(
            [
                "psql",
                "--quiet",
                "--no-psqlrc",
                "--single-transaction",
                "-v",
                "ON_ERROR_STOP=1",
                f"--dbname={_libpq(admin_url)}",
            ],
            stdin=sql,
        )


def verify(source: Path) -> Manifest:
    """Check a backup without restoring it (for the quarterly drill and after copying it off
    the machine): finished, readable, and as the manifest says (SQLite: its integrity check
    and certificate count; PostgreSQL: pg_restore can read its table of contents)."""
    manifest = Manifest.read(source)
    if manifest.database == "sqlite":
        dump = source / SQLITE_FILE
        if not dump.is_file():
            raise BackupError(N_("{file} is missing"), file=str(dump))
        copy = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
        try:
            checked = copy.execute("PRAGMA integrity_check").fetchone()[0]
            count = copy.execute("SELECT count(*) FROM certificate").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise BackupError(
                N_("{file} is unreadable ({problem})"), file=str(dump), problem=str(exc)
            ) from None
        finally:
            copy.close()
        if checked != "ok" or count != manifest.certificates:
            raise BackupError(
                N_("{file} does not match its manifest ({problem})"),
                file=str(dump),
                problem=f"integrity: {checked}, certificates: {count}/{manifest.certificates}",
            )
        return manifest
    dump = source / POSTGRES_FILE
    if not dump.is_file():
        raise BackupError(N_("{file} is missing"), file=str(dump))
    listing = subprocess.run(  # noqa: S603
        ["pg_restore", "--list", str(dump)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if listing.returncode != 0 or "TABLE DATA public certificate" not in listing.stdout:
        raise BackupError(
            N_("{file} does not match its manifest ({problem})"),
            file=str(dump),
            problem=listing.stderr.strip()[-500:] or "no certificate table",
        )
    return manifest
