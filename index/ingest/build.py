"""A generation's arrays, computed from the stored rows."""

from __future__ import annotations

import numpy as np

from newsbot.index.layout import FLAG_JUNK


def headline_documents(
    blobs: list[bytes], title_blobs: list[bytes], para_flags: np.ndarray, art_start: np.ndarray
) -> np.ndarray:
    """The paragraphs as BM25 documents: an article with nothing but junk paragraphs (a video page:
    a headline over a player's feedback form) is found by its headline, so its first paragraph's
    document is the title's terms followed by its own (``blobs`` is changed in place). Returns the
    numbers of those articles.

    ``blobs``: each paragraph's terms (uint32 ids), in article and position order; ``title_blobs``:
    each article's title terms; ``para_flags``: the stored flags; ``art_start``: where each article's
    paragraphs start in ``blobs`` (one more entry than there are articles).
    """
    n_art = len(art_start) - 1
    para_article = np.repeat(np.arange(n_art), np.diff(art_start))
    real = np.bincount(para_article, weights=(para_flags & FLAG_JUNK) == 0, minlength=n_art)
    headline = np.flatnonzero((real == 0) & (art_start[1:] > art_start[:-1]))
    for a in headline:
        blobs[art_start[a]] = title_blobs[a] + blobs[art_start[a]]
    return headline
