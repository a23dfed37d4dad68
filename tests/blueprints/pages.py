"""Read what a person sees on a rendered page: headings, menu, badges, history."""

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit


def text(resp) -> str:
    """The response body with HTML entities decoded (what the reader sees in the markup)."""
    return html.unescape(resp.get_data(as_text=True))


def squash(value: str) -> str:
    """Collapse runs of whitespace, as a browser does when it lays text out."""
    return re.sub(r"\s+", " ", value).strip()


def html_tag(resp) -> str:
    """The page's opening <html> tag (its lang and dir)."""
    return re.search(r"<html[^>]*>", resp.get_data(as_text=True)).group(0)


def location(resp) -> tuple[str, dict[str, list[str]]]:
    """Path and query of a redirect's Location header."""
    parts = urlsplit(resp.headers["Location"])
    return parts.path, parse_qs(parts.query)


@dataclass
class AuditRow:
    """One entry of an order's history list."""

    kind: str
    actor: str = ""
    statuses: list[str] = field(default_factory=list)
    note: str = ""
    text: str = ""


class _Reader(HTMLParser):
    """Collects the h1 texts, the top menu links, the header badges and the audit list."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.h1: list[str] = []
        self.nav: list[tuple[str, str]] = []
        self.head_statuses: list[str] = []
        self.audit: list[AuditRow] = []
        self._stack: list[tuple[str, dict]] = []
        self._h1: list[str] | None = None
        self._link: tuple[str, list[str]] | None = None
        self._row: AuditRow | None = None
        self._capture: str | None = None
        self._parts: list[str] = []

    def _inside(self, tag: str, cls: str | None = None) -> bool:
        return any(
            t == tag and (cls is None or cls in (a.get("class") or "").split())
            for t, a in self._stack
        )

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in {"input", "meta", "link", "br", "img"}:
            self._stack.append((tag, attrs))
        classes = (attrs.get("class") or "").split()
        if tag == "h1":
            self._h1 = []
        # The user's name links to their account page: not a menu entry.
        if tag == "a" and self._inside("nav") and "brand" not in classes \
                and not self._inside("li", "who"):
            self._link = (attrs.get("href", ""), [])
        if tag == "span" and "data-status" in attrs:
            if self._row is not None:
                self._row.statuses.append(attrs["data-status"])
            elif self._inside("header", "order-head"):
                self.head_statuses.append(attrs["data-status"])
        if tag == "li" and self._inside("ol", "audit"):
            self._row = AuditRow(kind=attrs.get("data-kind", ""))
            self._parts = []
        if self._row is not None and tag == "span" and "actor" in classes:
            self._capture = "actor"
        if self._row is not None and tag == "q" and "note" in classes:
            self._capture = "note"

    def handle_endtag(self, tag):
        while self._stack:
            t, _ = self._stack.pop()
            if t == tag:
                break
        if tag == "h1" and self._h1 is not None:
            self.h1.append(squash("".join(self._h1)))
            self._h1 = None
        if tag == "a" and self._link is not None:
            self.nav.append((squash("".join(self._link[1])), self._link[0]))
            self._link = None
        if tag in {"span", "q"}:
            self._capture = None
        if tag == "li" and self._row is not None:
            self._row.text = squash("".join(self._parts))
            self.audit.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._h1 is not None:
            self._h1.append(data)
        if self._link is not None:
            self._link[1].append(data)
        if self._row is not None:
            self._parts.append(data)
            if self._capture == "actor":
                self._row.actor += data.strip()
            elif self._capture == "note":
                self._row.note += data


def read(resp) -> _Reader:
    """Parse a response body."""
    reader = _Reader()
    reader.feed(resp.get_data(as_text=True))
    reader.close()
    return reader


def heading(resp) -> str:
    """The text of the page's first level-1 heading ("" when there is none)."""
    found = read(resp).h1
    return found[0] if found else ""


def nav_links(resp) -> dict[str, str]:
    """The top menu: label -> href, without the brand link."""
    return dict(read(resp).nav)


def header_statuses(resp) -> list[str]:
    """The status values of the badges in an order's header."""
    return read(resp).head_statuses


def audit_rows(resp) -> list[AuditRow]:
    """The order's history entries, in page order."""
    return read(resp).audit
