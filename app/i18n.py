"""Translations from Babel catalogues (Indonesian first, English available), and numbers and
dates written the way the reader's language writes them, through Babel with named patterns."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from io import BytesIO
from pathlib import Path

from babel import numbers
from babel.dates import format_date, format_datetime, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("id", "en")
LOCALE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}
LOCALE_DIR = Path(__file__).parent / "locales"

_current: ContextVar[str] = ContextVar("locale", default="id")
_catalogues: dict[str, NullTranslations] = {}
_timezone: tzinfo = UTC

# The patterns numbers and dates are shown with (docs/architecture.md, "Numbers and dates").
# A pattern fixes the digits; the locale gives the symbols: Indonesian groups thousands with
# "." and writes decimals with "," (`60.000`, `87,5%`), English the other way round.
NUMBER_PATTERN = "#,##0.###"  # a count or an amount: 60.000, 1.825, 87,5
PERCENT_PATTERN = "#,##0.#%"  # a share or score: 87,5%, 100%, 33,3%
DAY_FORMAT = "long"  # CLDR's long date: 7 Desember 2026, December 7, 2026
TIME_FORMAT = "short"  # CLDR's short date and time: 7/12/26 14.05, 12/7/26, 2:05 PM
MONTH_SKELETON = "yMMMM"  # a month of a year: Desember 2026, December 2026


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
    """A date and time of day in the site's time zone, with CLDR's short pattern of the current
    locale (`TIME_FORMAT`): `7/12/26 14.05` in Indonesian, `12/7/26, 2:05 PM` in English."""
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return format_datetime(aware.astimezone(_timezone), format=TIME_FORMAT, locale=_current.get())


def format_day(value: date | datetime | None) -> str:
    """A date as people in the current locale write it, with CLDR's long pattern (`DAY_FORMAT`):
    `7 Desember 2026` in Indonesian, `December 7, 2026` in English; in the site's time zone (a
    lesson finished at 06:00 WIB on 1 January is shown on 1 January)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        value = aware.astimezone(_timezone).date()
    return format_date(value, format=DAY_FORMAT, locale=_current.get())


def format_month(value: date | str) -> str:
    """A month of a year (a date, or `YYYY-MM` as reports group by), with the CLDR skeleton
    `yMMMM` (`MONTH_SKELETON`): `Desember 2026` in Indonesian, `December 2026` in English."""
    if isinstance(value, str):
        value = date.fromisoformat(f"{value[:7]}-01")
    return format_skeleton(MONTH_SKELETON, value, locale=_current.get())


def _rounded(value: float | Decimal, places: int) -> Decimal:
    """`value` to `places` decimals, halves away from zero as people round (87,25 gives 87,3;
    Babel alone would round half to even), exactly: a float is read from its shortest decimal
    form (87.25, not 87.2499...)."""
    exact = value if isinstance(value, Decimal) else Decimal(str(value))
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _fixed_pattern(places: int) -> str:
    """`#,##0.00` for two places: exactly `places` decimals."""
    return "#,##0." + "0" * places if places > 0 else "#,##0"


def _upto_pattern(places: int) -> str:
    """`#,##0.###` for three places: at most `places` decimals, trailing zeros left out."""
    return "#,##0." + "#" * places if places > 0 else "#,##0"


def format_number(value: float | Decimal, places: int = 3) -> str:
    """A count or an amount, with the pattern `#,##0.###` (`NUMBER_PATTERN`: grouped
    thousands, up to three decimals, none shown when they are zero; `places` sets fewer, e.g.
    `#,##0.#` for one): `60.000`, `1.825` and `87,5` in Indonesian; `60,000`, `1,825` and
    `87.5` in English."""
    pattern = NUMBER_PATTERN if places == 3 else _upto_pattern(places)
    return numbers.format_decimal(_rounded(value, places), format=pattern, locale=_current.get())


def format_percent(value: float | Decimal) -> str:
    """A score or share given in percent (0 to 100), with the pattern `#,##0.#%`
    (`PERCENT_PATTERN`: at most one decimal, no trailing zero): `87,5%`, `100%` and `33,3%` in
    Indonesian; `87.5%`, `100%` and `33.3%` in English."""
    share = _rounded(value, 1) / 100  # Babel's percent patterns multiply by 100 again
    return numbers.format_percent(share, format=PERCENT_PATTERN, locale=_current.get())


def format_fixed(value: float | Decimal, places: int = 2) -> str:
    """A number with exactly `places` decimals, for means and indices read side by side in a
    column, with the pattern `#,##0.00` (for two places; `#,##0.0` for one): `3,67`, `4,00`
    and `66,7` in Indonesian; `3.67`, `4.00` and `66.7` in English."""
    return numbers.format_decimal(
        _rounded(value, places), format=_fixed_pattern(places), locale=_current.get()
    )


def format_signed(value: float | Decimal, places: int = 2) -> str:
    """A change, always with its sign, with the pattern `+#,##0.00;-#,##0.00` (for two places;
    the locale's plus and minus signs): `+0,33` and `-0,33` in Indonesian, `+0.33` and `-0.33`
    in English; no change is `0,00` (`0.00`), without a sign."""
    locale = _current.get()
    rounded = _rounded(value, places)
    fixed = _fixed_pattern(places)
    if rounded == 0:
        return numbers.format_decimal(abs(rounded), format=fixed, locale=locale)
    plus, minus = numbers.get_plus_sign_symbol(locale), numbers.get_minus_sign_symbol(locale)
    return numbers.format_decimal(rounded, format=f"{plus}{fixed};{minus}{fixed}", locale=locale)
