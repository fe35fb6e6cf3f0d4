"""Translations from Babel catalogues (Indonesian first, English available)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, tzinfo
from io import BytesIO
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALES = ("id", "en")
LOCALE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}
LOCALE_DIR = Path(__file__).parent / "locales"

_current: ContextVar[str] = ContextVar("locale", default="id")
_catalogues: dict[str, NullTranslations] = {}
_timezone: tzinfo = UTC


def load_catalogues() -> None:
    """Compile every .po file in memory once; no build step, no stale .mo files."""
    for locale in LOCALES:
        po_path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
        if not po_path.exists():
            _catalogues[locale] = NullTranslations()
            continue
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        buf = BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        _catalogues[locale] = Translations(buf)


def set_locale(locale: str) -> None:
    """Make `locale` the language of what is rendered next in this context."""
    _current.set(locale if locale in LOCALES else "id")


@contextmanager
def using_locale(locale: str) -> Iterator[None]:
    """Render in `locale` inside the block (a mail in its reader's language), then go back."""
    token = _current.set(locale if locale in LOCALES else "id")
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    """Translate a message into the current locale."""
    catalogue = _catalogues.get(_current.get())
    return catalogue.gettext(message) if catalogue else message


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message with a plural form."""
    catalogue = _catalogues.get(_current.get())
    if catalogue is None:
        return singular if n == 1 else plural
    return catalogue.ngettext(singular, plural, n)


def tr(message: str, **values: object) -> str:
    """Translate a message, then fill in its `{name}` fields."""
    return gettext(message).format(**values) if values else gettext(message)


def N_(message: str) -> str:  # noqa: N802 - the conventional name for "mark for extraction"
    """Mark a message for extraction; it is translated where it is shown."""
    return message


def set_timezone(zone: tzinfo) -> None:
    """The time zone dates are shown in (the site's, from settings)."""
    global _timezone
    _timezone = zone


def format_time(value: datetime | None) -> str:
    """A time of day in the site's time zone, e.g. `14.05`."""
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return format_datetime(aware.astimezone(_timezone), format="short", locale=_current.get())


def format_day(value: date | datetime | None) -> str:
    """A date as people in the current locale write it, e.g. `23 November 2026`, in the site's
    time zone (a lesson finished at 06:00 WIB on 1 January is shown on 1 January)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        value = aware.astimezone(_timezone).date()
    return format_date(value, format="long", locale=_current.get())


def format_number(value: int | float) -> str:
    """A number as people in the current locale write it: `1.825` in Indonesian, `1,825` in
    English (Babel's pattern for the locale)."""
    return format_decimal(value, locale=_current.get())
