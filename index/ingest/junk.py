"""The junk rules: paragraphs that never answer a question (bylines, captions, datelines, sign-up lines)."""

from __future__ import annotations

import re

JUNK_RULES = 2  # the version of is_junk; stored flags are computed again when it changes

_JUNK = re.compile(
    r"^(by |photo|image|video|watch|read more|sign up|click here|copyright|©|follow |"
    r"getty images|ap photo|reuters|advertisement|related:|more:|caption)",
    re.IGNORECASE,
)
# the feedback form under an embedded video player, however long
_AD_FORM = re.compile(r"^(video player was slow to load|\d*\.?\s*how relevant is this ad)", re.IGNORECASE)


_DATELINE = re.compile(r"[—–-]\s*$")  # "New York CNN Business —": a dateline on its own line
# "Updated March 26, 2026, 7:29 a.m. ET", "Nov. 20, 2024, 9:33 p.m. ET": a time stamp on its own line
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_STAMP = re.compile(
    rf"^(?:(?:updated|published|posted):?\s+(?:on\s+)?(?:{_MONTH}\s+\d|\d)"
    rf"|{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}.*\d{{1,2}}:\d{{2}}\s*[ap]\.?m\.?\s*[a-z]{{2,4}}\s*$)",
    re.IGNORECASE,
)


def is_junk(start: str, length: int, n_tokens: int) -> bool:
    """Bylines, captions, sign-up lines, datelines, time stamps, a video player's feedback form and
    other paragraphs that never answer.

    ``start`` is the paragraph's first characters (120 are enough), ``length`` its length.
    """
    if n_tokens < 4 or _AD_FORM.match(start):
        return True
    if length < 80 and (_DATELINE.search(start) or _STAMP.search(start)):
        return True
    return length < 120 and bool(_JUNK.match(start.strip(" -—–(")))
