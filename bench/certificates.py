"""Certificate benchmark: PDFs rendered per second, and requests per second of the public
verification page.

Run: `.venv/bin/python bench/certificates.py [--certificates 200] [--pdfs 40] [--workers 1]
[--database-url postgresql+psycopg://...]` (needs wrk).

1. Prepares a fresh database with the shipped course and `--certificates` learners who
   completed it, each with an issued certificate.
2. Renders `--pdfs` of them with WeasyPrint, uncached, one after another in this process
   (the first render, which loads fonts, is reported apart), then reads the same PDFs from the
   cache.
3. Starts uvicorn and runs wrk (16 connections, 10 s) over `/verify/<code>` for every
   certificate in turn, and over `/verify/<unknown>`, with the per-address rate limit raised
   so that every request is counted (one upsert per request, as in production) but none is
   refused.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lesson_page import _free_port, _scratch_database, _server, parse_wrk  # noqa: E402

from app.db import make_engine  # noqa: E402
from app.main import prepare  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.templating import make_environment  # noqa: E402
from modules.accounts.models import User  # noqa: E402
from modules.certificates import credential, pdf  # noqa: E402
from modules.certificates import service as certificates_service  # noqa: E402
from modules.courses.service import Catalogue  # noqa: E402
from modules.progress import service as progress_service  # noqa: E402


def _certificates(settings: Settings, count: int) -> list:
    """`count` learners who completed the shipped course, each with a certificate."""
    engine = make_engine(settings.database_url)
    catalogue = Catalogue(engine)
    course = catalogue.get("berakhlak")
    assert course is not None
    policy = certificates_service.policy_from(settings)
    issued = []
    with Session(engine, expire_on_commit=False) as session:
        for i in range(count):
            user = User(
                nip=f"1990{1 + i // 999:02d}01201503{1 + i % 2}{i % 999 + 1:03d}",
                employment_type="PNS",
                name=f"Peserta Pelatihan Nomor {i}",
                email=f"peserta{i}@bench.go.id",
                password_hash="x",
                agency_id=1 + i % 50,
                work_unit="Bagian Organisasi dan Tata Laksana",
                position="Analis Kebijakan Ahli Muda",
                grade="III/c",
            )
            session.add(user)
            session.commit()
            completion = progress_service.record_completion(
                session=session,
                user_id=user.id,
                course_id=course.id,
                version_id=course.version_id,
                jp=course.content.jp,
            )
            assert completion is not None
            # what the worker does with the certificate a completion owes
            issued.append(
                certificates_service.issue_owed(
                    session=session,
                    owed=certificates_service.Owed(
                        user_id=completion.user_id,
                        course_id=course.id,
                        completed_at=completion.completed_at,
                        jp=completion.jp,
                        content_version_id=completion.content_version_id,
                    ),
                    catalogue=catalogue,
                    policy=policy,
                )
            )
            session.commit()
    engine.dispose()
    return issued


def _render(settings: Settings, rows: list, cache: Path) -> dict[str, float]:
    env = make_environment()
    engine = make_engine(settings.database_url)
    course = Catalogue(engine).get("berakhlak")
    modules = [m.title for m in course.content.modules] if course else []

    def timed() -> list[float]:
        seconds = []
        for row in rows:
            start = time.perf_counter()
            pdf.render(
                env,
                row,
                verify_url=credential.verify_url(settings.base_url, row),
                issuer_name=settings.issuer_name,
                modules=modules,
                cache_dir=cache,
            )
            seconds.append(time.perf_counter() - start)
        return seconds

    times = timed()  # rendered
    cached = timed()  # the same, from the cache
    engine.dispose()
    steady = times[1:]
    return {
        "first": times[0] * 1000,
        "median": statistics.median(steady) * 1000,
        "per_second": len(steady) / sum(steady),
        "cached_ms": statistics.median(cached) * 1000,
        "size_kb": statistics.median(p.stat().st_size for p in cache.glob("*.pdf")) / 1024,
    }


def _wrk(port: int, paths: list[str], work: Path, seconds: int = 10) -> dict[str, float]:
    script = work / "verify.lua"
    listing = ",\n".join(f'"{p}"' for p in paths)
    script.write_text(
        "local paths = {\n" + listing + "\n}\nlocal i = 0\n"
        "request = function()\n  i = i + 1\n"
        '  return wrk.format("GET", paths[(i % #paths) + 1])\nend\n'
    )
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c16",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_wrk(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--certificates", type=int, default=200)
    parser.add_argument("--pdfs", type=int, default=40)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn processes")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="bench-cert-"))
    url = _scratch_database(args.database_url) if args.database_url else f"sqlite:///{work}/c.db"
    env = {
        **os.environ,
        "BERAKHLAK_DATABASE_URL": url,
        "BERAKHLAK_ENVIRONMENT": "production",
        "BERAKHLAK_SECRET_KEY": "c" * 48,
        "BERAKHLAK_VERIFY_PER_MINUTE": "100000000",
        "BERAKHLAK_CERTIFICATE_CACHE_DIR": str(work / "server-pdf"),
        "BENCH_WORKERS": str(args.workers),
    }
    os.environ.update(env)
    settings = Settings()
    prepare(settings)
    rows = _certificates(settings, args.certificates)
    rendering = _render(settings, rows[: args.pdfs], work / "pdf")
    port = _free_port()
    with _server(port, env, "app.main:create_app"):
        known = _wrk(port, [f"/verify/{r.code}" for r in rows], work)
        by_number = _wrk(port, [f"/verify/{r.number}" for r in rows], work)
        unknown = _wrk(port, [f"/verify/BA/1999/{i:06d}" for i in range(1, 200)], work)
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"database: {database}; {args.certificates} certificates; {args.workers} worker(s)\n")
    print("| PDF (WeasyPrint, uncached, one process) | value |")
    print("|---|---|")
    print(f"| first render (fonts loaded) | {rendering['first']:.0f} ms |")
    print(f"| median render | {rendering['median']:.0f} ms |")
    print(f"| PDFs rendered per second | **{rendering['per_second']:.1f}** |")
    print(f"| served from the cache | {rendering['cached_ms']:.2f} ms |")
    print(f"| PDF size (median) | {rendering['size_kb']:.0f} KB |")
    print("\n| verification page (wrk, 16 connections, 10 s) | req/s | p50 | p99 | non-2xx |")
    print("|---|---|---|---|---|")
    for label, result in (
        ("by code (valid)", known),
        ("by number", by_number),
        ("unknown number (404 page)", unknown),
    ):
        print(
            f"| {label} | **{result['rps']:.0f}** | {result['p50']:.1f} | {result['p99']:.1f} | "
            f"{result['bad']:.0f} |"
        )


if __name__ == "__main__":
    main()
