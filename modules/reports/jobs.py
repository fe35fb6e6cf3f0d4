"""Export jobs. A job's state lives in `report_job`, so whichever server process gets the
next status poll can answer it; the process that took the request runs the job in a thread.
A job whose process died (no heartbeat for a while) is taken over by the next poll."""

from __future__ import annotations

import json
import logging
import secrets
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from app import clock
from app.clock import as_utc, utcnow
from app.db import write_lock
from app.i18n import N_, set_locale
from modules.accounts import grants
from modules.reports import exports, queries, service
from modules.reports.models import ReportJob

log = logging.getLogger(__name__)
job_t = ReportJob.__table__  # type: ignore[attr-defined]
STALE = timedelta(seconds=60)  # no heartbeat for this long: the runner is gone
XLSX_MAX_ROWS = 1_048_575  # a worksheet's limit, less the header


class JobError(ValueError):
    """An export that cannot be started (the message is a translatable id)."""


def create(
    *,
    session: Session,
    user_id: int,
    kind: str,
    fmt: str,
    filters: queries.Filters,
    year: int,
    locale: str,
    rows: int,
) -> ReportJob:
    """Queue an export of `rows` rows; commits. The filters are kept as given; the scope is
    read again when the job runs (a withdrawn grant stops it)."""
    if kind not in exports.KINDS or fmt not in exports.FORMATS:
        raise JobError(N_("Choose an export from the list."))
    if kind == "siasn" and fmt != "csv":
        raise JobError(N_("The SIASN export is a CSV file."))
    if fmt == "xlsx" and rows > XLSX_MAX_ROWS:
        raise JobError(N_("More than 1,048,575 rows do not fit in one XLSX sheet: choose CSV."))
    params = {
        "filters": filters.as_params(),
        "year": year,
        "locale": locale,
    }
    job = ReportJob(
        id=secrets.token_hex(16),
        user_id=user_id,
        kind=kind,
        format=fmt,
        params=json.dumps(params),
        rows_total=rows,
    )
    session.add(job)
    session.commit()
    session.refresh(job)
    return job


def claim(engine: Engine, job_id: str) -> bool:
    """Take a queued (or abandoned) job for this process; False if another has it."""
    now = utcnow()
    with write_lock(engine), engine.begin() as conn:
        taken = conn.execute(
            update(job_t)
            .where(
                job_t.c.id == job_id,
                (job_t.c.status == "queued")
                | ((job_t.c.status == "running") & (job_t.c.heartbeat_at < now - STALE)),
            )
            .values(status="running", started_at=now, heartbeat_at=now, rows_done=0)
        )
        return bool(taken.rowcount)


def _set(engine: Engine, job_id: str, **values: Any) -> None:
    with write_lock(engine), engine.begin() as conn:
        conn.execute(update(job_t).where(job_t.c.id == job_id).values(**values))


def path_of(settings: Any, job: ReportJob) -> Path:
    """Where a job's finished file lies."""
    return Path(settings.export_dir) / f"{job.id}.{job.format}"


def run(*, engine: Engine, settings: Any, catalogue: Any, job_id: str) -> None:
    """Run a claimed job to the end: write the file beside its final name, then rename it,
    so a download never sees half a file."""
    with Session(engine) as session:
        job = session.get(ReportJob, job_id)
        if job is None:
            return
        scope = grants.hr_scope(session=session, user_id=job.user_id)
    params = json.loads(job.params)
    set_locale(params.get("locale") or settings.default_locale)
    target = path_of(settings, job)
    partial = target.with_suffix(target.suffix + ".part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        course_ids = [c.id for c in catalogue.courses()]
        filters, _errors = service.parse_filters(params["filters"], course_ids, jp=job.kind == "jp")
        if scope.empty or (
            filters.agency_id is not None and not scope.allows_agency(filters.agency_id)
        ):
            raise JobError(N_("You no longer have access to these people."))
        window = queries.Window.of(filters, settings.tz, clock.today(settings.tz))

        def progress(done: int) -> None:
            _set(engine, job_id, rows_done=done, heartbeat_at=utcnow())

        with engine.connect() as conn:
            ctx = exports.ExportContext(
                conn=conn,
                scope=scope,
                filters=filters,
                window=window,
                tz=settings.tz,
                year=int(params.get("year") or date.today().year),
                targets=service.jp_targets(settings),
                organiser=settings.issuer_name,
            )
            count = exports.write(
                kind=job.kind, fmt=job.format, ctx=ctx, path=partial, progress=progress
            )
        partial.replace(target)
        _set(
            engine,
            job_id,
            status="done",
            rows_done=count,
            rows_total=count,
            file_name=_file_name(job, filters),
            file_size=target.stat().st_size,
            finished_at=utcnow(),
        )
    except JobError as exc:
        partial.unlink(missing_ok=True)
        _set(engine, job_id, status="failed", error=str(exc.args[0]), finished_at=utcnow())
    except Exception:
        log.exception("export %s failed", job_id)
        partial.unlink(missing_ok=True)
        _set(
            engine,
            job_id,
            status="failed",
            error=N_("The export failed; please try again. The error was logged."),
            finished_at=utcnow(),
        )


def _file_name(job: ReportJob, filters: queries.Filters) -> str:
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return f"{job.kind}-{filters.course_id}-{stamp}.{job.format}"


def start(*, engine: Engine, settings: Any, catalogue: Any, job_id: str) -> bool:
    """Claim a job and run it in a background thread of this process."""
    if not claim(engine, job_id):
        return False
    thread = threading.Thread(
        target=run,
        kwargs={"engine": engine, "settings": settings, "catalogue": catalogue, "job_id": job_id},
        name=f"export-{job_id[:8]}",
        daemon=True,
    )
    thread.start()
    return True


def revive(*, engine: Engine, settings: Any, catalogue: Any, job: ReportJob) -> None:
    """A poll found a job nobody runs (its process stopped): run it here."""
    now = utcnow()
    stale = job.status == "running" and (
        job.heartbeat_at is None or as_utc(job.heartbeat_at) < now - STALE
    )
    waiting = job.status == "queued" and as_utc(job.created_at) < now - timedelta(seconds=5)
    if stale or waiting:
        start(engine=engine, settings=settings, catalogue=catalogue, job_id=job.id)


def own(*, session: Session, job_id: str, user_id: int) -> ReportJob | None:
    """A job of this user; anyone else's is not found."""
    if not job_id.isalnum() or len(job_id) != 32:
        return None
    job = session.get(ReportJob, job_id)
    return job if job is not None and job.user_id == user_id else None


def recent(*, session: Session, user_id: int, limit: int = 10) -> list[ReportJob]:
    """This user's latest exports, newest first."""
    query = (
        sm_select(ReportJob)
        .where(col(ReportJob.user_id) == user_id)
        .order_by(col(ReportJob.created_at).desc())
        .limit(limit)
    )
    return list(session.exec(query).all())


def clean_up(*, engine: Engine, settings: Any) -> int:
    """Delete exports older than the keeping time, files and rows; returns how many."""
    cutoff = utcnow() - timedelta(hours=settings.export_keep_hours)
    with engine.connect() as conn:
        old = conn.execute(
            select(job_t.c.id, job_t.c.format).where(job_t.c.created_at < cutoff)
        ).all()
    for job_id, fmt in old:
        (Path(settings.export_dir) / f"{job_id}.{fmt}").unlink(missing_ok=True)
    if old:
        with write_lock(engine), engine.begin() as conn:
            conn.execute(delete(job_t).where(job_t.c.id.in_([j for j, _f in old])))
    return len(old)
