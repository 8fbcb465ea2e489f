"""Writing XML deterministically: elements in order, text exact, escapes that survive parsing.

The REFI-QDA export (``refi_export``) builds its project and codebook as
:class:`Node` trees and writes them with :func:`serialise`: the same tree
always gives the same bytes, element text is written without added white
space, and carriage returns, tabs and line breaks in attributes are written as
character references so that a parser reads back exactly what was written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import CompendiumError

#: A character XML 1.0 cannot hold (control characters, lone surrogates, U+FFFE/FFFF).
XML_BAD = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class Node:
    """An XML element to be written: tag, attributes in order, text or children."""

    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    kids: list[Node] = field(default_factory=list)

    def add(self, tag: str, text: str | None = None, **attrs: str) -> Node:
        """Append a child element (attributes given as None are left out) and return it."""
        node = Node(tag, {k: v for k, v in attrs.items() if v is not None}, text)
        self.kids.append(node)
        return node


def _escape_text(text: str) -> str:
    # A literal CR would be turned into LF by any XML parser: write it as a reference.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
        .replace("\r", "&#13;")


def _escape_attr(text: str) -> str:
    # Parsers normalise white space in attribute values unless it is written as references.
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")
            .replace("\t", "&#9;"))


def serialise(root: Node) -> bytes:
    """UTF-8 XML, indented; element text is written exactly (no added white space)."""
    lines = ['<?xml version="1.0" encoding="utf-8"?>']

    # An explicit stack, not recursion: a codebook may nest deeper than the
    # interpreter's recursion limit. A str on the stack is a closing tag to write.
    stack: list[tuple[Node | str, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        pad = "  " * depth
        if isinstance(node, str):
            lines.append(f"{pad}</{node}>")
            continue
        attrs = "".join(f' {k}="{_escape_attr(v)}"' for k, v in node.attrs.items())
        if node.kids:
            lines.append(f"{pad}<{node.tag}{attrs}>")
            stack.append((node.tag, depth))
            stack.extend((kid, depth + 1) for kid in reversed(node.kids))
        elif node.text:
            lines.append(f"{pad}<{node.tag}{attrs}>{_escape_text(node.text)}</{node.tag}>")
        else:
            lines.append(f"{pad}<{node.tag}{attrs}/>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def xml_text(value: str, where: str) -> str:
    """``value`` if XML 1.0 can hold it; a one-line error naming ``where`` otherwise."""
    bad = XML_BAD.search(value)
    if bad:
        raise CompendiumError(f"{where}: contains the control character "
                              f"U+{ord(bad.group()):04X}, which XML cannot hold")
    return value
