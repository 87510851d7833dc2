"""Ranking: BM25 over paragraphs, titles and whole articles, with the news features, in numpy and numba."""
