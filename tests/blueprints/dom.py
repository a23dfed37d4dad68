"""A small element tree of a rendered page (the standard library's parser), enough to ask
what a screen reader or a reader of the page would meet."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "source", "track", "wbr"})


@dataclass(eq=False)
class Element:
    """One element: its tag, attributes, children (elements and text) and parent."""

    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element | str] = field(default_factory=list)

    def classes(self) -> list[str]:
        """The class attribute's names."""
        return (self.attrs.get("class") or "").split()

    def iter(self, tag: str | None = None) -> Iterator[Element]:
        """This element and every element inside it (of one tag when given), in page order."""
        if tag is None or self.tag == tag:
            yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter(tag)

    def text(self) -> str:
        """The text inside, whitespace collapsed."""
        parts: list[str] = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text())
        return " ".join(" ".join(parts).split())

    def ancestors(self) -> Iterator[Element]:
        """The parent, its parent, and so on up to the root."""
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class _Builder(HTMLParser):
    """Builds the tree; an end tag closes the nearest open element of that tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self._open = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Element(tag, {k: v or "" for k, v in attrs}, parent=self._open[-1])
        self._open[-1].children.append(node)
        if tag not in VOID:
            self._open.append(node)

    def handle_startendtag(self, tag, attrs):
        self._open[-1].children.append(
            Element(tag, {k: v or "" for k, v in attrs}, parent=self._open[-1]))

    def handle_endtag(self, tag):
        for depth in range(len(self._open) - 1, 0, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data):
        self._open[-1].children.append(data)


def parse(markup: str) -> Element:
    """The document's tree."""
    builder = _Builder()
    builder.feed(markup)
    builder.close()
    return builder.root
