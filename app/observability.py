"""What operators see: a request id in every log line and response, logs as text or JSON, and
Prometheus metrics.

Metrics are labelled by route template (`/attempts/{attempt_id}`), never by raw path. With
several server processes (`BERAKHLAK_WORKERS`) they are kept in prometheus-client's
multiprocess mode, in `BERAKHLAK_METRICS_DIR`, and `/metrics` sums every process. `/metrics` is
not public: it answers the addresses of `BERAKHLAK_METRICS_ALLOW` (loopback by default) and,
when `BERAKHLAK_METRICS_TOKEN` is set, requests carrying it as a bearer token."""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import time
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: ContextVar[str] = ContextVar("request_id", default="-")
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

# ---- logs ------------------------------------------------------------------------------------


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request id, message (and the error)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(fmt: str = "text", level: int = logging.INFO) -> None:
    """Log to stderr, each line with the request id, as text or JSON (`BERAKHLAK_LOG_FORMAT`)."""
    handler = logging.StreamHandler()
    handler.addFilter(_RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(levelname)s %(name)s [%(request_id)s]: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


# ---- access logs without personal data ------------------------------------------------------

# Paths whose last part is a secret or names a person: a mailed link's token, a certificate's
# code (its page shows the holder's name), an unsubscribe token.
_SECRET_PATHS = re.compile(
    r"^(/(?:reset-password|verify-email|confirm-email|claim|unsubscribe|api/unsubscribe"
    r"|nip-dispute/confirm|plans/confirm|verify|certificates|manage/certificates|keys)/)[^/?]+"
)
_QUERY_KEY = secrets.token_bytes(32)  # per process: a searched NIP cannot be found offline


def loggable_path(path: str) -> str:
    """A request target as access logs keep it: the query string (a NIP or an email typed into
    a search, a filter) replaced by a short hash, so repeated requests still match up, and the
    secret part of a link's path replaced by `…`."""
    target, question, query = path.partition("?")
    target = _SECRET_PATHS.sub(r"\1…", target)
    if question:
        # keyed, so the hash of a searched NIP or email cannot be recomputed from the log (a
        # NIP has few enough likely values to try them all); repeats within a process match
        digest = hmac.new(_QUERY_KEY, query.encode("utf-8", "replace"), "sha256").hexdigest()
        target += f"?#{digest[:10]}"
    return target


class AccessLogFilter(logging.Filter):
    """Rewrites uvicorn's access-log records (client, method, path, version, status) so the
    path goes through `loggable_path`."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], loggable_path(args[2]), args[3], args[4])
        return True


def redact_access_log() -> None:
    """Put the filter on uvicorn's access logger (once per process: each server process
    builds its app, after uvicorn configured its logging)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogFilter) for f in access.filters):
        access.addFilter(AccessLogFilter())


# ---- metrics ---------------------------------------------------------------------------------

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class Metrics:
    folder: str | None  # the multiprocess folder they are kept in; None: this process's memory
    requests: Counter
    duration: Histogram
    shed: Counter
    timed_out: Counter
    jobs_run: Counter
    connections: Gauge


_metrics: Metrics | None = None


def metrics() -> Metrics:
    """The process's metrics, made on first use. Whether they are kept in the multiprocess
    folder is decided then, by `PROMETHEUS_MULTIPROC_DIR` at that moment (prometheus-client
    itself decides once, when it is imported, which may be before the CLI has set it)."""
    global _metrics
    if _metrics is None:
        values.ValueClass = values.get_value_class()
        multiprocess = values.ValueClass is not values.MutexValue
        _metrics = Metrics(
            folder=os.environ.get(MULTIPROCESS_ENV) if multiprocess else None,
            requests=Counter(
                "berakhlak_http_requests_total",
                "Requests answered, by method, route template and status.",
                ["method", "route", "status"],
            ),
            duration=Histogram(
                "berakhlak_http_request_duration_seconds",
                "Time to answer a request, by method and route template.",
                ["method", "route"],
                buckets=_BUCKETS,
            ),
            shed=Counter("berakhlak_http_shed_total", "Requests refused with 503 for overload."),
            timed_out=Counter(
                "berakhlak_http_timeouts_total", "Requests answered 503 after the request timeout."
            ),
            jobs_run=Counter(
                "berakhlak_jobs_run_total",
                "Background jobs run, by kind and outcome (done, retry, dead, lease_lost).",
                ["kind", "outcome"],
            ),
            connections=Gauge(
                "berakhlak_db_connections_in_use",
                "Database connections checked out of the pools.",
                multiprocess_mode="livesum",
            ),
        )
    return _metrics


class _QueueCollector:
    """Job and mail counts, read from the database when /metrics is scraped (two small
    queries)."""

    FAMILIES = {"jobs": "Background jobs by state.", "mail": "Outgoing mail by state."}

    def __init__(self, counts: Any) -> None:
        self.counts = counts

    def collect(self) -> Any:
        found = self.counts()
        for name, help_text in self.FAMILIES.items():
            family = GaugeMetricFamily(f"berakhlak_{name}", help_text, labels=["status"])
            for status, count in found.get(name, {}).items():
                family.add_metric([status], count)
            yield family


def render(counts: Any) -> tuple[bytes, str]:
    """The exposition text: every process's metrics (this one's alone without the
    multiprocess folder), and the counts of jobs and mail."""
    folder = metrics().folder  # made even before the first request: a scrape always lists them
    if folder:
        from prometheus_client import multiprocess

        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes, path=folder)
        text = generate_latest(processes)
    else:
        text = generate_latest(REGISTRY)
    queue = CollectorRegistry()
    queue.register(_QueueCollector(counts))
    return text + generate_latest(queue), CONTENT_TYPE_LATEST


def allowed(scope: Scope, allow: list[str], token: str) -> bool:
    """Whether a scrape may read /metrics: a listed address, or the bearer token."""
    client = (scope.get("client") or ("", 0))[0]
    try:
        address = ipaddress.ip_address(client)
        if any(address in ipaddress.ip_network(net, strict=False) for net in allow):
            return True
    except ValueError:
        pass
    if token:
        sent = dict(scope.get("headers") or []).get(b"authorization", b"").decode()
        return hmac.compare_digest(sent, f"Bearer {token}")
    return False


def use_folder(folder: Path, *, fresh: bool) -> None:
    """Keep this machine's metrics in `folder`, shared by every server and worker process of
    the machine (each writes its own files). `serve` (`fresh`) first removes the files of
    processes that are gone (a restart), never those of the others still running."""
    folder.mkdir(parents=True, exist_ok=True)
    if fresh:
        for file in folder.glob("*.db"):
            pid = file.stem.rsplit("_", 1)[-1]
            if pid.isdigit() and not _alive(int(pid)):
                file.unlink(missing_ok=True)
    os.environ[MULTIPROCESS_ENV] = str(folder)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


# ---- the middleware --------------------------------------------------------------------------


class Observe:
    """Gives each request an id (an incoming `X-Request-ID` that looks like one, else a new
    one), answers it in `X-Request-ID`, and records the request's metrics."""

    def __init__(self, app: ASGIApp, in_use: Any = lambda: 0) -> None:
        self.app = app
        self.in_use = in_use  # the pool's connections checked out (read after each request)
        # the labelled children, looked up once each (labels() costs more than the increment)
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ""
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                incoming = value.decode("latin-1")
                rid = incoming if _INCOMING_ID.match(incoming) else ""
                break
        rid = rid or secrets.token_hex(8)
        token = request_id.set(rid)
        status = 500
        began = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"x-request-id", rid.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            counted = self._counted.get((method, route, status))
            if counted is None:
                counted = metrics().requests.labels(method, route, str(status))
                self._counted[(method, route, status)] = counted
            timed = self._timed.get((method, route))
            if timed is None:
                timed = self._timed[(method, route)] = metrics().duration.labels(method, route)
            counted.inc()
            timed.observe(time.perf_counter() - began)
            metrics().connections.set(self.in_use())
            request_id.reset(token)
