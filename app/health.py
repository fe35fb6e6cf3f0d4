"""Liveness and readiness, answered within a bounded time whatever the database does.

- `GET /livez`: the process runs and its event loop answers (no database): restart it if not.
- `GET /readyz`: it can serve: the database answers. 200 with `"status": "ok"` or
  `"degraded"` (it serves, but something needs an operator: a broken course folder, jobs
  waiting too long for a worker, an export folder or an issuance log that cannot be written);
  503 when the
  database does not answer within the time box.
- `GET /healthz`: the same document (kept for what already polls it).

The probe runs in a thread, time-boxed, and its answer is kept for a second or two, so a load
balancer polling every process often costs the database little."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

log = logging.getLogger("berakhlak.health")
TIME_BOX = 2.0  # seconds the probe may take before the answer is 503
KEEP = 2.0  # seconds an answer is reused


def writable(folder: Path) -> bool:
    """Whether files can be written in `folder` (made when missing)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def appendable(file: Path) -> bool:
    """Whether lines can be appended to `file` (its folder made when missing)."""
    if file.exists():
        return os.access(file, os.W_OK)
    return writable(file.parent)


def install(app: FastAPI, *, probe: Callable[[Any], dict[str, Any]]) -> None:
    """Add /livez, /readyz and /healthz; `probe(app.state)` gathers the readiness document."""
    cache: dict[str, Any] = {"at": 0.0, "body": None, "status": 503}
    lock = asyncio.Lock()

    async def ready(request: Request) -> JSONResponse:
        async with lock:  # one probe at a time; the others reuse its answer
            if time.monotonic() - cache["at"] > KEEP:
                try:
                    body = await asyncio.wait_for(
                        run_in_threadpool(probe, request.app.state), TIME_BOX
                    )
                    cache["status"] = 200
                except Exception as exc:  # noqa: BLE001 - a probe reports, never raises
                    log.warning("readiness: database not answering: %r", exc)
                    body = {"status": "unavailable", "database": "unreachable"}
                    cache["status"] = 503
                cache.update(at=time.monotonic(), body=body)
        return JSONResponse(
            cache["body"], status_code=cache["status"], headers={"Cache-Control": "no-store"}
        )

    @app.get("/livez", tags=["operations"])
    async def livez() -> JSONResponse:
        """The process answers (nothing else is asked)."""
        return JSONResponse({"status": "alive"}, headers={"Cache-Control": "no-store"})

    @app.get("/readyz", tags=["operations"])
    async def readyz(request: Request) -> JSONResponse:
        """Whether this process can serve: the database answers within two seconds."""
        return await ready(request)

    @app.get("/healthz", tags=["operations"])
    async def healthz(request: Request) -> JSONResponse:
        """The readiness document: database, content versions served, jobs, export folder."""
        return await ready(request)
