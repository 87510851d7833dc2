"""No XML entity is ever expanded from a feed: a document type's internal subset (where entities are
declared) is removed before parsing, and HTML's named entities become character references."""

from __future__ import annotations

import re
from html.entities import name2codepoint

_NAMED_ENTITY = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
_XML_ENTITIES = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})


def numeric_entities(data: bytes) -> bytes:
    """HTML's named entities (``&eacute;``, common in RSS 0.91) as character references, which
    every XML parser reads; the XML parser would otherwise drop or reject them."""

    def swap(m: re.Match[bytes]) -> bytes:
        name = m.group(1)
        if name in _XML_ENTITIES:
            return m.group(0)
        code = name2codepoint.get(name.decode("ascii"))
        return b"&#%d;" % code if code is not None else m.group(0)

    return _NAMED_ENTITY.sub(swap, data)


_PROLOG_END = re.compile(rb"<[A-Za-z_]")


def strip_internal_subset(data: bytes) -> tuple[bytes, bool]:
    """Remove the internal subset (``[ … ]``, where entities are declared) of a DOCTYPE before the
    root element; returns the bytes and whether anything was removed."""
    end = _PROLOG_END.search(data)
    prolog_end = end.start() if end else len(data)
    start = data.find(b"<!DOCTYPE", 0, prolog_end)
    if start < 0:
        start = data.upper().find(b"<!DOCTYPE", 0, prolog_end)
        if start < 0:
            return data, False
    i = start + 9
    quote = 0
    bracket_at = -1
    n = len(data)
    while i < n:
        c = data[i]
        if quote:
            if c == quote:
                quote = 0
        elif c in (0x22, 0x27):
            quote = c
        elif c == 0x5B and bracket_at < 0:  # [
            bracket_at = i
            close = _subset_end(data, i + 1)
            if close < 0:
                return data[:start] + data[prolog_end:], True
            i = close
        elif c == 0x3E:  # >
            if bracket_at < 0:
                return data, False
            return data[:bracket_at] + b">" + data[i + 1 :], True
        i += 1
    return data[:start], True


def _subset_end(data: bytes, i: int) -> int:
    """Index of the ``]`` closing an internal subset starting at ``i`` (quotes and comments skipped)."""
    n = len(data)
    quote = 0
    while i < n:
        c = data[i]
        if quote:
            if c == quote:
                quote = 0
        elif data.startswith(b"<!--", i):
            close = data.find(b"-->", i + 4)
            if close < 0:
                return -1
            i = close + 2
        elif c in (0x22, 0x27):
            quote = c
        elif c == 0x5D:  # ]
            return i
        i += 1
    return -1
