"""Text helpers shared by the feed reader, the page extractor and the archive writer."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlsplit, urlunsplit

from newsbot.index.ingest.parse import utf8

# C0 and C1 controls (tab and newline are whitespace, handled by the caller), non-characters,
# and the bidirectional overrides and isolates, which can make a title read backwards.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\u202a-\u202e\u2066-\u2069]")
_SPACE = re.compile(r"\s+")
_BLANK = re.compile(r"\n[ \t\f\v\r\u00a0]*\n\s*")

TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_hsenc", "_hsmi"}
)


def clean_line(text: str) -> str:
    """One line of text: controls removed, runs of whitespace made one space, no lone surrogates."""
    return _SPACE.sub(" ", _CONTROLS.sub("", utf8(text))).strip()


def text_paragraphs(text: str) -> list[str]:
    """Plain text to paragraphs: blank lines separate them, the lines of one are joined."""
    text = _CONTROLS.sub("", utf8(text).replace("\r\n", "\n").replace("\r", "\n"))
    return [p for p in (clean_line(part) for part in _BLANK.split(text)) if p]


_BLOCK = frozenset(
    "p div li ul ol h1 h2 h3 h4 h5 h6 blockquote pre table tr section article header footer "
    "figure figcaption hr dd dt dl aside main address details summary center".split()
)
_SKIP = frozenset("script style noscript template iframe object svg math head title select button".split())


class _Paragraphs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data.replace("\n", " "))


_TAG = re.compile(r"<[a-zA-Z/!][^>]*>")


def html_paragraphs(html: str) -> list[str]:
    """HTML (a feed item's content or summary) to paragraphs, one per block element or ``<br><br>``.

    Text without any tag is read as plain text (blank lines separate paragraphs).
    """
    if not _TAG.search(html):
        return text_paragraphs(unescape(html))
    parser = _Paragraphs()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # very broken markup: keep what was read
        pass
    return text_paragraphs("".join(parser.parts))


def canonical_url(url: str) -> str:
    """``url`` as a key: scheme and host lower case, no default port, no fragment, no tracking
    parameters (``utm_*``, ``fbclid``…); the rest (path, other parameters in order) kept."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not scheme or not host:
        return url
    if ":" in host:
        host = f"[{host}]"
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = "&".join(
        piece
        for piece in parts.query.split("&")
        if piece and not _is_tracking(piece.split("=", 1)[0].lower())
    )
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def _is_tracking(key: str) -> bool:
    return key.startswith("utm_") or key in TRACKING_PARAMS
