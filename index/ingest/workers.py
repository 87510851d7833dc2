"""Reading and tokenizing article files in worker processes."""

from __future__ import annotations

from newsbot.index.ingest.sources import Record, SourceFile, read
from newsbot.index.model import Skipped
from newsbot.index.tokenizer import Tokenizer, TokenizerSpec

PROCESS_THRESHOLD = 2000  # files to read before worker processes pay for their start-up
PROCESS_CHUNK = 250
_worker_tokenizer: Tokenizer | None = None


def _read_and_tokenize(
    sources: list[SourceFile], spec: TokenizerSpec
) -> list[tuple[list[Record], list[Skipped]]]:
    """In a worker process: read, parse and tokenize a chunk of files."""
    global _worker_tokenizer
    if _worker_tokenizer is None or _worker_tokenizer.spec != spec:
        _worker_tokenizer = Tokenizer(spec)
    out = []
    for source in sources:
        records, skipped = read(source)
        for rec in records:
            texts = [rec.article.title, *rec.article.paragraphs]
            rec.terms = ["\x00".join(t) for t in _worker_tokenizer.tokens_many(texts)]
        out.append((records, skipped))
    return out
