"""The queue and its workers as separate processes on the real database: two workers drain the
queue, one is killed (SIGKILL) in the middle of a job, and every job still runs exactly once
(its effect committed with its "done", under its lease)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session, select

from app.jobs import DONE, RUNNING, Job
from modules.certificates import service as certificates_service
from modules.certificates.models import Certificate
from tests.conftest import SECRET
from tests.modules.certificates.helpers import completed_user, make_app

LEARNERS = 120


def _until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll the database until `condition` holds (the workers are other processes)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _start_worker(db_url: str, name: str, content: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "BERAKHLAK_DATABASE_URL": db_url,
        "BERAKHLAK_SECRET_KEY": SECRET,
        "BERAKHLAK_ENVIRONMENT": "test",
        "BERAKHLAK_CONTENT_DIR": str(content),
        "BERAKHLAK_JOB_LEASE_SECONDS": "2",
        "BERAKHLAK_WORKER_POLL_SECONDS": "0.05",
    }
    script = Path(__file__).resolve().parents[1] / "support" / "worker_process.py"
    return subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(script), name], env=env, stderr=subprocess.DEVNULL
    )


def test_two_workers_and_a_kill_run_every_job_exactly_once(db_url, tmp_path) -> None:
    app = make_app(db_url, tmp_path)
    engine = app.state.engine
    learners = [completed_user(app, i) for i in range(1, LEARNERS + 1)]  # 120 owed

    def count(stmt) -> int:
        with Session(engine) as session:
            return len(session.exec(stmt).all())

    first = _start_worker(db_url, "first", tmp_path / "content")
    second = _start_worker(db_url, "second", tmp_path / "content")
    try:
        _until(lambda: count(select(Certificate.id)) >= LEARNERS // 4, 60, "a quarter issued")
        # kill the first worker while it holds a job (its transaction open): freeze it, look,
        # and let it go on until it is caught holding one
        held: list[int] = []
        deadline = time.monotonic() + 30
        while not held:
            assert time.monotonic() < deadline, "the first worker never held a job"
            first.send_signal(signal.SIGSTOP)
            with Session(engine) as session:
                held = list(
                    session.exec(
                        select(Job.id).where(Job.locked_by == "first", Job.status == RUNNING)
                    ).all()
                )
            if not held:
                first.send_signal(signal.SIGCONT)
                time.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        _until(
            lambda: count(select(Job.id).where(Job.status != DONE)) == 0,
            90,
            "every job done by the survivor",
        )
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(20)
    with Session(engine) as session:
        rows = session.exec(select(Certificate)).all()
        jobs = session.exec(select(Job).where(Job.kind == certificates_service.ISSUE_JOB)).all()
        taken_over = [j for j in jobs if j.id in held]
    assert sorted(r.user_id for r in rows) == sorted(learners)  # each learner exactly once
    assert sorted(r.serial for r in rows) == list(range(1, LEARNERS + 1))  # no gap, no double
    assert all(j.status == DONE for j in jobs) and len(jobs) == LEARNERS
    # the job the killed worker held was run again by the other, after its lease ran out
    assert taken_over and all(j.attempts >= 2 for j in taken_over)
    app.state.engine.dispose()
