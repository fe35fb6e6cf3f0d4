"""Weak-network benchmark: a learner on a slow, high-latency link (Chromium's own network
emulation through a CDP session: 400 kbit/s both ways, 400 ms round trip), measured in headless
Debian Chromium against the real app on loopback.

- time until a lesson's text is visible on a first visit (nothing cached, no service worker)
  and on a repeat visit of the same link (the service worker answers from the device);
- every byte the server sends in the first 10 s after the first navigation: the page, its
  files, the service worker script and what it precaches and keeps (counted by the server, so
  that the worker's own requests, which the page's CDP session does not see, count too);
- the time a quiz answer given offline takes to reach the server once the connection returns.

Run: `.venv/bin/python bench/weak_network.py` (needs Debian's chromium and `make assets`).
Prints a markdown table for docs/benchmarks.md. Plain HTTP on loopback: see the docs for what
TLS would add.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.lesson_page import PASSWORD, _free_port, _learner_token  # noqa: E402

LESSON = "/courses/berakhlak/lessons/akuntabel-kasus-pengadaan-apbd"
QUIZ = "/courses/berakhlak/quizzes/akuntabel-kuis"
KBIT = 400
RTT_MS = 400
BUDGET_BYTES = 50 * 1024
BUDGET_FIRST_S = 1.5
BUDGET_REPEAT_S = 0.5
_ = PASSWORD


def make_app() -> Any:
    """The real app, with every response's bytes (status line, headers, body as sent, i.e.
    compressed) logged with the time it finished, to BENCH_WIRE_LOG (uvicorn factory)."""
    from app.main import create_app

    app = create_app()
    log = open(os.environ["BENCH_WIRE_LOG"], "a", buffering=1)  # noqa: SIM115 - the process's life

    async def counted(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        size = 0

        async def counting(message: Any) -> None:
            nonlocal size
            if message["type"] == "http.response.start":
                size += 17 + sum(len(k) + len(v) + 4 for k, v in message.get("headers", []))
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
                if not message.get("more_body"):
                    record = {"t": time.time(), "m": scope["method"], "p": scope["path"], "b": size}
                    log.write(json.dumps(record) + "\n")
            await send(message)

        await app(scope, receive, counting)

    return counted


def _wire(log: Path, since: float, until: float) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in log.read_text().splitlines() if line]
    return [r for r in rows if since <= r["t"] <= until]


def _server(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "uvicorn", "--factory", "bench.weak_network:make_app"]
    argv += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(argv, cwd=ROOT, env=env)
    for _attempt in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/livez", timeout=5)
            return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("server did not start")


def _throttle(cdp: Any, offline: bool = False) -> None:
    rate = KBIT * 1000 / 8  # bytes per second
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": offline,
            "latency": RTT_MS,
            "downloadThroughput": rate,
            "uploadThroughput": rate,
        },
    )


def _text_visible(page: Any, url: str) -> float:
    start = time.monotonic()
    page.goto(url, wait_until="commit")
    page.locator("main .prose").first.wait_for(state="visible")
    return time.monotonic() - start


def main() -> None:
    from playwright.sync_api import sync_playwright

    from app.main import prepare
    from app.security import SESSION_COOKIE
    from app.settings import Settings

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    work = Path(tempfile.mkdtemp(prefix="bench-weak-"))
    wire_log = work / "wire.jsonl"
    wire_log.write_text("")
    env = {
        **os.environ,
        "BERAKHLAK_DATABASE_URL": f"sqlite:///{work}/bench.db",
        "BERAKHLAK_ENVIRONMENT": "production",
        "BERAKHLAK_SECRET_KEY": "b" * 48,
        "BENCH_WIRE_LOG": str(wire_log),
    }
    os.environ.update(env)
    settings = Settings()
    prepare(settings)
    token = _learner_token(settings)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _server(port, env)
    results: dict[str, Any] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            context = browser.new_context(viewport={"width": 390, "height": 844}, locale="id-ID")
            context.add_cookies(
                [{"name": SESSION_COOKIE, "value": token, "url": base, "httpOnly": True}]
            )
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
            _throttle(cdp)

            first_at = time.time()
            results["first"] = _text_visible(page, base + LESSON)
            page.wait_for_timeout(max(0, (first_at + 10 - time.time()) * 1000))
            first_rows = _wire(wire_log, first_at, first_at + 10)
            results["first_rows"] = first_rows
            results["controlled"] = page.evaluate("!!navigator.serviceWorker.controller")

            page.goto(base + "/me/learning")  # elsewhere, then the same link again
            page.locator("main h1").wait_for()
            repeat_at = time.time()
            results["repeat"] = _text_visible(page, base + LESSON)
            page.wait_for_timeout(1500)
            results["repeat_rows"] = _wire(wire_log, repeat_at, time.time())

            # a quiz answer given offline, sent when the connection returns
            page.goto(base + QUIZ)
            page.get_by_role("button", name="Mulai").click()
            page.wait_for_url(re.compile(r"/attempts/[\w-]+$"))
            _throttle(cdp, offline=True)
            page.locator("fieldset.question input[type=radio]").first.check()
            page.locator(".save-status").get_by_text("Belum terkirim").first.wait_for()
            back_at = time.time()
            _throttle(cdp, offline=False)
            deadline = time.time() + 30
            arrived = None
            while arrived is None and time.time() < deadline:
                page.wait_for_timeout(50)
                posts = [
                    r
                    for r in _wire(wire_log, back_at, time.time())
                    if r["m"] == "POST" and "/answers/" in r["p"]
                ]
                arrived = posts[0]["t"] if posts else None
            results["queued"] = (arrived - back_at) if arrived else float("nan")
            page.locator(".save-status .ok").first.wait_for()
            results["acknowledged"] = time.time() - back_at
            browser.close()
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)
    _report(results)


def _report(results: dict[str, Any]) -> None:
    first_bytes = sum(r["b"] for r in results["first_rows"])
    repeat_bytes = sum(r["b"] for r in results["repeat_rows"])
    print(f"Chromium network emulation: {KBIT} kbit/s both ways, {RTT_MS} ms round trip\n")
    print("| measure | figure | budget |\n|---|---|---|")
    print(
        f"| lesson text visible, first visit | **{results['first']:.2f} s** | "
        f"< {BUDGET_FIRST_S} s |"
    )
    print(
        f"| lesson text visible, repeat visit (service worker: "
        f"{'controls' if results['controlled'] else 'NOT controlling'}) | "
        f"**{results['repeat']:.2f} s** | < {BUDGET_REPEAT_S} s |"
    )
    first_kb, repeat_kb = first_bytes / 1024, repeat_bytes / 1024
    print(f"| bytes in the first 10 s after a first visit | **{first_kb:.1f} KB** | < 50 KB |")
    print(f"| bytes of a repeat visit (page refreshed behind, status) | {repeat_kb:.1f} KB | |")
    print(
        f"| offline answer reaches the server after reconnecting / shown as saved | "
        f"**{results['queued']:.2f} s** / {results['acknowledged']:.2f} s | |"
    )
    print("\nfirst 10 s, by request:")
    for row in results["first_rows"]:
        print(f"- {row['m']} {row['p']}: {row['b']} bytes")
    missed = (
        results["first"] >= BUDGET_FIRST_S
        or results["repeat"] >= BUDGET_REPEAT_S
        or first_bytes >= BUDGET_BYTES
    )
    if missed:
        print("BUDGET MISSED")


if __name__ == "__main__":
    main()
