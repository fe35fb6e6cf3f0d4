"""The composition root: builds the app from settings and wires every module in."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlmodel import Session
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from app import errors, i18n
from app.db import make_engine
from app.forms import csrf_protect
from app.middleware import PlatformMiddleware
from app.settings import Settings
from app.templating import STATIC_DIR, ShellCache, make_environment
from modules.accounts.roster_file import MAX_BYTES as ROSTER_MAX_BYTES
from modules.accounts.router import router as accounts_router
from modules.accounts.router_admin import router as accounts_admin_router
from modules.accounts.router_roster import router as accounts_roster_router
from modules.accounts.router_tokens import router as accounts_tokens_router
from modules.agencies.router import router as agencies_router
from modules.audit.router import router as audit_router
from modules.certificates import service as certificates_service
from modules.certificates.router import router as certificates_router
from modules.certificates.router_manage import router as certificates_manage_router
from modules.courses import service as courses_service
from modules.courses.router import router as courses_router
from modules.progress.router import router as progress_router
from modules.progress.router_assign import router as assign_router
from modules.quizzes.router import router as quizzes_router
from modules.reports.router import router as reports_router
from modules.reports.router_api import router as reports_api_router

log = logging.getLogger("berakhlak")


class CachedStatic(StaticFiles):
    """Static files; versioned URLs (`?v=hash`) may be cached for a year."""

    async def get_response(self, path: str, scope: Scope) -> Any:
        response = await super().get_response(path, scope)
        if b"v=" in scope.get("query_string", b""):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application. Nothing touches the database or environment before this call."""
    settings = settings or Settings()
    # No Swagger UI: it loads scripts from a CDN, which the CSP (and weak links) rule out.
    app = FastAPI(
        title="BerAKHLAK",
        version="0.1.0",
        dependencies=[Depends(csrf_protect)],
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.templates = make_environment()
    app.state.shells = ShellCache()
    app.state.catalogue = courses_service.Catalogue(app.state.engine)
    app.state.certificate_policy = certificates_service.policy_from(settings)
    i18n.load_catalogues()
    i18n.set_timezone(settings.tz)
    errors.install(app)

    app.include_router(accounts_router)
    app.include_router(accounts_admin_router)
    app.include_router(accounts_roster_router)
    app.include_router(accounts_tokens_router)
    app.include_router(audit_router)
    app.include_router(agencies_router)
    app.include_router(courses_router)
    app.include_router(progress_router)
    app.include_router(quizzes_router)
    app.include_router(certificates_router)
    app.include_router(certificates_manage_router)
    app.include_router(reports_router)
    app.include_router(assign_router)
    app.include_router(reports_api_router)
    app.mount("/static", CachedStatic(directory=STATIC_DIR, check_dir=False), name="static")

    @app.get("/healthz", tags=["operations"])
    def healthz(request: Request) -> JSONResponse:
        """Database reachability and the content version each course is served at."""
        try:
            with Session(request.app.state.engine) as session:
                session.exec(text("SELECT 1"))  # type: ignore[call-overload]
                content = courses_service.content_health(session=session)
            database = "ok"
        except Exception as exc:  # noqa: BLE001 - the health check reports, never raises
            log.warning("health check: database unreachable: %s", exc)
            database, content = "unreachable", []
        ok = database == "ok" and all(c["serving"] for c in content)
        body = {"status": "ok" if ok else "degraded", "database": database, "content": content}
        return JSONResponse(
            body,
            status_code=200 if database == "ok" else 503,
            headers={"Cache-Control": "no-store"},
        )

    app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=6)
    app.add_middleware(
        PlatformMiddleware,
        max_body_bytes=settings.max_body_bytes,
        secure_cookies=settings.secure_cookies,
        # a roster file may be larger than a form; the form around it adds a little
        upload_limits={"/manage/roster": ROSTER_MAX_BYTES + 100_000},
    )
    return app
