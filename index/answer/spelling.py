"""Words the index holds that are one typing slip away from a word it does not ("festivl" →
"festival"), so that a question none of whose words are known can be answered with a suggestion.

Candidates are every string one edit away (a letter left out, added, changed, or two swapped: most
typing mistakes); those the index holds are looked up, and the one in the most paragraphs and titles
wins. Terms are compared as the tokenizer leaves them (lower case, accents folded).
"""

from __future__ import annotations

import string

LETTERS = string.ascii_lowercase
MIN_LENGTH = 4  # shorter words have too many neighbours to guess from
MAX_LENGTH = 30  # longer ones are not words
SHOWN_CHARS = 200  # a respelt question is shown cut to about this length
INFLECTIONS = "sd"  # a last letter that makes another form of a word (plural, past)


def edits(word: str) -> set[str]:
    """Every string one edit from ``word`` (the letters tried: a–z and the word's own)."""
    letters = set(LETTERS) | set(word)
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in letters}
    out |= {a + c + b for a, b in splits for c in letters}
    out.discard(word)
    return out


def candidates(word: str, *, endings: bool = True) -> set[str]:
    """The strings to look up for ``word``: none for words too short or too long to guess from, or
    holding a digit (numbers, ids: not misspellings).

    ``endings=False``: no "s" or "d" added or left out at the end. That is how a word's other forms
    differ ("reopen", "reopens"): when the rest of a question was found, its form, spelt right, is
    merely not in the news. (When nothing was found, "reopen" → "reopens" helps.)
    """
    if not MIN_LENGTH <= len(word) <= MAX_LENGTH or any(c.isdigit() for c in word):
        return set()
    out = {w for w in edits(word) if len(w) >= MIN_LENGTH}
    if endings:
        return out
    forms = {word + c for c in INFLECTIONS} | ({word[:-1]} if word[-1] in INFLECTIONS else set())
    return out - forms


def best(found: dict[str, int]) -> str | None:
    """The most used of the candidates found (``term → paragraphs and titles holding it``), or None
    when none is used; ties go to the alphabetically first."""
    used = [(-n, term) for term, n in found.items() if n > 0]
    return min(used)[1] if used else None


def respell(text: str, spans: list[tuple[int, int, str]], fixed: dict[str, str]) -> str:
    """``text`` with each word whose term (``spans``: the tokenizer's ``(start, end, term)``) has a
    suggestion in ``fixed`` replaced by it, capitalised as the word was typed (whole: a note
    shows it cut to SHOWN_CHARS)."""
    out, pos = [], 0
    for start, end, term in spans:
        if term in fixed:
            typed, word = text[start:end], fixed[term]
            if typed.isupper() and len(typed) > 1:
                word = word.upper()
            elif typed[:1].isupper():
                word = word[:1].upper() + word[1:]
            out += [text[pos:start], word]
            pos = end
    return " ".join(("".join(out) + text[pos:]).split())


def shorten(text: str, limit: int) -> str:
    """``text`` cut on a word to about ``limit`` characters, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def did_you_mean(respelt: str) -> str:
    shown = shorten(respelt, SHOWN_CHARS)
    return f"Did you mean “{shown}”{'' if shown[-1:] in '?!.…' else '?'}"
