"""The one tokenizer: used to index paragraphs and to read questions, and saved with the index.

A word is a run of Unicode letters, digits and combining marks (inner apostrophes kept, and inner
ampersands: "AT&T", "S&P", "R&B" are words of their own, not stopwords and stray letters). Each word
is normalised (NFKD, case-folded, accents and other combining marks dropped, NFC) so that "Café"
and "cafe" meet; a trailing possessive is dropped; stopwords are dropped and the rest stemmed with
Snowball (PyStemmer, a C implementation) when those options are on. The options live in a
:class:`TokenizerSpec` that the store saves, so questions are always read the way paragraphs were.

``tokens()`` and ``spans()`` share one pipeline, so a term found in a question is exactly the term
the index holds, and ``spans()`` can point at the words in the original text for highlighting.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from dataclasses import asdict, dataclass

import Stemmer

TOKENIZER_VERSION = 2  # 2: inner ampersands join a word; 1 (split them) is still read, until a reindex


def _mark_ranges() -> str:
    """A regex character class body for the combining marks of the Basic Multilingual Plane."""
    ranges: list[tuple[int, int]] = []
    for cp in range(0x300, 0x10000):
        if unicodedata.category(chr(cp)).startswith("M"):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "".join(f"\\u{a:04x}-\\u{b:04x}" if a != b else f"\\u{a:04x}" for a, b in ranges)


_MARKS = _mark_ranges()
_WORDS = {
    1: re.compile(rf"[^\W_](?:[^\W_]|[{_MARKS}]|['’](?=[^\W_]))*"),
    2: re.compile(rf"[^\W_](?:[^\W_]|[{_MARKS}]|['’&](?=[^\W_]))*"),
}
_DROP_MARKS = {cp: None for cp in range(0x300, 0x10000) if unicodedata.combining(chr(cp))}
_SEP = "\x00"

# A compact English stopword list: function words only, so that names and content words survive.
ENGLISH_STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours yourself yourselves s t d ll m re ve y
    also got get gets onto upon via said says say
    """.split()
)


@dataclass(frozen=True, slots=True)
class TokenizerSpec:
    """Everything that decides how text becomes tokens; saved with the index."""

    language: str = "english"
    stem: bool = False  # as the settings' default (index.stem)
    stopwords: bool = True
    version: int = TOKENIZER_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TokenizerSpec:
        return cls(**json.loads(text))


_POSSESSIVE = re.compile("'s(?=\x00|$)")


def _normalise_joined(joined: str) -> str:
    """Normalise words joined by separators, in a few passes of C string functions."""
    joined = joined.replace("’", "'")
    if joined.isascii():  # most news text: the Unicode steps would change nothing but case
        joined = joined.lower()
    else:
        joined = unicodedata.normalize("NFKD", joined).casefold().translate(_DROP_MARKS)
        joined = unicodedata.normalize("NFC", joined).replace("’", "'")
    return _POSSESSIVE.sub("", joined).replace("'", "")


def normalise(words: list[str]) -> list[str]:
    """Normalise many words at once: accents and case folded, possessive and apostrophes dropped."""
    if not words:
        return []
    return _normalise_joined(_SEP.join(words)).split(_SEP)


class Tokenizer:
    """Turns text into index terms. Safe to share between threads."""

    def __init__(self, spec: TokenizerSpec | None = None) -> None:
        self.spec = spec or TokenizerSpec()
        word = _WORDS.get(self.spec.version)
        if word is None:
            raise ValueError(f"tokenizer version {self.spec.version} is not one of {sorted(_WORDS)}")
        self._word = word
        self._stemmer = Stemmer.Stemmer(self.spec.language) if self.spec.stem else None
        if self._stemmer is not None:
            self._stemmer.maxCacheSize = 500_000
        use_stop = self.spec.stopwords and self.spec.language == "english"
        self._stop = ENGLISH_STOPWORDS if use_stop else frozenset()

    def _terms(self, words: list[str]) -> list[str | None]:
        """One term per word, ``None`` where the word is a stopword."""
        norm = normalise(words)
        keep = [w if w and w not in self._stop else None for w in norm]
        if self._stemmer is None:
            return keep
        stems = iter(self._stemmer.stemWords([w for w in keep if w is not None]))
        return [next(stems) if w is not None else None for w in keep]

    def tokens(self, text: str) -> list[str]:
        """The terms of ``text``, in order, duplicates kept."""
        return [t for t in self._terms(self._word.findall(text)) if t is not None]

    def tokens_many(self, texts: list[str]) -> list[list[str]]:
        """``[self.tokens(t) for t in texts]``, in far fewer steps (for indexing)."""
        if not texts:
            return []
        stop = self._stop
        # normalised text by text, so that the ASCII ones (most) take the fast path
        chunks = [_normalise_joined(_SEP.join(self._word.findall(t))) for t in texts]
        kept = [[w for w in chunk.split(_SEP) if w and w not in stop] for chunk in chunks]
        if self._stemmer is None:
            return kept
        stems = iter(self._stemmer.stemWords([w for words in kept for w in words]))
        return [[next(stems) for _ in words] for words in kept]

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """``(start, end, term)`` for each term of ``text``, as offsets into ``text`` itself."""
        matches = list(self._word.finditer(text))
        terms = self._terms([m.group() for m in matches])
        return [(m.start(), m.end(), t) for m, t in zip(matches, terms, strict=True) if t is not None]

    def words(self, text: str) -> list[str]:
        """The non-stopwords of ``text`` as typed (for messages to users)."""
        return [text[s:e] for s, e, _ in self.spans(text)]


if __name__ == "__main__":  # pragma: no cover - a quick look from the shell
    print(Tokenizer().tokens(" ".join(sys.argv[1:])))
