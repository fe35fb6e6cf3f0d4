"""Request ids and metrics: every response carries its id, /metrics lists requests by route
template (never a raw path) and the queue, and only for its addresses and token."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from app.main import create_app
from app.observability import MULTIPROCESS_ENV, JsonFormatter, request_id, use_folder
from tests.conftest import SECRET, make_settings


def test_every_answer_carries_a_request_id(client) -> None:
    first = client.get("/").headers["x-request-id"]
    assert len(first) == 16 and first != client.get("/").headers["x-request-id"]
    kept = client.get("/livez", headers={"X-Request-ID": "abc12345-proxy"})
    assert kept.headers["x-request-id"] == "abc12345-proxy"
    odd = client.get("/livez", headers={"X-Request-ID": "<script>"})
    assert odd.headers["x-request-id"] != "<script>"


def test_json_log_lines_carry_the_request_id() -> None:
    token = request_id.set("feedc0de12345678")
    try:
        record = logging.LogRecord("berakhlak", logging.INFO, __file__, 1, "halo %s", ("x",), None)
        record.request_id = request_id.get()
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert line["request_id"] == "feedc0de12345678" and line["message"] == "halo x"


def test_metrics_by_route_template_for_allowed_readers_only(db_url) -> None:
    app = create_app(make_settings(db_url, metrics_token="rahasia-metrik-0123456789"))
    visitor = TestClient(app, base_url="http://testserver")  # address "testclient": not listed
    visitor.get("/attempts/a-secret-attempt-id/result")
    assert visitor.get("/metrics").status_code == 404
    wrong = visitor.get("/metrics", headers={"Authorization": "Bearer salah"})
    assert wrong.status_code == 404
    scrape = visitor.get("/metrics", headers={"Authorization": "Bearer rahasia-metrik-0123456789"})
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
    text = scrape.text
    assert 'route="/attempts/{attempt_id}/result"' in text and "a-secret-attempt-id" not in text
    assert "berakhlak_http_request_duration_seconds_bucket" in text
    assert 'berakhlak_jobs{status="queued"}' in text
    loopback = TestClient(app, base_url="http://testserver", client=("127.0.0.1", 50000))
    assert loopback.get("/metrics").status_code == 200
    app.state.engine.dispose()


def test_a_served_process_lists_its_own_requests(db_url, tmp_path) -> None:
    """`serve` in one process: prometheus-client was imported before the CLI chose the
    metrics folder, and the requests still reach /metrics."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "BERAKHLAK_DATABASE_URL": db_url,
        "BERAKHLAK_SECRET_KEY": SECRET,
        "BERAKHLAK_METRICS_DIR": str(tmp_path / "metrics"),
        "BERAKHLAK_EXPORT_DIR": str(tmp_path / "exports"),
    }
    env.pop(MULTIPROCESS_ENV, None)
    server = subprocess.Popen(  # noqa: S603 - our own command
        [str(Path(sys.executable).parent / "berakhlak"), "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, "the server stopped"
            assert time.monotonic() < deadline, "the server never answered"
            try:
                if httpx.get(f"{base}/livez", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        assert httpx.get(f"{base}/login", timeout=10).status_code == 200
        text = httpx.get(f"{base}/metrics", timeout=10).text
        assert 'berakhlak_http_requests_total{method="GET",route="/login",status="200"}' in text
        assert list((tmp_path / "metrics").glob("*.db")), "kept in the folder, for every process"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serve_clears_the_metrics_of_processes_that_are_gone_only(tmp_path, monkeypatch) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    gone.wait()
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / f"counter_{gone.pid}.db").write_bytes(b"x")
    (folder / f"counter_{os.getpid()}.db").write_bytes(b"x")  # another server still running
    monkeypatch.delenv(MULTIPROCESS_ENV, raising=False)
    use_folder(folder, fresh=True)
    assert os.environ[MULTIPROCESS_ENV] == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == [f"counter_{os.getpid()}.db"]
