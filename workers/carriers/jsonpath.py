"""Dotted paths into decoded JSON: "data.tracking_number", "events.0.status".

Carrier settings name where a value sits in a courier's answer; this reads it.
A segment that is all digits indexes a list; an empty path is the document itself.
"""

from __future__ import annotations

from typing import Any

MISSING: Any = object()  # a value that is absent, told apart from an explicit null


def lookup(document: Any, path: str | None, default: Any = MISSING) -> Any:
    """The value at `path` in `document`, or `default` when any step is missing."""
    value = document
    for part in (path or "").split("."):
        if part == "":
            continue
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(
                part) < len(value):
            value = value[int(part)]
        else:
            return default
    return value


def text_at(document: Any, path: str | None) -> str:
    """The value at `path` as a stripped string; "" when the path is unset or the value absent."""
    if not path:
        return ""
    value = lookup(document, path, None)
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()
