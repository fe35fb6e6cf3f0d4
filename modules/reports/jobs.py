"""Export jobs. An export's state (progress, file, error) lives in `report_job`, so whichever
server process gets the next status poll can answer it; the work itself is a job of the
platform's queue (`report.export`), run by a worker, never by a page view. The worker's lease
takes care of a worker that died mid-export: another one starts the file again."""

from __future__ import annotations

import json
import logging
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from app import clock
from app import jobs as queue
from app.clock import utcnow
from app.db import write_lock
from app.i18n import N_, set_locale
from modules.accounts import service as accounts_service
from modules.reports import exports, queries, service, siasn
from modules.reports.models import ReportJob

log = logging.getLogger(__name__)
job_t = ReportJob.__table__  # type: ignore[attr-defined]
EXPORT_JOB = "report.export"
ABANDONED = N_("The export could not be finished; please try again. The error was logged.")
CANNOT_WRITE = N_(
    "The export file could not be written on the server; the administrators have been told."
)
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
    """Queue an export of `rows` rows in the caller's transaction. The filters are kept as
    given; the scope is read again when the job runs (a withdrawn grant stops it)."""
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
    session.flush()
    queue.enqueue(session, EXPORT_JOB, {"report_job": job.id}, key=job.id, user_id=user_id)
    return job


def _set(engine: Engine, job_id: str, **values: Any) -> None:
    """Record an export's progress or outcome at once (its own short transaction: the owner's
    polls see it while the file is still being written). Only while it is running: a run that
    another worker took over meanwhile cannot undo that one's outcome."""
    with write_lock(engine), Session(engine) as session:
        session.connection().execute(
            update(job_t).where(job_t.c.id == job_id, job_t.c.status == "running").values(**values)
        )
        session.commit()


class Superseded(Exception):
    """This run lost its lease: another worker runs the export now, with its own file."""


def path_of(settings: Any, job: ReportJob) -> Path:
    """Where a job's finished file lies."""
    return Path(settings.export_dir) / f"{job.id}.{job.format}"


def run(
    *,
    engine: Engine,
    settings: Any,
    catalogue: Any,
    job_id: str,
    heartbeat: Any = lambda: True,
    run_name: str = "",
) -> None:
    """Run an export to the end: write the file beside its final name, then rename it, so a
    download never sees half a file. Any failure is the export's outcome (shown to its owner,
    who may start it again), never a retry loop. Each run writes a file of its own (`run_name`):
    a run whose worker lost its lease stops at its next heartbeat and leaves the export to the
    worker that took it over."""
    with write_lock(engine), Session(engine) as session:
        job = session.get(ReportJob, job_id)
        if job is None or job.status in ("done", "failed"):
            return
        scope = accounts_service.hr_scope(session=session, user_id=job.user_id)
        job.status, job.started_at, job.heartbeat_at, job.rows_done = (
            "running",
            utcnow(),
            utcnow(),
            0,
        )
        session.add(job)
        session.commit()
        session.refresh(job)
    params = json.loads(job.params)
    set_locale(params.get("locale") or settings.default_locale)
    target = path_of(settings, job)
    partial = target.with_suffix(f"{target.suffix}.{run_name or 'run'}.part")
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
            if not heartbeat():
                raise Superseded(job_id)
            _set(engine, job_id, rows_done=done, heartbeat_at=utcnow())

        progress(0)  # the query may take a while before the first rows come
        with Session(engine) as reading:  # rows stream from a server-side cursor
            ctx = exports.ExportContext(
                conn=reading.connection(),
                scope=scope,
                filters=filters,
                window=window,
                tz=settings.tz,
                year=int(params.get("year") or clock.today(settings.tz).year),
                targets=service.jp_targets(settings),
                organiser=settings.issuer_name,
                siasn={
                    "jenis_diklat_id": settings.siasn_jenis_diklat_id,
                    "instansi": siasn.instansi_ids(settings.siasn_instansi_ids),
                    "base_url": settings.base_url.rstrip("/"),
                },
                after_rows=(
                    _after_rows(reading, scope, filters, catalogue, settings)
                    if job.kind == "after"
                    else None
                ),
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
    except Superseded:
        log.warning("export %s was taken over by another worker; this run stops", job_id)
        partial.unlink(missing_ok=True)
    except JobError as exc:
        partial.unlink(missing_ok=True)
        _set(engine, job_id, status="failed", error=str(exc.args[0]), finished_at=utcnow())
    except OSError as exc:  # the export folder is missing, full or read-only
        log.error("export %s: cannot write %s: %s", job_id, partial, exc)
        partial.unlink(missing_ok=True)
        _set(engine, job_id, status="failed", error=CANNOT_WRITE, finished_at=utcnow())
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


def _after_rows(
    session: Session, scope: Any, filters: Any, catalogue: Any, settings: Any
) -> list[Any]:
    """The after-course report's rows for an export: by unit within one agency, else by
    agency, as the page groups them when not asked otherwise."""
    course = catalogue.get(filters.course_id)
    if course is None:
        raise JobError(N_("This course is no longer offered."))
    return service.after_course(
        conn=session.connection(),
        scope=scope,
        filters=filters,
        course=course.content,
        group_by=service.default_group(scope, filters, None),
        min_group=settings.report_min_group,
    )


def _file_name(job: ReportJob, filters: queries.Filters) -> str:
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return f"{job.kind}-{filters.course_id}-{stamp}.{job.format}"


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
    """Delete exports older than the keeping time, files and rows; returns how many (run by
    the worker every hour)."""
    cutoff = utcnow() - timedelta(hours=settings.export_keep_hours)
    with Session(engine) as session:
        old = (
            session.connection()
            .execute(select(job_t.c.id, job_t.c.format).where(job_t.c.created_at < cutoff))
            .all()
        )
        for job_id, fmt in old:
            (Path(settings.export_dir) / f"{job_id}.{fmt}").unlink(missing_ok=True)
        if old:
            with write_lock(engine):
                session.connection().execute(
                    delete(job_t).where(job_t.c.id.in_([j for j, _f in old]))
                )
                session.commit()
    return len(old)


def run_export(ctx: queue.JobContext) -> None:
    """The worker's step for `report.export`."""
    state = ctx.state
    run(
        engine=state.engine,
        settings=state.settings,
        catalogue=state.catalogue,
        job_id=ctx.payload["report_job"],
        heartbeat=ctx.heartbeat,
        run_name=f"{ctx.job.id}-{ctx.job.attempts}",
    )


def export_abandoned(session: Session, job: queue.Job) -> None:
    """The export's worker died too often: its owner sees it failed, not running for ever."""
    session.connection().execute(
        update(job_t)
        .where(
            job_t.c.id == job.data().get("report_job"), job_t.c.status.in_(("queued", "running"))
        )
        .values(status="failed", error=ABANDONED, finished_at=utcnow())
    )


def clean_exports(ctx: queue.JobContext) -> None:
    """The worker's step for `report.clean_up`: exports past their keeping time."""
    clean_up(engine=ctx.state.engine, settings=ctx.state.settings)


HANDLERS = {
    EXPORT_JOB: queue.Handler(run_export, transactional=False, on_dead=export_abandoned),
    "report.clean_up": queue.Handler(clean_exports, transactional=False),
}
SCHEDULES = [queue.Schedule("report.clean_up", timedelta(hours=1), "report.clean_up")]
