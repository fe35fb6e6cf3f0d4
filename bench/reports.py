"""Reports at national scale: a synthetic population of learners, then the agency completion
report, the national summary and a full CSV export timed on it.

Run:

    .venv/bin/python bench/reports.py                      # SQLite, /tmp/berakhlak-reports.db
    .venv/bin/python bench/reports.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/berakhlak_bench
    ... --reuse        # keep a population generated earlier with the same options

Options: `--learners 1000000 --agencies 600 --seed 1 --assessment-fraction 0.1
--with-lessons --today YYYY-MM-DD --generate-only --check --repeat 5 --explain --skip-http
--exports people:csv:national people:csv:agency siasn:csv:national people:xlsx:agency`.

Generation (see `reports_population.py`): the database is dropped and made again (PostgreSQL:
`DROP DATABASE … WITH (FORCE)` from the `postgres` database; SQLite: the file is deleted),
migrated, given the reference agencies and the shipped course as the server does at start, and
then filled with set-based SQL: learners in agencies of skewed sizes (the largest holds 5 %:
50,000 of a million), enrolments, assignments with due dates, completions, learning events,
certificates and self-assessment answers. A bench administrator and the largest agency's HR
officer get known passwords. The generator's options are stored in the administrator's
`position`, so `--reuse` can tell whether the database already holds the population asked for
(a reused database is migrated to the newest revision first).

Measurements (skipped with `--generate-only`): `completion_report` in process for the largest
agency's HR officer (by unit) and for an admin (national, by agency), whole and query by query,
best and median of `--repeat` runs after a warm-up (`--explain` prints the query plans); the
same two pages over HTTP from one uvicorn process; and each export of `--exports` as a report
job run in a fresh process (`--export-worker`), with rows per second and that process's peak
memory (VmHWM). Results and their reading: docs/benchmarks.md, "Reports at national scale".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import reports_population as population  # noqa: E402
from lesson_page import _free_port, _server  # noqa: E402

from app import migrate, security  # noqa: E402
from app.db import make_engine  # noqa: E402
from app.settings import Settings  # noqa: E402
from modules.accounts import grants  # noqa: E402
from modules.accounts import service as accounts_service  # noqa: E402
from modules.accounts.models import RoleGrant, User  # noqa: E402
from modules.accounts.schemas import parse_registration  # noqa: E402
from modules.agencies import service as agencies_service  # noqa: E402
from modules.agencies.models import Agency  # noqa: E402
from modules.courses import service as courses_service  # noqa: E402
from modules.reports import jobs, queries  # noqa: E402
from modules.reports import service as reports_service  # noqa: E402

DEFAULT_URL = "sqlite:////tmp/berakhlak-reports.db"
ADMIN_NIP = "198001012005011999"  # serial 999: never used by the generator (at most ~505)
ADMIN_PASSWORD = "bench-laporan-admin-2026"
HR_PASSWORD = "bench-laporan-sdm-2026"
MARKER = "bench:reports v1"
TABLES = (
    "agency", "user", "role_grant", "enrollment", "course_assignment", "course_completion",
    "learning_event", "certificate", "certificate_counter", "quiz_attempt", "quiz_answer",
    "lesson_progress",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------------------------


def _quoted(table: str) -> str:
    return f'"{table}"'


def recreate_database(url: str) -> None:
    """An empty database at `url`: PostgreSQL drops and creates it from the `postgres`
    database; SQLite deletes the file and its WAL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = parsed.database
    if name in (None, "", "postgres", "test", "template0", "template1"):
        raise SystemExit(f"refusing to drop the database {name!r}: pick one of your own")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def load_engine(url: str, check: bool) -> Engine:
    """An engine for the bulk load, separate from the app's: on SQLite it registers the hash
    function and trades durability for speed (a crash mid-load means generating again)."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_size=1, max_overflow=0)
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _setup(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.create_function("bench_h", 2, population.hash8, deterministic=True)
        cur = dbapi_conn.cursor()
        # No journal during the load: every page is written once, not to the WAL and then
        # again to the database; the file is switched back to WAL afterwards.
        cur.execute("PRAGMA journal_mode=OFF")
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute(f"PRAGMA foreign_keys={'ON' if check else 'OFF'}")
        cur.execute("PRAGMA cache_size=-1048576")  # 1 GiB: the indexes being built stay cached
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    return engine


def session_settings(conn, check: bool) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL settings for this connection only: big sorts in memory, no wait for the WAL
    flush at each commit, and (unless --check) no foreign-key triggers: every reference is
    made consistent by construction, and the triggers would double the load time."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text("SET synchronous_commit = off"))
    conn.execute(text("SET work_mem = '512MB'"))
    conn.execute(text("SET maintenance_work_mem = '1GB'"))
    if not check:
        conn.execute(text("SET session_replication_role = replica"))
    conn.commit()


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


def marker(args: argparse.Namespace) -> str:
    return (
        f"{MARKER} learners={args.learners} agencies={args.agencies} seed={args.seed} "
        f"assessment={args.assessment_fraction:g} lessons={int(args.with_lessons)}"
    )


def existing_population(engine: Engine, args: argparse.Namespace) -> str | None:
    """The marker of the population in the database if it is the one asked for, else None."""
    try:
        with Session(engine) as session:
            admin = session.exec(select(User).where(User.nip == ADMIN_NIP)).first()
            if admin is None or not admin.position.startswith(marker(args) + " "):
                return None
            users = session.connection().execute(text('SELECT count(*) FROM "user"')).scalar()
    except Exception:  # noqa: BLE001 - no database, no schema: generate
        return None
    return admin.position if users == args.learners + 1 else None


def synthetic_agencies(engine: Engine, wanted: int) -> int:
    """Top the reference list up with synthetic regencies when more agencies are asked for."""
    with Session(engine) as session:
        have = len(session.exec(select(Agency.id)).all())
        for i in range(have, wanted):
            session.add(
                Agency(
                    code=f"SIN-{i + 1:04d}",
                    name=f"Pemerintah Kabupaten Sintetis {i + 1:04d}",
                    kind="kabupaten",
                )
            )
        session.commit()
    return max(0, wanted - have)


def bench_users(engine: Engine, plan: population.Plan, args: argparse.Namespace) -> tuple[str, str]:
    """The administrator (created as `berakhlak users create --role admin` does) and the HR
    officer of the largest agency (a generated person with an HR grant: the password is set
    as an administrator would, so the agency keeps exactly its planned size)."""
    with Session(engine) as session:
        bkn = agencies_service.get_by_code(session=session, code="LB-BKN")
        agency = bkn or session.get(Agency, plan.largest.agency_id)
        assert agency is not None and agency.id is not None
        data = parse_registration(
            {
                "nip": ADMIN_NIP,
                "name": "Administrator Uji Beban",
                "email": "admin.bench@bkn.go.id",
                "agency_id": str(agency.id),
                "work_unit": "Direktorat Pengembangan Kompetensi",
                "position": f"{marker(args)} today={plan.today.isoformat()}",
                "grade": "IV/a",
                "password": ADMIN_PASSWORD,
                "password_confirm": ADMIN_PASSWORD,
                "privacy": "yes",
            },
            {agency.id},
        )
        admin = accounts_service.register(session=session, data=data)
        grants.grant(session=session, user=admin, role="admin")
        hr = session.exec(
            select(User)
            .join(RoleGrant, RoleGrant.user_id == User.id)  # type: ignore[arg-type]
            .where(RoleGrant.role == "hr", RoleGrant.agency_id == plan.largest.agency_id)
        ).one()
        accounts_service.reset_password(session=session, user=hr, new=HR_PASSWORD)
        return admin.nip, hr.nip


def schema_matches_models(engine: Engine) -> None:
    """The load dropped and recreated indexes: check the schema is still the migrations'
    (the same comparison as tests/app/test_migrations.py)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.models_registry import metadata

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    if diff:
        raise SystemExit(f"the schema differs from the models after the load: {diff}")
    print("  schema after the load: identical to the models (alembic compare_metadata)")


def fix_sequence(engine: Engine) -> None:
    """Move the user id sequence past the ids the load wrote explicitly (PostgreSQL)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('\"user\"', 'id'), "
                    '(SELECT max(id) FROM "user"))'
                )
            )
            conn.commit()


def finish(engine: Engine) -> list[str]:
    """Statistics (and on PostgreSQL the visibility map, as autovacuum would have made it)
    for the planner; SQLite back to WAL."""
    done = []
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            start = time.perf_counter()
            conn.execute(text("VACUUM (ANALYZE)"))
            done.append(f"VACUUM (ANALYZE) {time.perf_counter() - start:.1f} s")
    else:
        with engine.connect() as conn:
            start = time.perf_counter()
            conn.execute(text("ANALYZE"))
            conn.commit()
            done.append(f"ANALYZE {time.perf_counter() - start:.1f} s")
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    return done


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(text(f"SELECT count(*) FROM {_quoted(table)}")).scalar_one()
            for table in TABLES
        }


def database_size(engine: Engine) -> tuple[int, dict[str, int]]:
    """Bytes on disk: the whole database, and per table with its indexes (PostgreSQL)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            total = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            per = {
                table: conn.execute(
                    text(f"SELECT pg_total_relation_size('{_quoted(table)}')")
                ).scalar_one()
                for table in TABLES
            }
        return int(total), {k: int(v) for k, v in per.items()}
    path = Path(make_url(str(engine.url)).database or "")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size, {}


def summary(engine: Engine, plan: population.Plan) -> list[str]:
    """Shares of the generated population, to check them against the plan."""
    with engine.connect() as conn:
        one = conn.execute(
            text(
                'SELECT (SELECT count(*) FROM "user" WHERE agency_id = :a), '
                '(SELECT count(DISTINCT work_unit) FROM "user" WHERE agency_id = :a), '
                "(SELECT count(*) FROM \"user\" WHERE employment_type = 'PPPK'), "
                "(SELECT count(*) FROM enrollment WHERE due_on IS NOT NULL), "
                "(SELECT count(*) FROM enrollment WHERE last_lesson_id IS NULL), "
                "(SELECT count(DISTINCT agency_id) FROM course_assignment)"
            ),
            {"a": plan.largest.agency_id},
        ).one()
        sizes = (
            conn.execute(
                text('SELECT count(*) AS n FROM "user" GROUP BY agency_id ORDER BY n DESC')
            )
            .scalars()
            .all()
        )
    n = plan.learners
    c = counts(engine)
    return [
        f"largest agency: {plan.largest.name} ({plan.largest.code}, id "
        f"{plan.largest.agency_id}): {one[0]:,} people in {one[1]} work units",
        f"agencies with people: {len(sizes)}; sizes: largest {sizes[0]:,}, median "
        f"{sizes[len(sizes) // 2]:,}, smallest {sizes[-1]:,}",
        f"PPPK {one[2] / n:.1%}; enrolled {c['enrollment'] / n:.1%} (assigned with a due date "
        f"{one[3] / n:.1%}, not started {one[4] / n:.1%}); completed "
        f"{c['course_completion'] / n:.1%}; agencies that assigned the course {one[5]}",
    ]


def generate(args: argparse.Namespace, settings: Settings) -> None:
    url = args.database_url
    print(
        f"generating {args.learners:,} learners in {args.agencies} agencies (seed "
        f"{args.seed}) into {make_url(url).render_as_string(hide_password=True)}"
    )
    started = time.perf_counter()
    recreate_database(url)
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as session:
        seeded = agencies_service.seed_reference(session=session)
    added = synthetic_agencies(engine, args.agencies)
    courses_service.sync_content(engine=engine, root=ROOT / "content")
    print(
        f"  schema, {seeded} reference agencies (+{added} synthetic), shipped course: "
        f"{time.perf_counter() - started:.1f} s"
    )
    with Session(engine) as session:
        agencies = [(a.id, a.code, a.name, a.kind) for a in session.exec(select(Agency)).all()]
    today = date.fromisoformat(args.today) if args.today else datetime.now(UTC).date()
    plan = population.make_plan(agencies, args.learners, args.agencies, args.seed, today)
    course = population.course_facts(engine)
    policy = settings
    options = population.Options(
        assessment_fraction=args.assessment_fraction,
        with_lessons=args.with_lessons,
        # one argon2 hash for everyone: nobody logs in as a generated learner
        password_hash=security.hash_password(os.urandom(16).hex()),
        number_pattern=policy.certificate_number_pattern,
        validity_days=policy.certificate_validity_days,
        signer_name=policy.certificate_signer_name,
        signer_title=policy.certificate_signer_title,
    )
    engine.dispose()
    loader_engine = load_engine(url, args.check)
    with loader_engine.connect() as conn:
        session_settings(conn, args.check)
        loader = population.Loader(conn, plan, course, options)
        loader.load()
    loader_engine.dispose()
    engine = make_engine(url)
    schema_matches_models(engine)
    fix_sequence(engine)
    admin_nip, hr_nip = bench_users(engine, plan, args)
    for line in finish(engine):
        print(f"  {line}")
    if args.check and engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        print(f"  foreign key check: {len(broken)} broken references")
        assert not broken, broken[:5]
    total = time.perf_counter() - started
    print(f"generated in {total:.0f} s ({total / 60:.1f} min)")
    for note in loader.notes:
        print(f"  note: {note}")
    print(f"  bench admin: NIP {admin_nip}, password {ADMIN_PASSWORD}")
    print(f"  HR of the largest agency: NIP {hr_nip}, password {HR_PASSWORD}")
    for line in summary(engine, plan):
        print(f"  {line}")
    engine.dispose()


def upgrade_reused(url: str) -> None:
    """Bring a reused database to the newest migration (a branch may have added an index),
    and refresh the planner's statistics if that changed anything."""
    from alembic.migration import MigrationContext

    engine = make_engine(url)

    def revision() -> str | None:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    before = revision()
    start = time.perf_counter()
    migrate.upgrade(engine)
    if revision() != before:
        print(f"  migrated {before} -> {revision()} in {time.perf_counter() - start:.1f} s")
        for line in finish(engine):
            print(f"  {line}")
    engine.dispose()


def report_population(engine: Engine) -> None:
    size, per_table = database_size(engine)
    rows = counts(engine)
    print(f"\ndatabase size: {size / 2**20:,.0f} MiB")
    print("\n| table | rows | size with indexes |\n|---|---|---|")
    for table in TABLES:
        mib = f"{per_table[table] / 2**20:,.0f} MiB" if table in per_table else "-"
        print(f"| {table} | {rows[table]:,} | {mib} |")


# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements run on `engine` inside the block (to EXPLAIN them afterwards)."""
    seen: list[tuple[str, Any]] = []

    def listen(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def timed(work: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """One warm-up run, then `repeat` timed runs (seconds) and the last result."""
    result = work()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return times, result


def bench_people(engine: Engine) -> tuple[int, int, int]:
    """(largest agency id, its HR officer's id, the bench administrator's id)."""
    with Session(engine) as session:
        admin = session.exec(select(User).where(User.nip == ADMIN_NIP)).one()
        largest = (
            session.connection()
            .execute(
                text(
                    'SELECT agency_id FROM "user" GROUP BY agency_id '
                    "ORDER BY count(*) DESC, agency_id LIMIT 1"
                )
            )
            .scalar_one()
        )
        hr = session.exec(
            select(RoleGrant.user_id).where(RoleGrant.role == "hr", RoleGrant.agency_id == largest)
        ).first()
        assert admin.id is not None and hr is not None
        return largest, hr, admin.id


def report_cases(engine: Engine, hr_id: int) -> list[tuple[str, grants.Scope, str]]:
    """What the two report pages compute: the HR officer's own agency (no agency filter, so
    grouped by work unit, as their page opens), and the admin's national view by agency."""
    with Session(engine) as session:
        hr_scope = grants.hr_scope(session=session, user_id=hr_id)
    return [
        ("agency report: largest agency, HR scope, by unit", hr_scope, "unit"),
        ("national summary: admin scope, by agency", grants.Scope(everything=True), "agency"),
    ]


def measure_in_process(
    engine: Engine, settings: Settings, hr_id: int, repeat: int, explain: bool
) -> list[dict[str, Any]]:
    """`completion_report` as the report page calls it (three queries), and each of its
    queries alone; best and median of `repeat` runs after a warm-up."""
    course = courses_service.Catalogue(engine).get("berakhlak")
    assert course is not None
    tz, today = settings.tz, datetime.now(settings.tz).date()
    filters = queries.Filters(course_id=course.id)
    window = queries.Window.of(filters, tz, today)
    results = []
    for label, scope, group_by in report_cases(engine, hr_id):

        def whole(scope: grants.Scope = scope, group_by: str = group_by) -> Any:
            with engine.connect() as conn:
                return reports_service.completion_report(
                    conn=conn,
                    scope=scope,
                    filters=filters,
                    course=course.content,
                    group_by=group_by,
                    tz=tz,
                    today=today,
                )

        parts: dict[str, Callable[[], Any]] = {
            "group_counts": lambda scope=scope, group_by=group_by: _on(
                engine,
                lambda conn: queries.group_counts(
                    conn=conn, scope=scope, filters=filters, window=window, group_by=group_by
                ),
            ),
            "module_counts_by_group": lambda scope=scope, group_by=group_by: _on(
                engine,
                lambda conn: queries.module_counts_by_group(
                    conn=conn, scope=scope, filters=filters, window=window, group_by=group_by
                ),
            ),
            "completions_by_month": lambda scope=scope: _on(
                engine,
                lambda conn: queries.completions_by_month(
                    conn=conn, scope=scope, filters=filters, window=window, tz=tz
                ),
            ),
        }
        times, report = timed(whole, repeat)
        entry: dict[str, Any] = {
            "label": label,
            "times": times,
            "groups": len(report.groups),
            "people": report.total.people,
            "completed": report.total.completed,
            "overdue": report.total.overdue,
            "in_progress": report.total.in_progress,
            "not_started": report.total.not_started,
            "parts": {name: timed(work, repeat)[0] for name, work in parts.items()},
        }
        if explain:
            with captured(engine) as seen:
                whole()
            entry["plans"] = [explain_plan(engine, sql, params) for sql, params in seen]
        results.append(entry)
    return results


def _on(engine: Engine, work: Callable[[Any], Any]) -> Any:
    with engine.connect() as conn:
        return work(conn)


def explain_plan(engine: Engine, statement: str, parameters: Any) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite."""
    prefix = (
        "EXPLAIN (ANALYZE, BUFFERS) "
        if engine.dialect.name == "postgresql"
        else "EXPLAIN QUERY PLAN "
    )
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, parameters).fetchall()
    lines = [" | ".join(str(v) for v in row) for row in rows]
    return statement.strip() + "\n--\n" + "\n".join(lines)


def measure_http(
    url: str, env: dict[str, str], hr_id: int, admin_id: int, repeat: int
) -> list[dict[str, Any]]:
    """The report pages over HTTP from one uvicorn process (production settings): the HR
    officer's page (their agency, by unit) and the admin's (national, by agency)."""
    import httpx

    from app.security import SESSION_COOKIE

    engine = make_engine(url)
    with Session(engine) as session:
        tokens = {
            who: accounts_service.start_session(
                session=session, user=session.get(User, user_id), days=1
            )
            for who, user_id in (("hr", hr_id), ("admin", admin_id))
        }
    engine.dispose()
    pages = [
        ("agency report page (HR)", "hr", "/manage/reports?course=berakhlak"),
        ("national summary page (admin)", "admin", "/manage/reports?course=berakhlak"),
    ]
    port = _free_port()
    results = []
    with _server(port, env, "app.main:create_app"):
        for label, who, path in pages:
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}",
                cookies={SESSION_COOKIE: tokens[who]},
                timeout=300,
            ) as client:

                def get(client: httpx.Client = client, path: str = path) -> httpx.Response:
                    response = client.get(path)
                    assert response.status_code == 200, (path, response.status_code)
                    return response

                times, response = timed(get, repeat)
            results.append({"label": label, "times": times, "bytes": len(response.content)})
    return results


def _kib(field: str) -> int:
    """One memory field (`VmRSS`, `VmHWM`, …) of /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def export_worker(args: argparse.Namespace) -> None:
    """Run one queued export job to the end in this process (what the server's export thread
    does), then print its figures as JSON: the parent reads them, with this process's peak
    resident memory (VmHWM)."""
    settings = Settings(database_url=args.database_url)
    engine = make_engine(args.database_url)
    catalogue = courses_service.Catalogue(engine)
    catalogue.get("berakhlak")  # loaded before the baseline is taken, as in a server
    baseline = _kib("VmRSS")
    start = time.perf_counter()  # what the worker's `report.export` handler runs
    jobs.run(engine=engine, settings=settings, catalogue=catalogue, job_id=args.export_worker)
    seconds = time.perf_counter() - start
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, rows_done, file_size, error FROM report_job WHERE id = :id"),
            {"id": args.export_worker},
        ).one()
    print(
        json.dumps(
            {
                "status": row.status,
                "rows": row.rows_done,
                "bytes": row.file_size,
                "error": row.error,
                "seconds": seconds,
                "baseline_kib": baseline,
                "peak_kib": _kib("VmHWM"),
            }
        )
    )


def measure_exports(
    url: str, env: dict[str, str], hr_id: int, admin_id: int, kinds: list[str]
) -> list[dict[str, Any]]:
    """Each export as a job run in a fresh process (`--export-worker`): rows per second and
    that process's peak memory. The national people export covers everyone; the largest
    agency's (HR) shows whether memory grows with the size."""
    engine = make_engine(url)
    course_ids = ["berakhlak"]
    cases = []
    for spec in kinds:
        kind, fmt, who = spec.split(":")
        cases.append((kind, fmt, who, admin_id if who == "national" else hr_id))
    results = []
    for kind, fmt, who, user_id in cases:
        with Session(engine) as session:
            scope = grants.hr_scope(session=session, user_id=user_id)
            filters, _errors = reports_service.parse_filters(
                {"course": "berakhlak"}, course_ids, jp=kind == "jp"
            )
            window = queries.Window.of(filters, Settings().tz, date.today())
            rows = queries.count_people(
                conn=session.connection(), scope=scope, filters=filters, window=window
            )
            job = jobs.create(
                session=session,
                user_id=user_id,
                kind=kind,
                fmt=fmt,
                filters=filters,
                year=date.today().year,
                locale="id",
                rows=rows,
            )
            session.commit()
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        out = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--database-url",
                url,
                "--export-worker",
                job.id,
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        assert figures["status"] == "done", figures
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        figures.update(kind=kind, fmt=fmt, who=who, children_maxrss_kib=max(before, after))
        results.append(figures)
    engine.dispose()
    return results


def _ms(values: list[float]) -> str:
    return f"{min(values) * 1000:,.0f} / {statistics.median(values) * 1000:,.0f}"


def print_measurements(
    database: str,
    in_process: list[dict[str, Any]],
    http: list[dict[str, Any]],
    exported: list[dict[str, Any]],
    repeat: int,
) -> None:
    print(f"\n## {database}: reports (best / median of {repeat} runs after a warm-up, ms)\n")
    print(
        "| report | whole (3 queries) | group_counts | module_counts_by_group "
        "| completions_by_month "
        "| groups | people | completed | overdue | in progress | not started |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in in_process:
        p = r["parts"]
        print(
            f"| {r['label']} | **{_ms(r['times'])}** | {_ms(p['group_counts'])} | "
            f"{_ms(p['module_counts_by_group'])} | {_ms(p['completions_by_month'])} | "
            f"{r['groups']} | {r['people']:,} | {r['completed']:,} | {r['overdue']:,} | "
            f"{r['in_progress']:,} | {r['not_started']:,} |"
        )
    if http:
        print("\n| page over HTTP (one uvicorn process) | best / median ms | bytes |")
        print("|---|---|---|")
        for r in http:
            print(f"| {r['label']} | **{_ms(r['times'])}** | {r['bytes']:,} |")
    if exported:
        print(
            "\n| export (job in its own process) | rows | seconds | rows/s | file | "
            "memory before / peak (VmHWM) |"
        )
        print("|---|---|---|---|---|---|")
        for r in exported:
            print(
                f"| {r['kind']} {r['fmt']}, {r['who']} | {r['rows']:,} | {r['seconds']:.1f} | "
                f"**{r['rows'] / r['seconds']:,.0f}** | {r['bytes'] / 2**20:,.0f} MiB | "
                f"{r['baseline_kib'] / 1024:,.0f} / **{r['peak_kib'] / 1024:,.0f} MiB** |"
            )
    for r in in_process:
        for plan in r.get("plans", []):
            print(f"\n### plan: {r['label']}\n\n```\n{plan}\n```")


def measure(args: argparse.Namespace) -> None:
    url = args.database_url
    engine = make_engine(url)
    largest, hr_id, admin_id = bench_people(engine)
    settings = Settings(database_url=url)
    database = "PostgreSQL" if engine.dialect.name == "postgresql" else "SQLite"
    print(f"\nmeasuring on {database}: largest agency id {largest}, HR user {hr_id}")
    # The machine is shared: the load shows whether the figures were taken on a quiet one.
    print("load average before: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    in_process = measure_in_process(engine, settings, hr_id, args.repeat, args.explain)
    engine.dispose()
    work = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    env = {
        **os.environ,
        "BERAKHLAK_DATABASE_URL": url,
        "BERAKHLAK_ENVIRONMENT": "production",
        "BERAKHLAK_SECRET_KEY": "r" * 48,
        "BERAKHLAK_EXPORT_DIR": str(work / "exports"),
        "BERAKHLAK_CERTIFICATE_CACHE_DIR": str(work / "pdf"),
    }
    try:
        http = [] if args.skip_http else measure_http(url, env, hr_id, admin_id, args.repeat)
        exported = measure_exports(url, env, hr_id, admin_id, args.exports) if args.exports else []
    finally:  # the export files (170 MiB for a million people) are not kept
        shutil.rmtree(work, ignore_errors=True)
    print("load average after: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    print_measurements(database, in_process, http, exported, args.repeat)


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--learners", type=int, default=1_000_000)
    parser.add_argument("--agencies", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--assessment-fraction",
        type=float,
        default=0.1,
        help="share of learners whose self-assessment attempts and answers are generated "
        "(21 answers per attempt; 1.0 adds about 16 million rows at a million learners)",
    )
    parser.add_argument("--with-lessons", action="store_true", help="generate lesson_progress")
    parser.add_argument("--today", default="", help="YYYY-MM-DD the population ends on")
    parser.add_argument("--reuse", action="store_true", help="keep a matching population")
    parser.add_argument(
        "--check", action="store_true", help="enforce foreign keys during the load (slower)"
    )
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each report")
    parser.add_argument("--explain", action="store_true", help="print the reports' query plans")
    parser.add_argument("--skip-http", action="store_true", help="no uvicorn measurements")
    parser.add_argument(
        "--exports",
        nargs="*",
        default=[
            "people:csv:national",
            "people:csv:agency",
            "siasn:csv:national",
            "people:xlsx:agency",
        ],
        help="exports to time, as KIND:FORMAT:national|agency (none: skip)",
    )
    parser.add_argument("--export-worker", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 0 <= args.assessment_fraction <= 1:
        parser.error("--assessment-fraction must lie between 0 and 1")
    if args.learners < args.agencies:
        parser.error("--learners must be at least --agencies")
    return args


def main() -> None:
    args = parse_args()
    if args.export_worker:
        export_worker(args)
        return
    os.environ.setdefault("BERAKHLAK_DATABASE_URL", args.database_url)
    settings = Settings(database_url=args.database_url)
    engine = make_engine(args.database_url)
    found = existing_population(engine, args) if args.reuse else None
    engine.dispose()
    if found:
        print(f"reusing the population in the database ({found})")
        upgrade_reused(args.database_url)
    else:
        generate(args, settings)
    engine = make_engine(args.database_url)
    report_population(engine)
    engine.dispose()
    if not args.generate_only:
        measure(args)


if __name__ == "__main__":
    main()
