"""Languages: which one a request speaks, and numbers, money and times in its format."""

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from flask import current_app, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user

from extensions import babel
from models.stored_text import shown

# Code -> the language's own name, as the picker shows it.
LANGUAGES = {"en": "English", "fr": "Français", "ar": "العربية"}
RTL = frozenset({"ar"})
_LANGUAGE_KEY = "codboard.language"
MACHINE_BLUEPRINTS = frozenset({"api", "sandbox"})
# Formats follow the language; Arabic screens use Morocco's conventions (Latin digits).
FORMAT_LOCALES = {"en": "en", "fr": "fr", "ar": "ar_MA"}


def select_locale() -> str:
    """The user's saved language, else the browser's best match, else English."""
    # The JSON API (and the sandbox playing other companies) speaks English to machines.
    if not has_request_context() or request.blueprint in MACHINE_BLUEPRINTS:
        return "en"
    chosen = getattr(current_user, "language", "") if current_user.is_authenticated else ""
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def language() -> str:
    """The current request's language code."""
    # Asked a few hundred times per list page (each money, time and badge): kept on the
    # request once known, since Flask-Babel's own lookup costs microseconds per call.
    if has_request_context():
        code = request.environ.get(_LANGUAGE_KEY)
        if code is None:
            code = request.environ[_LANGUAGE_KEY] = _locale_language()
        return code
    return _locale_language()


def _locale_language() -> str:
    """The language of Flask-Babel's locale for this context."""
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else "en"


def is_rtl() -> bool:
    """True when the current language is written right to left."""
    return language() in RTL


def _format_locale() -> str:
    """The Babel locale numbers and dates are formatted in."""
    return FORMAT_LOCALES[language()]


def money(cents: int | None, currency: str = "") -> str:
    """Cents as the language writes money: '1,756.00 MAD', '1 756,00 MAD', '1.756,00 د.م.'."""
    if cents is None:
        return ""
    amount = cents / 100
    code = language()
    if not currency:
        return format_decimal(amount, format="#,##0.00", locale=_format_locale())
    if code == "en":  # Babel's English puts the code in front ("MAD1,756.00")
        return f"{format_decimal(amount, format='#,##0.00', locale='en')} {currency}"
    return format_currency(amount, currency, locale=_format_locale())


def number(value: int | float | None) -> str:
    """A count with the language's grouping ('12,345', '12 345')."""
    if value is None:
        return ""
    return format_decimal(value, locale=_format_locale())


def percent(value: float | None, digits: int = 1) -> str:
    """A share (0.825) as the language writes it ('82.5%', '82,5 %')."""
    if value is None:
        return "—"
    # The locale's own pattern ("82,5 %" in French), keeping `digits` decimals at most.
    return format_percent(round(value, digits + 2), locale=_format_locale(),
                          decimal_quantization=False)


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    """The ZoneInfo for a name (looked up once)."""
    return ZoneInfo(name)


def display_zone() -> ZoneInfo:
    """The configured display time zone."""
    return _zone(current_app.config["DISPLAY_TIMEZONE"])


def local_time(value: datetime | None, fmt: str | None = None) -> str:
    """A stored UTC time in the configured zone: the language's short date and time,
    or `fmt` (strftime) when a screen needs a fixed shape such as '%H:%M'."""
    if value is None:
        return ""
    moment = value.replace(tzinfo=UTC).astimezone(display_zone())
    if fmt is not None:
        return moment.strftime(fmt)
    if language() == "en":
        return moment.strftime("%Y-%m-%d %H:%M")
    return format_datetime(moment, "short", tzinfo=display_zone(), locale=_format_locale())


def local_date(value: date | datetime | None) -> str:
    """A day as the language writes it ('2026-11-28', '28/11/2026')."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC).astimezone(display_zone()).date()
    if language() == "en":
        return value.isoformat()
    return format_date(value, "short", locale=_format_locale())


def init_app(app) -> None:
    """Bind Flask-Babel with the locale selector and the display zone."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["DISPLAY_TIMEZONE"])
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.filters.update(money=money, number=number, percent=percent,
                                 local_time=local_time, local_date=local_date)
    app.jinja_env.filters["shown"] = shown  # stored English system texts, per language
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, language=language, is_rtl=is_rtl)
