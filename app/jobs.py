"""The one queue, outbox and scheduler for background work.

A job is a row in `job`. Work that must happen because of a change (a certificate owed by a
completion, an export asked for) is enqueued in the same transaction as the change, so the two
land together or not at all: that makes `job` the outbox. `berakhlak worker` (and, on the
embedded default, a worker inside `berakhlak serve`) claims ready jobs and runs their handlers:

- a claim is one statement: `FOR UPDATE SKIP LOCKED` on PostgreSQL, a conditional UPDATE on
  SQLite (which has one writer at a time), so any number of workers never take the same job;
- a claim is a lease (`locked_until`): a worker that dies (kill -9) lets its lease run out and
  another worker takes the job again;
- a handler's writes and the job's "done" are committed in one transaction, guarded by the
  lease, so a job's effect lands exactly once (a worker that lost its lease rolls back);
- a handler that raises is retried with exponential backoff; after `max_attempts` the job is
  dead (a dead letter), shown to admins at /admin/jobs, where it can be retried.

Schedules (attempt expiry, retention...) are rows in `job_schedule`: the worker that moves a
schedule's `next_at` forward (a conditional UPDATE) enqueues its job, so a schedule runs once
per period whatever the number of workers.

This module knows no e-learning rule: handlers and schedules come from the feature modules
(`modules/<name>/jobs.py`), gathered by the composition root (`app/main.py`)."""

from __future__ import annotations

import json
import logging
import os
import random
import secrets
import socket
import threading
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Text,
    UniqueConstraint,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Field, Session, SQLModel, col
from sqlmodel import select as sm_select

from app import clock
from app.db import insert_for, write_lock
from app.observability import metrics

log = logging.getLogger("berakhlak.worker")

QUEUED, RUNNING, DONE, DEAD = "queued", "running", "done", "dead"
STATUSES = (QUEUED, RUNNING, DONE, DEAD)


def _ts(nullable: bool = False) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


class Job(SQLModel, table=True):
    """One piece of background work: queued (ready at `run_at`), running (leased until
    `locked_until` by `locked_by`), done, or dead (failed `max_attempts` times)."""

    __tablename__ = "job"
    __table_args__ = (
        # a job owed once (the certificate of one completion...) has a key: enqueueing it
        # again is ignored
        UniqueConstraint("kind", "key"),
        # the claim looks for ready jobs in run_at order
        Index("ix_job_status_run_at", "status", "run_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    key: str | None = Field(default=None, max_length=200)
    user_id: int | None = Field(default=None, index=True)  # the person it concerns, if any
    payload: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    status: str = Field(default=QUEUED, max_length=12)
    attempts: int = 0
    max_attempts: int = 8
    run_at: datetime = Field(sa_column=_ts())
    locked_by: str | None = Field(default=None, max_length=80)
    locked_until: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=_ts())
    finished_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))

    def data(self) -> dict[str, Any]:
        """The payload, decoded."""
        value = json.loads(self.payload or "{}")
        return value if isinstance(value, dict) else {}


class JobSchedule(SQLModel, table=True):
    """When a periodic job is next due; shared by every worker."""

    __tablename__ = "job_schedule"
    name: str = Field(primary_key=True, max_length=64)
    next_at: datetime = Field(sa_column=_ts())


job_t = Job.__table__  # type: ignore[attr-defined]
schedule_t = JobSchedule.__table__  # type: ignore[attr-defined]
_JOB_COLUMNS = list(job_t.columns)

# ---- enqueueing (the outbox) -----------------------------------------------------------------

_wakeup = threading.Event()  # set when this process commits new jobs: local workers look now


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop("jobs_enqueued", False):
        _wakeup.set()


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop("jobs_enqueued", None)


def wake() -> None:
    """Make this process's idle workers look for jobs now (e.g. at shut-down, to stop)."""
    _wakeup.set()


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    user_id: int | None = None,
    run_at: datetime | None = None,
    max_attempts: int = 8,
) -> bool:
    """Add a job to the caller's transaction (it runs once the caller commits). With a `key`,
    a job of the same kind and key that exists already (waiting, done or dead) stands and this
    call adds nothing. True if a job was added."""
    conn = session.connection()
    now = clock.utcnow()
    stmt = (
        insert_for(conn)(job_t)
        .values(
            kind=kind,
            key=key,
            user_id=user_id,
            payload=json.dumps(payload or {}, ensure_ascii=False, default=str),
            status=QUEUED,
            attempts=0,
            max_attempts=max_attempts,
            run_at=run_at or now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["kind", "key"])
    )
    added = bool(conn.execute(stmt).rowcount)
    if added:
        session.info["jobs_enqueued"] = True
    return added


def pending(session: Session, kind: str, *, user_id: int) -> list[Job]:
    """A person's jobs of one kind that are not done (waiting, running or dead)."""
    stmt = (
        sm_select(Job)
        .where(col(Job.kind) == kind, col(Job.user_id) == user_id, col(Job.status) != DONE)
        .order_by(col(Job.id))
    )
    return list(session.exec(stmt).all())


# ---- handlers, schedules and the registry ----------------------------------------------------


@dataclass
class JobContext:
    """What a handler gets: the job, an open session whose transaction is committed together
    with the job's "done", the platform's state (settings, engine, catalogue...), and a way to
    extend the lease during long work."""

    session: Session
    job: Job
    state: Any
    worker: Worker

    @property
    def payload(self) -> dict[str, Any]:
        return self.job.data()

    def heartbeat(self) -> bool:
        """Extend the lease; False if another worker took the job meanwhile (stop then)."""
        return self.worker.extend(self.job)


@dataclass(frozen=True)
class Handler:
    """How to run one kind of job. A `transactional` handler writes only through
    `ctx.session` (committed with the job's "done", so its effect lands exactly once); one
    that is not (a long export) commits its own progress and must be safe to run again."""

    run: Callable[[JobContext], None]
    transactional: bool = True
    # called (in its own transaction) when a job of this kind becomes a dead letter, to mark
    # what it left unfinished (an export's page would otherwise say "running" for ever)
    on_dead: Callable[[Session, Job], None] | None = None


@dataclass(frozen=True)
class Schedule:
    """A job enqueued every `every`, by whichever worker gets there first."""

    name: str
    every: timedelta
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class Registry:
    """Every kind of job the workers can run, and every schedule."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    schedules: list[Schedule] = field(default_factory=list)

    def add(self, handlers: dict[str, Handler], schedules: Iterable[Schedule] = ()) -> None:
        for kind, handler in handlers.items():
            if kind in self.handlers:
                raise ValueError(f"two handlers for job kind {kind!r}")
            self.handlers[kind] = handler
        self.schedules.extend(schedules)


class LeaseLost(RuntimeError):
    """Another worker took the job (this one was too slow): its work is rolled back."""


# ---- the worker ------------------------------------------------------------------------------


def _ready(now: datetime, kinds: list[str]) -> Any:
    """Jobs a worker may take: of a kind it knows (during a rolling upgrade an older worker
    leaves a newer kind to the newer workers), queued and due, or running with a lease that
    ran out."""
    return (
        job_t.c.status.in_([QUEUED, RUNNING])
        & job_t.c.kind.in_(kinds)
        & (
            ((job_t.c.status == QUEUED) & (job_t.c.run_at <= now))
            | ((job_t.c.status == RUNNING) & (job_t.c.locked_until < now))
        )
    )


class Worker:
    """Claims ready jobs and runs them; see the module docstring for the guarantees."""

    def __init__(
        self,
        engine: Engine,
        registry: Registry,
        state: Any,
        *,
        lease: timedelta = timedelta(minutes=5),
        poll_seconds: float = 1.0,
        backoff: timedelta = timedelta(seconds=10),
        backoff_cap: timedelta = timedelta(hours=1),
        name: str | None = None,
    ) -> None:
        self.engine, self.registry, self.state = engine, registry, state
        self.lease, self.poll_seconds = lease, poll_seconds
        self.backoff, self.backoff_cap = backoff, backoff_cap
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._schedules_checked: datetime | None = None

    # -- claiming ------------------------------------------------------------------------------

    def claim(self) -> Job | None:
        """Take the next ready job, or None."""
        now = clock.utcnow()
        ready = _ready(now, sorted(self.registry.handlers))
        with self.engine.connect() as conn:
            # a read first: an idle worker never takes the write lock (SQLite has one)
            if conn.execute(select(job_t.c.id).where(ready).limit(1)).first() is None:
                return None
        candidate = select(job_t.c.id).where(ready).order_by(job_t.c.run_at, job_t.c.id)
        if self.engine.dialect.name == "postgresql":
            candidate = candidate.with_for_update(skip_locked=True)
        stmt = (
            update(job_t)
            .where(job_t.c.id == candidate.limit(1).scalar_subquery(), ready)
            .values(
                status=RUNNING,
                locked_by=self.name,
                locked_until=now + self.lease,
                attempts=job_t.c.attempts + 1,
            )
            .returning(*_JOB_COLUMNS)
        )
        with write_lock(self.engine), self.engine.begin() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else Job(**row._mapping)

    def extend(self, job: Job) -> bool:
        """Extend a claimed job's lease; False if it is no longer this worker's."""
        with write_lock(self.engine), self.engine.begin() as conn:
            moved = conn.execute(
                update(job_t)
                .where(job_t.c.id == job.id, job_t.c.locked_by == self.name)
                .values(locked_until=clock.utcnow() + self.lease)
            ).rowcount
        return bool(moved)

    # -- running -------------------------------------------------------------------------------

    def run_once(self) -> bool:
        """Claim one ready job and run it; False if none was ready."""
        job = self.claim()
        if job is None:
            return False
        handler = self.registry.handlers[job.kind]
        if job.attempts > job.max_attempts:  # a job that keeps killing its workers
            self._failed(job, job.last_error or "lease ran out too often", final=True)
        else:
            self._run(job, handler)
        return True

    def _run(self, job: Job, handler: Handler) -> None:
        lock = write_lock(self.engine) if handler.transactional else nullcontext()
        try:
            with lock, Session(self.engine, expire_on_commit=False) as session:
                handler.run(JobContext(session, job, self.state, self))
                if not self._done(session, job):
                    session.rollback()
                    raise LeaseLost(f"job {job.id} was taken by another worker")
                session.commit()
            metrics().jobs_run.labels(job.kind, "done").inc()
        except LeaseLost as exc:
            metrics().jobs_run.labels(job.kind, "lease_lost").inc()
            log.warning("%s", exc)
        except Exception as exc:  # noqa: BLE001 - a job's failure is recorded, never fatal
            log.exception("job %s (%s) failed, attempt %s", job.id, job.kind, job.attempts)
            self._failed(job, f"{type(exc).__name__}: {exc}")

    def _done(self, session: Session, job: Job) -> bool:
        """Mark the job done in the handler's transaction, if this worker still holds it."""
        return bool(
            session.connection()
            .execute(
                update(job_t)
                .where(
                    job_t.c.id == job.id,
                    job_t.c.locked_by == self.name,
                    job_t.c.status == RUNNING,
                )
                .values(status=DONE, finished_at=clock.utcnow(), locked_by=None, locked_until=None)
            )
            .rowcount
        )

    def _failed(self, job: Job, error: str, *, final: bool = False) -> None:
        """Put the job back with a later `run_at` (exponential backoff with jitter), or make it
        a dead letter once its attempts are spent."""
        now = clock.utcnow()
        step = self.backoff * (2 ** max(job.attempts - 1, 0))
        delay = min(step, self.backoff_cap) * random.uniform(1.0, 1.2)  # noqa: S311 - jitter
        dead = final or job.attempts >= job.max_attempts
        with write_lock(self.engine), Session(self.engine) as session:
            moved = (
                session.connection()
                .execute(
                    update(job_t)
                    .where(job_t.c.id == job.id, job_t.c.locked_by == self.name)
                    .values(
                        status=DEAD if dead else QUEUED,
                        run_at=now if dead else now + delay,
                        locked_by=None,
                        locked_until=None,
                        last_error=error[:4000],
                        finished_at=now if dead else None,
                    )
                )
                .rowcount
            )
            handler = self.registry.handlers.get(job.kind)
            if dead and moved and handler is not None and handler.on_dead is not None:
                handler.on_dead(session, job)
            session.commit()
        metrics().jobs_run.labels(job.kind, "dead" if dead else "retry").inc()
        if dead:
            log.error("job %s (%s) is a dead letter: %s", job.id, job.kind, error)

    # -- schedules -----------------------------------------------------------------------------

    def run_schedules(self) -> int:
        """Enqueue every schedule that is due (once across all workers); returns how many."""
        now = clock.utcnow()
        with self.engine.connect() as conn:
            rows: Any = conn.execute(select(schedule_t.c.name, schedule_t.c.next_at)).all()
            known: dict[str, datetime] = dict(rows)
        started = 0
        for schedule in self.registry.schedules:
            next_at = known.get(schedule.name)
            if next_at is not None and clock.as_utc(next_at) > now:
                continue
            if self._take_schedule(schedule, now, first=next_at is None):
                started += 1
        return started

    def _take_schedule(self, schedule: Schedule, now: datetime, *, first: bool) -> bool:
        with write_lock(self.engine), Session(self.engine) as session:
            conn = session.connection()
            if first:
                won = conn.execute(
                    insert_for(conn)(schedule_t)
                    .values(name=schedule.name, next_at=now + schedule.every)
                    .on_conflict_do_nothing(index_elements=["name"])
                ).rowcount
            else:
                won = conn.execute(
                    update(schedule_t)
                    .where(schedule_t.c.name == schedule.name, schedule_t.c.next_at <= now)
                    .values(next_at=now + schedule.every)
                ).rowcount
            if won:
                key = f"{schedule.name}@{now.isoformat(timespec='seconds')}"
                # a few retries within the period; the next period's run does the work anyway
                enqueue(session, schedule.kind, schedule.payload, key=key, max_attempts=3)
            session.commit()
        return bool(won)

    # -- loops ---------------------------------------------------------------------------------

    def tick(self, max_jobs: int = 100, stop: threading.Event | None = None) -> int:
        """Enqueue due schedules (at most every few seconds), then run up to `max_jobs` ready
        jobs (fewer once `stop` is set: a stopping worker finishes the job in hand only);
        returns how many jobs ran."""
        now = clock.utcnow()
        if self._schedules_checked is None or now - self._schedules_checked >= timedelta(seconds=5):
            self._schedules_checked = now
            self.run_schedules()
        ran = 0
        while ran < max_jobs and not (stop and stop.is_set()) and self.run_once():
            ran += 1
        return ran

    def run_until_idle(self, max_jobs: int = 10_000) -> int:
        """Run schedules and jobs until nothing is ready (tests, `berakhlak worker --once`)."""
        self._schedules_checked = None
        self.run_schedules()
        ran = 0
        while ran < max_jobs and self.run_once():
            ran += 1
        return ran

    def run_forever(self, stop: threading.Event) -> None:
        """Work until `stop` is set; waits `poll_seconds` when idle, less when this process
        enqueued something. A database that is down is waited for, never fatal."""
        log.info("worker %s started", self.name)
        failures = 0
        while not stop.is_set():
            try:
                ran = self.tick(stop=stop)
                failures = 0
            except DBAPIError as exc:
                failures += 1
                log.warning("worker %s: database unavailable (%s)", self.name, exc.orig)
                ran = 0
            if not ran:
                _wakeup.wait(min(self.poll_seconds * (2 ** min(failures, 5)), 60.0))
                _wakeup.clear()
        log.info("worker %s stopped", self.name)


# ---- dead letters and housekeeping -----------------------------------------------------------


def counts(conn: Connection) -> dict[str, int]:
    """How many jobs are in each state."""
    rows: Any = conn.execute(select(job_t.c.status, func.count()).group_by(job_t.c.status))
    found = {status: int(n) for status, n in rows}
    return {status: found.get(status, 0) for status in STATUSES}


def _failing() -> Any:
    return (col(Job.status) == DEAD) | (
        (col(Job.status) == QUEUED) & col(Job.last_error).is_not(None)
    )


STALLED = timedelta(minutes=5)  # a job ready this long with nobody taking it: no worker runs


def health(conn: Connection) -> dict[str, Any]:
    """Jobs waiting and how long the oldest has waited, dead letters, and whether the queue
    is stalled (a job ready for five minutes: no worker takes jobs)."""
    now = clock.utcnow()
    row: Any = conn.execute(
        select(func.count(), func.min(job_t.c.run_at)).where(
            job_t.c.status == QUEUED, job_t.c.run_at <= now
        )
    ).one()
    waiting, oldest = row
    dead = conn.execute(select(func.count()).where(job_t.c.status == DEAD)).scalar_one()
    waited = (now - clock.as_utc(oldest)).total_seconds() if oldest is not None else 0.0
    return {
        "waiting": int(waiting),
        "oldest_wait_seconds": round(waited),
        "dead": int(dead),
        "stalled": waited > STALLED.total_seconds(),
    }


def troubled(session: Session, kind: str = "", limit: int = 100) -> list[Job]:
    """Dead letters and jobs waiting for a retry (of one kind, if given), newest first."""
    stmt = sm_select(Job).where(_failing())
    if kind:
        stmt = stmt.where(col(Job.kind) == kind)
    return list(session.exec(stmt.order_by(col(Job.id).desc()).limit(limit)).all())


def troubled_kinds(conn: Connection) -> list[tuple[str, int]]:
    """How many failing jobs each kind has, so that one failure repeated many times cannot
    hide another."""
    rows: Any = conn.execute(
        select(job_t.c.kind, func.count())
        .where(_failing())
        .group_by(job_t.c.kind)
        .order_by(job_t.c.kind)
    )
    return [(kind, int(n)) for kind, n in rows]


def retry(session: Session, job_id: int) -> bool:
    """Give a dead letter (or a job waiting for a retry) a fresh set of attempts, now; the
    caller commits. False if there is no such job in either state."""
    moved = session.connection().execute(
        update(job_t)
        .where(job_t.c.id == job_id, job_t.c.status.in_([DEAD, QUEUED]))
        .values(
            status=QUEUED,
            attempts=0,
            run_at=clock.utcnow(),
            finished_at=None,
            locked_by=None,
            locked_until=None,
        )
    )
    if moved.rowcount:
        session.info["jobs_enqueued"] = True
    return bool(moved.rowcount)


def prune(ctx: JobContext) -> None:
    """Delete finished jobs older than the keeping time. Dead letters stay until retried,
    except those of scheduled runs (the next period's run did their work) once a day old, so
    a failure that repeats every minute cannot bury the others."""
    days = int(getattr(ctx.state.settings, "job_keep_days", 14))
    now = clock.utcnow()
    kept = now - timedelta(days=days)
    ctx.session.connection().execute(
        delete(job_t).where(job_t.c.status == DONE, job_t.c.finished_at < kept)
    )
    scheduled = sorted({s.kind for s in ctx.worker.registry.schedules})
    ctx.session.connection().execute(
        delete(job_t).where(
            job_t.c.status == DEAD,
            job_t.c.kind.in_(scheduled),
            job_t.c.finished_at < now - timedelta(days=1),
        )
    )


def status_label(job: Job) -> str:
    """`retrying` for a queued job that failed before, else its status."""
    return "retrying" if job.status == QUEUED and job.last_error else job.status


HANDLERS = {"jobs.prune": Handler(prune)}
SCHEDULES = [Schedule("jobs.prune", timedelta(days=1), "jobs.prune")]
