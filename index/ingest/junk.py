"""The junk rules: paragraphs that never answer a question (bylines, captions, datelines, sign-up lines).

A junk paragraph stays in the store and in the generation (its article's other paragraphs keep their
positions, and an article of nothing but junk, a video page, is found by its headline), but it is never
shown as an answer. Its flag is computed once, when the paragraph is stored, from the paragraph's first
characters, its length and its number of terms; ``JUNK_RULES`` versions the rules, so that the next
reindex after a change computes the stored flags again.
"""

from __future__ import annotations

import re

from newsbot.index.layout import FLAG_JUNK

JUNK_RULES = 2  # the version of is_junk; stored flags are computed again when it changes
START = 120  # the first characters of a paragraph that the rules read

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

    ``start`` is the paragraph's first characters (``START`` are enough), ``length`` its length.
    """
    if n_tokens < 4 or _AD_FORM.match(start):
        return True
    if length < 80 and (_DATELINE.search(start) or _STAMP.search(start)):
        return True
    return length < 120 and bool(_JUNK.match(start.strip(" -—–(")))


def junk_flag(start: str, length: int, n_tokens: int) -> int:
    """The stored flag of a paragraph: ``FLAG_JUNK`` when :func:`is_junk`, else 0."""
    return FLAG_JUNK if is_junk(start, length, n_tokens) else 0
