"""The composition root: builds the app (and the worker) from settings and wires every module
in: routers, background jobs, the identity provider, the personal-data download, start-up."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from sqlalchemy import text
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.middleware.gzip import GZipMiddleware

from app import (
    errors,
    health,
    i18n,
    jobs,
    mail,
    migrate,
    observability,
    offline,
    privacy,
    ratelimit,
)
from app.db import make_engine
from app.forms import csrf_protect
from app.guard import Guard
from app.middleware import PlatformMiddleware
from app.settings import Settings
from app.static import MemoryStatic
from app.templating import STATIC_DIR, ShellCache, make_environment
from modules.accounts import erasure as accounts_erasure
from modules.accounts import jobs as accounts_jobs
from modules.accounts import service as accounts_service
from modules.accounts.dependencies import AccountsIdentity
from modules.accounts.roster_file import MAX_BYTES as ROSTER_MAX_BYTES
from modules.accounts.router import router as accounts_router
from modules.accounts.router_admin import router as accounts_admin_router
from modules.accounts.router_disputes import router as accounts_disputes_router
from modules.accounts.router_erasure import router as accounts_erasure_router
from modules.accounts.router_invitations import router as accounts_invitations_router
from modules.accounts.router_roster import router as accounts_roster_router
from modules.accounts.router_tokens import router as accounts_tokens_router
from modules.agencies import service as agencies_service
from modules.agencies.router import router as agencies_router
from modules.audit import jobs as audit_jobs
from modules.audit import service as audit_service
from modules.audit.router import router as audit_router
from modules.authoring import jobs as authoring_jobs
from modules.authoring.router import router as authoring_router
from modules.certificates import jobs as certificates_jobs
from modules.certificates import keys as certificates_keys
from modules.certificates import service as certificates_service
from modules.certificates.router import router as certificates_router
from modules.certificates.router_manage import router as certificates_manage_router
from modules.courses import service as courses_service
from modules.courses.router import router as courses_router
from modules.learning import jobs as learning_jobs
from modules.learning.router import router as learning_router
from modules.learning.router_plan import router as learning_plan_router
from modules.operations.router import router as operations_router
from modules.plans import jobs as plans_jobs
from modules.plans import service as plans_service
from modules.plans.router import router as plans_router
from modules.progress import service as progress_service
from modules.progress.router_assign import router as assign_router
from modules.quizzes import service as quizzes_service
from modules.quizzes.router import router as quizzes_router
from modules.reports import jobs as reports_jobs
from modules.reports import service as reports_service
from modules.reports import siasn as reports_siasn
from modules.reports.router import router as reports_router
from modules.reports.router_api import router as reports_api_router

log = logging.getLogger("berakhlak")


def build_state(settings: Settings) -> SimpleNamespace:
    """What requests and jobs share: settings, the database engine, the course catalogue and
    the certificate policy (the web app copies it onto `app.state`; the worker uses it as is)."""
    reports_siasn.check_settings(settings)
    engine = make_engine(settings.database_url, settings.db_limits)
    return SimpleNamespace(
        settings=settings,
        engine=engine,
        catalogue=courses_service.Catalogue(engine),
        certificate_policy=certificates_service.policy_from(settings),
    )


# Each module's part of an erasure (UU 27/2022 Pasal 43; docs/privacy.md, "Erasure"), run in
# this order by one job, with the tables it handles (deletes, minimises or keeps on purpose):
# tests/app/test_personal_data.py fails when a table of the data download is in none.
ERASURE: list[tuple[str, Any, tuple[str, ...]]] = [
    ("quizzes", quizzes_service.erase_for, quizzes_service.PERSONAL_TABLES),
    ("learning", progress_service.erase_for, progress_service.PERSONAL_TABLES),
    ("plans", plans_service.erase_for, plans_service.PERSONAL_TABLES),
    ("certificates", certificates_service.erase_for, certificates_service.PERSONAL_TABLES),
    ("mail", mail.erase_for, mail.PERSONAL_TABLES),
    # the audit trail is kept, the record of who accessed the person's data: without details
    (
        "audit",
        lambda *, session, user_id: _audit_minimised(session, user_id),
        audit_service.PERSONAL_TABLES,
    ),
]


def _audit_minimised(session: Session, user_id: int) -> None:
    nip = accounts_service.get(session=session, user_id=user_id).nip
    numbers = [c.number for c in certificates_service.for_user(session=session, user_id=user_id)]
    audit_service.minimise(session=session, nip=nip, certificates=numbers)


def _erase(ctx: jobs.JobContext) -> None:
    """Carry out an approved erasure: every module's part, then the account, in one
    transaction (all of it lands, or the job is retried)."""
    request_id = int(ctx.payload["request"])
    entry = ctx.session.get(accounts_erasure.ErasureRequest, request_id)
    if entry is None or entry.status != accounts_erasure.APPROVED:
        return
    settings = ctx.state.settings
    codes = [
        c.code for c in certificates_service.for_user(session=ctx.session, user_id=entry.user_id)
    ]
    for _name, erase, _tables in ERASURE:
        erase(session=ctx.session, user_id=entry.user_id)
    reports_service.erase_for(
        session=ctx.session, user_id=entry.user_id, export_dir=settings.export_dir
    )
    accounts_erasure.erase_account(session=ctx.session, settings=settings, request_id=request_id)
    # the cached PDFs bear the name (a new one, without it, is made if asked for)
    certificates_service.forget_pdfs(cache_dir=settings.certificate_cache_dir, codes=codes)


def _release_erased(ctx: jobs.JobContext) -> None:
    """The NIPs of erased people leave the kept records after BERAKHLAK_ERASURE_KEEP_YEARS."""
    years = ctx.state.settings.erasure_keep_years
    certificates_service.release_erased(session=ctx.session, keep_years=years)
    accounts_erasure.release_nips(session=ctx.session, keep_years=years)


ERASURE_TABLES = {
    *(t for _n, _f, tables in ERASURE for t in tables),
    *reports_service.PERSONAL_TABLES,
    *accounts_service.PERSONAL_TABLES,
}
ERASURE_HANDLERS = {
    accounts_erasure.ERASE_JOB: jobs.Handler(_erase),
    "erasure.release": jobs.Handler(_release_erased),
}
ERASURE_SCHEDULES = [jobs.Schedule("erasure.release", timedelta(days=1), "erasure.release")]


def job_registry() -> jobs.Registry:
    """Every kind of background job, and every schedule, of every module."""
    registry = jobs.Registry()
    registry.add(jobs.HANDLERS, jobs.SCHEDULES)
    registry.add(mail.HANDLERS, mail.SCHEDULES)
    registry.add(ratelimit.HANDLERS, ratelimit.SCHEDULES)
    registry.add(accounts_jobs.HANDLERS, accounts_jobs.SCHEDULES)
    registry.add(audit_jobs.HANDLERS, audit_jobs.SCHEDULES)
    registry.add(authoring_jobs.HANDLERS, authoring_jobs.SCHEDULES)
    registry.add(certificates_jobs.HANDLERS)
    registry.add(learning_jobs.HANDLERS, learning_jobs.SCHEDULES)
    registry.add(plans_jobs.HANDLERS, plans_jobs.SCHEDULES)
    registry.add(reports_jobs.HANDLERS, reports_jobs.SCHEDULES)
    registry.add(ERASURE_HANDLERS, ERASURE_SCHEDULES)
    return registry


def make_worker(state: SimpleNamespace, name: str | None = None) -> jobs.Worker:
    """A worker for the jobs of every module, with the settings' lease and poll interval."""
    settings = state.settings
    return jobs.Worker(
        state.engine,
        job_registry(),
        state,
        lease=timedelta(seconds=settings.job_lease_seconds),
        poll_seconds=settings.worker_poll_seconds,
        name=name,
    )


def prepare(settings: Settings, *, migrate_schema: bool = True) -> None:
    """What an installation needs before it serves: the schema upgraded (or, with
    `migrate_schema=False`, checked to be current), reference agencies, the content synced (a
    new live version enqueues its re-evaluation), a signing key. Instances starting together
    take turns (`migrate.exclusive`)."""
    engine = make_engine(settings.database_url, settings.db_limits)
    try:
        with migrate.exclusive(engine):
            if migrate_schema:
                migrate.upgrade(engine)
            else:
                migrate.check_current(engine)
            with Session(engine) as session:
                agencies_service.seed_reference(session=session)
            courses_service.sync_content(engine=engine, root=settings.content_dir)
            with Session(engine) as session:
                certificates_keys.ensure(session=session, secret=settings.secret_key)
    finally:
        engine.dispose()


# Each module's part of a person's data download (UU 27/2022), in the document's order, with the
# tables it covers: tests/app/test_personal_data.py fails when a table holding a person's id is
# in none (or in NOT_PERSONAL, with the reason).
def _by_id(section: Any) -> Any:
    """A section that needs only the person's id."""
    return lambda *, session, user_id, nip: section(session=session, user_id=user_id)


def _certificates_section(*, session: Session, user_id: int, nip: str) -> Any:
    since = accounts_service.held_since(session=session, user_id=user_id)
    return certificates_service.export_for(session=session, user_id=user_id, since=since)


def _mail_section(*, session: Session, user_id: int, nip: str) -> Any:
    since = accounts_service.held_since(session=session, user_id=user_id)
    return mail.export_for(session=session, user_id=user_id, since=since)


def _audit_section(*, session: Session, user_id: int, nip: str) -> Any:
    """What the person did and every event about them or their certificates, with who."""
    numbers = [c.number for c in certificates_service.for_user(session=session, user_id=user_id)]
    return audit_service.export_for(
        session=session,
        user_id=user_id,
        nip=nip,
        certificates=numbers,
        since=accounts_service.held_since(session=session, user_id=user_id),
        names=lambda ids: accounts_service.names(session=session, user_ids=ids),
        placements=accounts_service.placements(session=session, user_id=user_id),
    )


PERSONAL_DATA: list[tuple[str, Any, tuple[str, ...]]] = [
    ("account", _by_id(accounts_service.export_profile), accounts_service.PERSONAL_TABLES),
    ("learning", _by_id(progress_service.export_for), progress_service.PERSONAL_TABLES),
    ("quizzes", _by_id(quizzes_service.export_for), quizzes_service.PERSONAL_TABLES),
    ("plans", _by_id(plans_service.export_for), plans_service.PERSONAL_TABLES),
    ("certificates", _certificates_section, certificates_service.PERSONAL_TABLES),
    ("exports", _by_id(reports_service.export_for), reports_service.PERSONAL_TABLES),
    ("mail", _mail_section, mail.PERSONAL_TABLES),
    ("audit", _audit_section, audit_service.PERSONAL_TABLES),
]
NOT_PERSONAL = {
    # the outbox's bookkeeping: its payloads repeat what the sections above show (a mail's id,
    # a certificate owed), and finished jobs are deleted after BERAKHLAK_JOB_KEEP_DAYS
    "job": "queue bookkeeping, deleted after BERAKHLAK_JOB_KEEP_DAYS",
    # a trainer's work on a course, not about them: who published or edited is in the audit
    # section (course.publish, course.edit); the rows stay with the course's history
    "publication": "a course's history of live versions; who is in the audit section",
    "course_draft": "a course's working copy; who edited it is in the audit section",
}


# What the OpenAPI document (/api/openapi.json) describes: the JSON API and the public JSON
# endpoints; pages (HTML, forms, downloads for a logged-in person) are left out and get their
# own fuzzing (tests/app/test_openapi.py).
OPENAPI_PATHS = frozenset(
    {
        "/api/v1/reports/completion",
        "/api/v1/reports/people",
        "/api/v1/reports/jp",
        "/api/v1/reports/self-assessment",
        "/api/v1/credentials/verify",
        "/api/unsubscribe/{token}",
        "/.well-known/jwks.json",
        "/keys/{kid}",
        "/issuer",
        "/credentials/status/{list_id}",
        "/healthz",
        "/livez",
        "/readyz",
    }
)


PROBLEM_SCHEMA = {
    "title": "Problem",
    "description": "RFC 9457 problem details.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with every error as it is answered: problem+json (RFC 9457) for
    every 4xx and 5xx; 400 and 413 where a body is read (one that is not JSON, one too
    large); 503 everywhere (the overload guard; a readiness probe whose database does not
    answer says so in its own JSON)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = FastAPI.openapi(app)
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            answers = operation["responses"]
            if "requestBody" in operation:
                answers.setdefault("400", {"description": "A body that cannot be read."})
                answers.setdefault("413", {"description": "A body larger than allowed."})
            answers.setdefault("503", {"description": "Busy, or not ready: retry later."})
            for code, answer in answers.items():
                if code[0] in "45":
                    answer["content"] = dict(_PROBLEM)
            if path in ("/readyz", "/healthz"):
                answers["503"]["content"] |= {"application/json": {}}
    app.openapi_schema = schema
    return schema


def _only_the_api_in_the_schema(routes: Any) -> None:
    """Leave every route out of the OpenAPI document but those of OPENAPI_PATHS (routers
    included into the app keep their own routes: walked too)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            _only_the_api_in_the_schema(inner.routes)
        elif hasattr(route, "include_in_schema"):
            route.include_in_schema = route.path in OPENAPI_PATHS


def _worker_lifespan(settings: Settings) -> Any:
    """With `worker_in_process`, each server process runs a worker thread from start-up to
    shut-down (never started by a request)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # every request the guard admits finds a thread, with a few to spare for the
        # readiness probe
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = settings.max_concurrent_requests + 8
        stop = threading.Event()
        thread = None
        if settings.runs_worker_in_process:
            state = SimpleNamespace(
                settings=settings,
                engine=app.state.engine,
                catalogue=app.state.catalogue,
                certificate_policy=app.state.certificate_policy,
            )
            worker = make_worker(state)
            thread = threading.Thread(
                target=worker.run_forever, args=(stop,), name="worker", daemon=True
            )
            thread.start()
        try:
            yield
        finally:
            stop.set()
            jobs.wake()
            if thread is not None:
                thread.join(timeout=30)

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application. Nothing touches the database or environment before this call."""
    settings = settings or Settings()
    observability.redact_access_log()
    # No Swagger UI: it loads scripts from a CDN, which the CSP (and weak links) rule out.
    app = FastAPI(
        title="BerAKHLAK",
        version="0.1.0",
        dependencies=[Depends(csrf_protect)],
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_worker_lifespan(settings),
    )
    for name, value in vars(build_state(settings)).items():
        setattr(app.state, name, value)
    app.state.templates = make_environment()
    app.state.shells = ShellCache()
    app.state.identity = AccountsIdentity()
    app.state.personal_data = PERSONAL_DATA
    app.state.privacy_version = privacy.version(settings)
    if settings.environment == "production" and not settings.privacy_contact:
        log.warning(
            "BERAKHLAK_PRIVACY_CONTACT is empty: the privacy notice names no one to ask "
            "(UU 27/2022 Pasal 21); set it to the data protection officer's address"
        )
    i18n.load_catalogues()
    i18n.set_timezone(settings.tz)
    errors.install(app)

    for router in (
        accounts_router,
        accounts_admin_router,
        accounts_roster_router,
        accounts_invitations_router,
        accounts_disputes_router,
        accounts_erasure_router,
        accounts_tokens_router,
        audit_router,
        authoring_router,
        agencies_router,
        learning_router,
        learning_plan_router,
        plans_router,
        courses_router,
        quizzes_router,
        certificates_router,
        certificates_manage_router,
        reports_router,
        assign_router,
        reports_api_router,
        operations_router,
        offline.router,
    ):
        app.include_router(router)
    app.mount("/static", MemoryStatic(STATIC_DIR), name="static")
    health.install(app, probe=_probe)
    _install_metrics(app, settings)
    _only_the_api_in_the_schema(app.routes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=6)
    app.add_middleware(
        PlatformMiddleware,
        max_body_bytes=settings.max_body_bytes,
        secure_cookies=settings.secure_cookies,
        # a roster file, a course archive or a question bank may be larger than a form; the
        # form around it adds a little
        upload_limits={
            "/manage/roster": ROSTER_MAX_BYTES + 100_000,
            "/author/courses/[a-z0-9-]+/(upload|import)": settings.upload_max_bytes + 100_000,
        },
    )
    pool = app.state.engine.pool
    app.add_middleware(observability.Observe, in_use=lambda: pool.checkedout())
    # outermost: a request refused for overload costs nothing else
    app.add_middleware(
        Guard,
        limit=settings.max_concurrent_requests,
        reserved=settings.reserved_for_answers,
        timeout=settings.request_timeout_seconds,
    )
    return app


def _install_metrics(app: FastAPI, settings: Settings) -> None:
    """`/metrics` for Prometheus: every process's metrics and the queue's counts, for the
    addresses and token of the settings only (anyone else: not found)."""
    allow = [a.strip() for a in settings.metrics_allow.split(",") if a.strip()]

    @app.get("/metrics", include_in_schema=False)
    async def metrics_page(request: Request) -> Response:
        if not observability.allowed(request.scope, allow, settings.metrics_token):
            raise HTTPException(404)
        engine = request.app.state.engine

        def counts() -> dict[str, dict[str, int]]:
            try:
                with engine.connect() as conn:
                    return {"jobs": jobs.counts(conn), "mail": mail.counts(conn)}
            except Exception:  # noqa: BLE001 - the database may be the thing that is down
                return {}

        body, kind = await asyncio.wait_for(
            run_in_threadpool(observability.render, counts), health.TIME_BOX
        )
        return Response(body, media_type=kind, headers={"Cache-Control": "no-store"})


def _probe(state: Any) -> dict[str, Any]:
    """What readiness and /healthz report (run in a thread, time-boxed by app/health.py)."""
    with Session(state.engine) as session:
        session.connection().execute(text("SELECT 1"))
        content = courses_service.content_health(session=session)
        queue = jobs.health(session.connection())
        mails = mail.health(session.connection())
    broken = [c["folder"] for c in content if c["status"] != "ok" or not c["serving"]]
    exports = health.writable(state.settings.export_dir)
    issuance_log = health.appendable(state.settings.issuance_log)
    degraded = bool(broken) or queue["stalled"] or mails["slow"] or not exports or not issuance_log
    return {
        "status": "degraded" if degraded else "ok",
        "database": "ok",
        "content": content,
        "jobs": queue,
        "mail": mails,
        "exports": "ok" if exports else "not writable",
        "issuance_log": "ok" if issuance_log else "not writable",
    }
