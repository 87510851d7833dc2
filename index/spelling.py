"""Words the index holds that are one typing slip away from a word it does not ("festivl" →
"festival"), so that a question none of whose words are known can be answered with a suggestion.

Candidates are every string one edit away (a letter left out, added, changed, or two swapped: most
typing mistakes); those the index holds are looked up, and the one in the most paragraphs and titles
wins. Terms are compared as the tokenizer leaves them (lower case, accents folded).
"""

from __future__ import annotations

import string

LETTERS = string.ascii_lowercase + string.digits
MIN_LENGTH = 3  # shorter words have too many neighbours to guess from
MAX_LENGTH = 30  # longer ones are not words


def edits(word: str) -> set[str]:
    """Every string one edit from ``word`` (the letters tried: a–z, 0–9 and the word's own)."""
    letters = set(LETTERS) | set(word)
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in letters}
    out |= {a + c + b for a, b in splits for c in letters}
    out.discard(word)
    return out


def candidates(word: str) -> set[str]:
    """The strings to look up for ``word`` (none for words too short or too long to guess)."""
    if not MIN_LENGTH <= len(word) <= MAX_LENGTH:
        return set()
    return {w for w in edits(word) if len(w) >= MIN_LENGTH - 1}


def best(found: dict[str, int]) -> str | None:
    """The most used of the candidates found (``term → paragraphs and titles holding it``), or None
    when none is used; ties go to the alphabetically first."""
    used = [(-n, term) for term, n in found.items() if n > 0]
    return min(used)[1] if used else None
