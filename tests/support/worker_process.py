"""A real `berakhlak worker` process for the tests that kill one (kill -9): the composition
root's worker with every module's handlers, on the database named by the environment. Each
handler is held open a few milliseconds after its work, inside its transaction, so that a kill
lands in the middle of a job rather than between jobs."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app import commands  # noqa: E402
from app.jobs import Handler, JobContext  # noqa: E402
from app.main import build_state, make_worker  # noqa: E402


def _slowed(handler: Handler) -> Handler:
    def run(ctx: JobContext) -> None:
        handler.run(ctx)
        time.sleep(float(os.environ.get("TEST_JOB_HOLD_SECONDS", "0.01")))

    return replace(handler, run=run)


def main() -> None:
    state = build_state(commands.settings())
    worker = make_worker(state, name=sys.argv[1])
    worker.registry.handlers = {k: _slowed(h) for k, h in worker.registry.handlers.items()}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_args: stop.set())
    worker.run_forever(stop)
    state.engine.dispose()


if __name__ == "__main__":
    main()
