"""The French and Arabic catalogues cover every string the screens use, and compile as committed."""

import importlib.util
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "scripts" / "i18n.py")
i18n_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(i18n_tool)


@pytest.fixture(scope="module")
def extracted():
    """Every marked string in the sources, as the extraction finds it now."""
    return [m for m in i18n_tool.extract() if m.id]


def _key(value):
    """A plural's forms as a tuple: the .mo reader gives lists, the .po reader tuples."""
    return tuple(value) if isinstance(value, list | tuple) else value


def _where(message) -> str:
    return ", ".join(f"{f}:{n}" for f, n in message.locations[:3])


@pytest.mark.parametrize("lang", i18n_tool.LANGUAGES)
def test_every_string_on_screen_is_translated(extracted, lang):
    catalog = i18n_tool.load(lang)
    gaps = [f"{m.id!r} ({_where(m)})" for m in extracted
            if (found := catalog.get(m.id, context=m.context)) is None
            or i18n_tool.is_missing(found)]
    assert not gaps, (f"{len(gaps)} strings have no {lang} translation; run "
                      f"`python scripts/i18n.py missing` and `fill`:\n" + "\n".join(gaps[:40]))


@pytest.mark.parametrize("lang", i18n_tool.LANGUAGES)
def test_translations_keep_their_placeholders(lang):
    catalog = i18n_tool.load(lang)
    problems = [f"{message.id!r}: {'; '.join(map(str, errors))}"
                for message, errors in catalog.check() if message.id]
    assert not problems, "\n".join(problems[:40])


@pytest.mark.parametrize("lang", i18n_tool.LANGUAGES)
def test_compiled_catalogue_matches_its_source(lang):
    # Flask-Babel reads the .mo: a .po edited without `python scripts/i18n.py compile` would
    # leave the screens showing the old words.
    source = i18n_tool.load(lang)
    mo_path = ROOT / "translations" / lang / "LC_MESSAGES" / "messages.mo"
    with mo_path.open("rb") as f:
        compiled = read_mo(f)
    expected = {_key(m.id): _key(m.string) for m in source
                if m.id and not i18n_tool.is_missing(m)}
    actual = {_key(m.id): _key(m.string) for m in compiled if m.id}
    assert actual == expected


def test_the_check_notices_a_missing_or_partial_translation():
    # The check above is only worth something if an untranslated string fails it.
    from babel.messages.catalog import Message

    assert i18n_tool.is_missing(Message("Orders", ""))
    assert i18n_tool.is_missing(Message("Orders", "Commandes", flags={"fuzzy"}))
    assert i18n_tool.is_missing(Message(("%(num)d order", "%(num)d orders"), ("", "طلبات")))
    assert not i18n_tool.is_missing(Message("Orders", "Commandes"))
