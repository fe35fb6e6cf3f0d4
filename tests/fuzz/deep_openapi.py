"""The deep OpenAPI run (not part of the test suite: minutes, not seconds). Serves the app on a
populated SQLite database, makes an HR officer's API token, and runs the schemathesis CLI with
every phase (examples, coverage, fuzzing, stateful) over /api/openapi.json:

    .venv/bin/python -m tests.fuzz.deep_openapi [--max-examples 500] [--seed 20261207]

Exits with schemathesis's status; its summary is what docs/api.md quotes. The check
`positive_data_acceptance` is left out: the API refuses, with a documented 4xx, values a schema
cannot rule out (a course or agency that does not exist, a work unit spelled unlike any
profile, a cursor it never gave)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from app.main import create_app
from tests.browser.conftest import _free_port, serve
from tests.conftest import _prepare, make_settings, run_jobs
from tests.modules.reports.api_helpers import token_for
from tests.modules.reports.helpers import populate, staff

HR_NIP = "198001012005011901"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-examples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'fuzz.db'}"
        _prepare(url)
        app = create_app(make_settings(url, export_dir=Path(folder) / "exports"))
        run_jobs(app)
        pop = populate(app)
        staff(app, "hr", pop.bkn, HR_NIP)
        token = token_for(app, HR_NIP)
        with serve(app, _free_port()) as base:
            command = [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"{base}/api/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--max-examples",
                str(args.max_examples),
                "--seed",
                str(args.seed),
                "--exclude-checks",
                "positive_data_acceptance",
                "--continue-on-failure",
                "--workers",
                "1",
            ]
            return subprocess.run(command, check=False).returncode  # noqa: S603


if __name__ == "__main__":
    raise SystemExit(main())
