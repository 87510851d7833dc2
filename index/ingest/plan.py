"""The rows one reindex writes."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field


@dataclass(slots=True)
class _WriteState:
    """What the planner needs to know of the store: ids in use and the vocabulary."""

    vocab: dict[str, int]
    by_hash: dict[str, int]
    next_article: int
    next_paragraph: int
    term_offset: int = 0

    def __post_init__(self) -> None:
        # new term ids continue after the largest in use (ids are never reused)
        self.term_offset = (max(self.vocab.values()) + 1 - len(self.vocab)) if self.vocab else 0

    def encode(self, tokens: list[list[str]], new_terms: list[tuple[int, str]]) -> list[bytes]:
        """Each token list as its term ids (4 bytes each); words not seen before get new ids, and
        their ``(id, term)`` pairs are added to ``new_terms``."""
        vocab = self.vocab
        for term in {t for toks in tokens for t in toks}.difference(vocab):
            vocab[term] = len(vocab) + self.term_offset
            new_terms.append((vocab[term], term))
        return [array("I", map(vocab.__getitem__, toks)).tobytes() for toks in tokens]


@dataclass(slots=True)
class _Plan:
    """The rows one reindex writes."""

    seen: set[tuple[str, str]] = field(default_factory=set)
    terms: list[tuple[int, str]] = field(default_factory=list)
    articles: list[tuple[object, ...]] = field(default_factory=list)
    paragraphs: list[tuple[object, ...]] = field(default_factory=list)
    updates: list[tuple[object, ...]] = field(default_factory=list)
    files: list[tuple[object, ...]] = field(default_factory=list)


@dataclass(slots=True)
class _FileRow:
    unit: str
    stamp: str
    content_hash: str
    article_id: int
