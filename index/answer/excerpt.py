"""The short excerpt that shows why a paragraph matched: its best one to three sentences, trimmed.

The paragraph's whitespace runs are collapsed to single spaces first, and everything (sentences,
matched words, cuts, marks) is measured in that collapsed text, so marks always point at the words.
The tokenizer reads the paragraph once; everything else is linear or bounded by ``max_chars``.

A paragraph longer than :data:`LONG_PARAGRAPH` characters (a whole book as one paragraph) is excerpted
from one chunk of it, so that the tokenizer reads a bounded part whatever its size: the chunk that a
cheap search of the normalised text (see :func:`richest_chunks`) finds richest in the question's
terms, or its first chunk when none is confirmed.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left

from newsbot.index.model import Excerpt
from newsbot.index.tokenizer import Tokenizer, normalise

__all__ = ["LONG_PARAGRAPH", "head", "make_excerpt", "richest_chunks", "sentences"]

LONG_PARAGRAPH = 200_000  # characters: a longer paragraph is excerpted from a chunk of it
_CHUNK = 65_536  # characters of a chunk, at most
_TOKENIZED_CHUNKS = 3  # chunks of a long paragraph excerpted, at most (the cheap search can be wrong)
_SEARCHED = 32 * 1024 * 1024  # characters of a long paragraph searched, at most

_SPACES = re.compile(r"\s+")
_TITLES = "Mr Mrs Ms Dr Prof St Sr Jr Gen Gov Sen Rep Lt Col Sgt Capt Rev Hon No vs"
_TITLES += " Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec"
# A full stop after a title ("Mr.") or an initial ("J.", "U.S.", but not "Paul's.") ends no sentence.
_NOT_ABBREVIATION = "".join(
    rf"(?<!\b(?:{'|'.join(t for t in _TITLES.split() if len(t) == n)})\.)" for n in (2, 3, 4)
)
_NOT_ABBREVIATION += r"(?<![^\w'’][A-Za-z]\.)(?<!^[A-Za-z]\.)"
# The end of a sentence: terminal punctuation, closing quotes or brackets, one space, then a capital,
# a digit or an opening quote (non-ASCII letters are checked with str.isupper()).
_STOP = re.compile(
    rf"(?:[!?][.!?]*|\.[.!?]+|\.{_NOT_ABBREVIATION})[\"'”’»)\]]* (?=[\"'“‘«(\[0-9A-Z]|[^\x00-\x7f])"
)
_OPENERS = "\"'“‘«(["
_GLUE = frozenset("\u200d\ufe0e\ufe0f")  # zero-width joiner and variation selectors stay with their neighbour

Word = tuple[int, int, str]


def make_excerpt(
    text: str, query_terms: set[str] | frozenset[str], tokenizer: Tokenizer, max_chars: int = 300
) -> Excerpt:
    """The 1–3 sentences of ``text`` richest in ``query_terms`` (tokenizer terms), at most ``max_chars`` long.

    Ties go to more matches in all, then to the earlier window. A window that is too long is cut on word
    boundaries around its densest cluster of matches; with no match at all, the paragraph's beginning.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    if len(text) > LONG_PARAGRAPH:
        return _long_excerpt(text, query_terms, tokenizer, max_chars)
    return _excerpt(text, query_terms, tokenizer, max_chars)


def _excerpt(
    text: str, query_terms: set[str] | frozenset[str], tokenizer: Tokenizer, max_chars: int
) -> Excerpt:
    flat = _SPACES.sub(" ", text).strip(" ")
    if not flat:
        return Excerpt("")
    words = [w for w in tokenizer.spans(flat) if w[2] in query_terms] if query_terms else []
    if words:
        start, end = _best_window(sentences(flat), words, max_chars)
    else:
        start, end = 0, len(flat)
    if end - start > max_chars:
        inside = [w for w in words if start <= w[0] and w[1] <= end]
        start, end = _trim(flat, start, end, inside, max_chars)
        while end > start + 1 and flat[end - 1] == " ":
            end -= 1
        while start < end - 1 and flat[start] == " ":
            start += 1
    marks = _marks(flat, [w for w in words if start <= w[0] and w[1] <= end], start)
    return Excerpt(flat[start:end], marks, start > 0, end < len(flat))


def _long_excerpt(
    text: str, query_terms: set[str] | frozenset[str], tokenizer: Tokenizer, max_chars: int
) -> Excerpt:
    """The excerpt of the chunk of ``text`` richest in ``query_terms`` (its first chunk without one)."""
    for lo, hi in richest_chunks(text, query_terms, tokenizer.spec.stem)[:_TOKENIZED_CHUNKS]:
        ex = _excerpt(text[lo:hi], query_terms, tokenizer, max_chars)
        if ex.marks:  # (the cheap search may be wrong: a term's letters inside another word)
            return _within(text, lo, hi, ex)
    hi = _chunk_end(text, 0)
    return _within(text, 0, hi, _excerpt(text[:hi], query_terms, tokenizer, max_chars))


def _within(text: str, lo: int, hi: int, ex: Excerpt) -> Excerpt:
    """``ex``, an excerpt of ``text[lo:hi]``, as an excerpt of ``text``."""
    before = lo > 0 and (not text[0].isspace() or bool(text[:lo].strip()))
    after = hi < len(text) and (not text[-1].isspace() or bool(text[hi:].strip()))
    return Excerpt(ex.text, ex.marks, ex.cut_start or before, ex.cut_end or after)


def _chunk_end(text: str, lo: int) -> int:
    """Where the chunk of ``text`` that starts at ``lo`` ends: at a space when there is one."""
    if len(text) - lo <= _CHUNK:
        return len(text)
    space = text.rfind(" ", lo + _CHUNK // 2, lo + _CHUNK)
    return space if space > lo else lo + _CHUNK


def head(text: str) -> str:
    """``text``, or its first chunk when it is longer than :data:`LONG_PARAGRAPH`."""
    return text if len(text) <= LONG_PARAGRAPH else text[: _chunk_end(text, 0)]


def richest_chunks(text: str, query_terms: set[str] | frozenset[str], stem: bool) -> list[tuple[int, int]]:
    """``(start, end)`` of the chunks of ``text`` (cut at spaces) that seem to hold query terms, those
    that seem to hold the most distinct ones first, then in order; only the first ``_SEARCHED``
    characters are read.

    The search is cheap and approximate: a chunk's text is normalised as the tokenizer normalises
    words (case, accents, apostrophes) and searched for each term, or with stemming (``stem``) for its
    first letters. It can be wrong both ways: a term's letters inside another word, or a stem that
    is not a prefix of its words ("die" of "dying").
    """
    keys = {t[: max(3, len(t) - 2)] if stem else t for t in query_terms if t}
    found: list[tuple[int, int, int]] = []
    lo = 0
    while lo < min(len(text), _SEARCHED) and keys:
        hi = _chunk_end(text, lo)
        flat = " ".join(normalise([text[lo:hi]]))
        if held := sum(key in flat for key in keys):
            found.append((-held, lo, hi))
        lo = hi
    return [(lo, hi) for _, lo, hi in sorted(found)]


def sentences(flat: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of whitespace-collapsed text (no space at either end)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _STOP.finditer(flat):
        after = m.end()
        char = flat[after]
        if char >= "\x80" and not (char.isupper() or char.isdigit() or char in _OPENERS):
            continue
        spans.append((start, after - 1))
        start = after
    spans.append((start, len(flat)))
    return spans


def _best_window(spans: list[tuple[int, int]], words: list[Word], max_chars: int) -> tuple[int, int]:
    """The 1–3 consecutive sentences with the most distinct matched terms, then the most matches.

    Windows longer than one sentence count only when they fit in ``max_chars`` and have matches in their
    first and last sentences (anything else only adds text that would be trimmed again).
    """
    ends = [e for _, e in spans]
    found: dict[int, list[str]] = {}
    for s, _, term in words:
        found.setdefault(bisect_left(ends, s), []).append(term)
    best = (0, 0)
    window = (0, 0)
    for i, first in found.items():  # in sentence order, so ties keep the earlier window
        seen = set(first)
        total = len(first)
        for j in range(i, min(i + 3, len(spans))):
            if j > i:
                if spans[j][1] - spans[i][0] > max_chars:
                    break
                more = found.get(j)
                if not more:
                    continue
                seen.update(more)
                total += len(more)
            if (len(seen), total) > best:
                best, window = (len(seen), total), (spans[i][0], spans[j][1])
    return window


def _trim(flat: str, start: int, end: int, words: list[Word], max_chars: int) -> tuple[int, int]:
    """At most ``max_chars`` of ``flat[start:end]``, centred on the densest cluster of ``words``."""
    cluster = _densest(words, max_chars)
    if cluster is None:
        return start, _snap_end(flat, start + 1, start + max_chars, start + max_chars // 2)
    lo, hi = cluster
    slack = max_chars - (hi - lo)
    left = max(start, min(lo - slack // 2, end - max_chars))
    right = left + max_chars
    return _snap_start(flat, left, lo), _snap_end(flat, hi, right, hi)


def _densest(words: list[Word], max_chars: int) -> tuple[int, int] | None:
    """The span of the matched words that fit together in ``max_chars`` with the most distinct terms."""
    words = [w for w in words if w[1] - w[0] <= max_chars]
    counts: dict[str, int] = {}
    best: tuple[int, int] | None = None
    cluster: tuple[int, int] | None = None
    j = 0
    for i, (s, _, term) in enumerate(words):
        while j < len(words) and words[j][1] - s <= max_chars:
            counts[words[j][2]] = counts.get(words[j][2], 0) + 1
            j += 1
        score = (len(counts), j - i)
        if best is None or score > best:
            best, cluster = score, (s, words[j - 1][1])
        counts[term] -= 1
        if not counts[term]:
            del counts[term]
    return cluster


def _snap_start(flat: str, lo: int, hi: int) -> int:
    """The first place in ``[lo, hi]`` to start without splitting a word (``hi`` always qualifies)."""
    if lo == 0 or flat[lo - 1] == " ":
        return lo
    space = flat.find(" ", lo, hi)
    if space >= 0:
        return space + 1
    return next((p for p in range(lo, hi) if _breakable(flat, p)), hi)


def _snap_end(flat: str, lo: int, hi: int, prefer: int) -> int:
    """The last place in ``[lo, hi]`` to stop without splitting a word, looking in ``[prefer, hi]`` first.

    If there is none (one huge word), a hard cut that at least keeps combining marks with their letter.
    """
    if hi >= len(flat) or flat[hi] == " ":
        return min(hi, len(flat))
    for floor in (max(lo, prefer), lo):
        space = flat.rfind(" ", floor, hi)
        if space >= 0:
            return space
        found = next((p for p in range(hi, floor - 1, -1) if _breakable(flat, p)), None)
        if found is not None:
            return found
    cut = hi
    while cut > lo and not _keeps_clusters(flat, cut):
        cut -= 1
    return cut if _keeps_clusters(flat, cut) else hi


def _letter(char: str) -> bool:
    return char.isalnum() or unicodedata.category(char)[0] == "M"


def _inside_word(flat: str, p: int) -> bool:
    """True when ``flat[p - 1]`` and ``flat[p]`` belong to one word (inner apostrophes included)."""
    before, after = flat[p - 1], flat[p]
    if _letter(after):
        return _letter(before) or (before in "'’" and p >= 2 and _letter(flat[p - 2]))
    if after in "'’":
        return _letter(before) and p + 1 < len(flat) and _letter(flat[p + 1])
    return False


def _keeps_clusters(flat: str, p: int) -> bool:
    """Cutting before ``flat[p]`` keeps combining marks and joined emoji with what they modify."""
    if p <= 0 or p >= len(flat):
        return True
    char = flat[p]
    return not (unicodedata.category(char)[0] == "M" or char in _GLUE or flat[p - 1] == "\u200d")


def _breakable(flat: str, p: int) -> bool:
    """Cutting before ``flat[p]`` splits no word."""
    if p <= 0 or p >= len(flat) or flat[p - 1] == " " or flat[p] == " ":
        return True
    return _keeps_clusters(flat, p) and not _inside_word(flat, p)


def _marks(flat: str, words: list[Word], offset: int) -> tuple[tuple[int, int], ...]:
    """Excerpt offsets of the matched words, neighbours separated by one space merged into one mark."""
    marks: list[tuple[int, int]] = []
    for s, e, _ in words:
        if marks and s - (marks[-1][1] + offset) <= 1 and not flat[marks[-1][1] + offset : s].strip(" "):
            marks[-1] = (marks[-1][0], e - offset)
        else:
            marks.append((s - offset, e - offset))
    return tuple(marks)
