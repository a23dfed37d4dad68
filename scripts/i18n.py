"""Translation catalogues: extract, update, compile, list what is missing, fill from JSON.

    python scripts/i18n.py extract            # sources -> translations/messages.pot
    python scripts/i18n.py update             # .pot -> fr/ar messages.po (new strings empty)
    python scripts/i18n.py compile            # .po -> .mo (Flask-Babel reads these)
    python scripts/i18n.py missing [PATH...]  # untranslated strings (from PATH only), as JSON
    python scripts/i18n.py fill FILE.json...  # translations from JSON into the .po files

A JSON file for `fill` is a list of {"msgid": ..., "fr": ..., "ar": ...} (with "msgctxt"
when the same English needs two translations, as pgettext marks it); a plural entry
adds "msgid_plural" and gives each language a list of forms (French 3, Arabic 6).
"""

import json
import sys
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "translations"
POT = OUT / "messages.pot"
LANGUAGES = ("fr", "ar")
SOURCES = ("blueprints", "models", "workers", "commands", "templates")
KEYWORDS = {
    "_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2),
    "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2), "_n": (1, 2),
}
LANGUAGE_NAMES = {"fr": "French", "ar": "Arabic"}
STAMP = datetime(2026, 1, 1, tzinfo=UTC)
METHODS = [("**.py", "python"), ("**.html", "jinja2")]
OPTIONS = {"**.html": {"trimmed": "true"}}


def extract() -> Catalog:
    """Every marked string in the sources, with where it is used."""
    catalog = Catalog(project="codboard", charset="utf-8", creation_date=STAMP)
    for source in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
                ROOT / source, METHODS, OPTIONS, KEYWORDS):
            catalog.add(message, None, [(f"{source}/{filename}", lineno)],
                        auto_comments=comments, context=context)
    return catalog


def _po_path(lang: str) -> Path:
    return OUT / lang / "LC_MESSAGES" / "messages.po"


def load(lang: str) -> Catalog:
    """The language's catalogue (an empty one before the first update)."""
    path = _po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, project="codboard", charset="utf-8")
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def save(lang: str, catalog: Catalog) -> None:
    """Write the .po (sorted, no line wrapping, so diffs stay small) and its .mo."""
    catalog.fuzzy = False
    catalog.header_comment = f"# {LANGUAGE_NAMES[lang]} translations of codboard's screens."
    catalog.creation_date = catalog.revision_date = STAMP  # a fixed stamp: no churn in diffs
    catalog.last_translator = catalog.language_team = "codboard"
    path = _po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=0, sort_output=True, omit_header=False)
    with path.with_suffix(".mo").open("wb") as f:
        write_mo(f, catalog)


def update() -> None:
    """Bring each language's catalogue up to the sources; new strings start empty."""
    template = extract()
    with POT.open("wb") as f:
        write_po(f, template, width=0, sort_output=True, omit_header=True)
    for lang in LANGUAGES:
        catalog = load(lang)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        save(lang, catalog)


def is_missing(message) -> bool:
    """True when a message has no complete, confirmed translation."""
    if not message.id or message.fuzzy:
        return bool(message.id)
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return not all(strings)


def missing(paths: list[str]) -> list[dict]:
    """Untranslated messages (used under any of `paths`, or anywhere) as `fill` skeletons."""
    catalogs = {lang: load(lang) for lang in LANGUAGES}
    out = []
    for message in extract():
        if not message.id:
            continue
        if paths and not any(f.startswith(p) for f, _ in message.locations for p in paths):
            continue
        gaps = [lang for lang, c in catalogs.items()
                if (m := c.get(message.id, context=message.context)) is None or is_missing(m)]
        if gaps:
            msgid = message.id[0] if isinstance(message.id, tuple) else message.id
            entry = {"msgid": msgid, "where": [f"{f}:{n}" for f, n in message.locations][:3]}
            if isinstance(message.id, tuple):
                entry["msgid_plural"] = message.id[1]
            if message.context:
                entry["msgctxt"] = message.context
            out.append(entry)
    return out


def fill(files: list[str]) -> None:
    """Put the translations of JSON files into the catalogues (after an update)."""
    update()
    catalogs = {lang: load(lang) for lang in LANGUAGES}
    unknown = 0
    for name in files:
        for entry in json.loads(Path(name).read_text(encoding="utf-8")):
            key = (entry["msgid"], entry["msgid_plural"]) if "msgid_plural" in entry \
                else entry["msgid"]
            for lang, catalog in catalogs.items():
                message = catalog.get(key[0] if isinstance(key, tuple) else key,
                                      context=entry.get("msgctxt"))
                if message is None or lang not in entry:
                    unknown += message is None
                    continue
                value = entry[lang]
                message.string = tuple(value) if isinstance(value, list) else value
                message.flags.discard("fuzzy")
    for lang, catalog in catalogs.items():
        save(lang, catalog)
    if unknown:
        print(f"{unknown // len(LANGUAGES)} entries match no string in the sources",
              file=sys.stderr)


def compiled(lang: str) -> bytes:
    """The .mo bytes the language's .po compiles to."""
    buffer = BytesIO()
    write_mo(buffer, load(lang))
    return buffer.getvalue()


def main(argv: list[str]) -> int:
    """Run one command."""
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command == "extract":
        with POT.open("wb") as f:
            write_po(f, extract(), width=0, sort_output=True, omit_header=True)
    elif command == "update":
        update()
    elif command == "compile":
        for lang in LANGUAGES:
            save(lang, load(lang))
    elif command == "missing":
        print(json.dumps(missing(args), ensure_ascii=False, indent=1))
    elif command == "fill":
        fill(args)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
