"""Indonesian by default, English on request; every interface message has an Indonesian text."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.i18n import LOCALE_DIR
from app.settings import ROOT
from tests.conftest import csrf_from


def _catalogue_ids(locale: str) -> dict[str, object]:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in read_po(fh) if m.id}


def test_every_message_in_code_and_templates_has_an_indonesian_translation() -> None:
    method_map = [
        ("app/**.py", "python"),
        ("modules/**.py", "python"),
        ("templates/**.html", "jinja2"),
        ("templates/mail/**.txt", "jinja2"),
    ]
    options = {
        "templates/**.html": {"extensions": "jinja2.ext.i18n"},
        "templates/mail/**.txt": {"extensions": "jinja2.ext.i18n"},
    }
    used = set()

    def directories(path: str) -> bool:  # babel skips folders starting with "_" by default
        return not path.rsplit("/", 1)[-1].startswith(".") and "node_modules" not in path

    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT),
        method_map,
        options,
        directory_filter=directories,
        keywords={"_": None, "N_": None, "tr": None, "gettext": None, "ngettext": (1, 2)},
    ):
        used.add(message if isinstance(message, str) else message[0])
    catalogue = _catalogue_ids("id")
    missing = sorted(m for m in used if not catalogue.get(m))
    assert "Mark as done" in used  # a message from templates/_partials is seen
    assert not missing, f"untranslated (run `make i18n`, then translate): {missing}"


def test_indonesian_is_the_default_and_english_can_be_chosen(client) -> None:
    page = client.get("/")
    assert '<html lang="id">' in page.text and "Kursus" in page.text
    response = client.post(
        "/lang",
        data={"locale": "en", "next": "/courses/berakhlak", "csrf_token": csrf_from(client, "/")},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/courses/berakhlak"
    english = client.get("/")
    assert '<html lang="en">' in english.text and "Courses" in english.text
    client.post("/lang", data={"locale": "xx", "csrf_token": csrf_from(client, "/")})
    assert '<html lang="en">' in client.get("/").text
