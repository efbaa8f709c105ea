"""Streaming XML for the readers: iterparse, element by element, with errors that name the line and no content."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import IO, Iterator

from .model import ImportFileError


def local(tag: str) -> str:
    """A tag without its namespace ({http://wordpress.org/export/1.2/}comment -> comment)."""
    return tag.rsplit("}", 1)[-1]


def child_text(elem: ET.Element, name: str) -> str | None:
    """The text of the first child named `name` (any namespace), or None when there is none."""
    for child in elem:
        if local(child.tag) == name:
            return child.text or ""
    return None


def children(elem: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in elem if local(child.tag) == name)


def attribute(elem: ET.Element, name: str) -> str | None:
    """An attribute by its local name (dsq:id -> id)."""
    for key, value in elem.attrib.items():
        if local(key) == name:
            return value
    return None


def top_level(fp: IO[bytes], root_name: str, depth: int, what: str) -> Iterator[ET.Element]:
    """Yield each element `depth` levels below the root once it is complete, then free it.

    The root must be named `root_name`. A parse error (bad or truncated XML) becomes an ImportFileError naming
    the line and column; the parser's message names no content."""
    level = 0
    parents: list[ET.Element] = []
    try:
        for event, elem in ET.iterparse(fp, events=("start", "end")):
            if event == "start":
                if level == 0 and local(elem.tag) != root_name:
                    raise ImportFileError(f"not {what}: the root element is <{local(elem.tag)[:40]}>, "
                                          f"not <{root_name}>")
                level += 1
                if level <= depth:
                    parents.append(elem)
                continue
            level -= 1
            if level == depth:
                yield elem
                parents[-1].remove(elem)  # done with it: the file is never held whole
            elif level < depth and parents and parents[-1] is elem:
                parents.pop()
    except ET.ParseError as exc:
        line, column = exc.position
        raise ImportFileError(f"the file is not well-formed XML at line {line}, column {column + 1}"
                              f" ({_reason(exc)}); nothing was imported") from None


def _reason(exc: ET.ParseError) -> str:
    """expat's message without its position suffix ("no element found", "mismatched tag", ...)."""
    return str(exc).split(":")[0]


def ended(fp: IO[bytes], name: str, root_name: str, what: str) -> Iterator[ET.Element]:
    """Yield each element named `name` (any namespace) once complete, then empty it: for a file whose elements of
    interest (WordPress's <item>s) hold everything they need. Only end events are read (half the events of
    `top_level`); the emptied shells stay in their parent, a few bytes each. The root is checked at the end
    (the caller's transaction is rolled back if it is not `root_name`)."""
    parser = ET.iterparse(fp, events=("end",))
    try:
        for _, elem in parser:
            if elem.tag == name or elem.tag.endswith("}" + name):
                yield elem
                elem.clear()
    except ET.ParseError as exc:
        line, column = exc.position
        raise ImportFileError(f"the file is not well-formed XML at line {line}, column {column + 1}"
                              f" ({_reason(exc)}); nothing was imported") from None
    root = parser.root
    if root is not None and local(root.tag) != root_name:
        raise ImportFileError(f"not {what}: the root element is <{local(root.tag)[:40]}>, not <{root_name}>")
