"""The audit trail reads as sentences: every action the code records has a label, and the
details show as name: value, not JSON."""

from __future__ import annotations

import re
from pathlib import Path

from sqlmodel import Session

from modules.audit import service
from tests.modules.reports.helpers import staff

ROOT = Path(__file__).resolve().parents[3] / "modules"


def test_every_recorded_action_has_a_label() -> None:
    found = set()
    for path in ROOT.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'action\s*=\s*"([a-z_]+\.[a-z_]+)"', text))
    # actions built as f"report.{what}" / f"api.{what}" in the report routers
    dynamic = {"report.people", "report.jp", "api.people", "api.jp"}
    assert found, "no actions found: the pattern no longer matches the code"
    assert found | dynamic <= set(service.ACTION_LABELS), (found | dynamic) - set(
        service.ACTION_LABELS
    )


def test_the_trail_shows_labels_and_readable_details(app) -> None:
    admin = staff(app, "admin", None, "198001012005011903")
    with Session(app.state.engine) as s:
        service.record(
            session=s,
            actor_id=None,
            action="course.assign",
            subject_type="course",
            subject_id="berakhlak",
            detail={"agency": 5, "unit": None, "due_on": "2026-12-31", "people": 12},
        )
        s.commit()
    page = admin.get("/admin/audit?action=course.").text
    assert "Menugaskan kursus" in page
    assert "due_on: 2026-12-31" in page and "people: 12" in page
    assert "unit:" not in page and "{&#34;" not in page
