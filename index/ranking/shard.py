"""One shard's part of a cluster's ranking: its candidates, with what the global cuts need.

``search.rank`` cuts the paragraphs holding a query word to the best ``PRESELECT`` by a coarse score,
adds the paragraphs of the best ``TITLE_ARTICLES`` title matches, and keeps the best ``limit`` by the
final score. Over a cluster each cut must be taken over every shard at once, or the answer would
depend on how the articles were split. So a shard applies its own cuts (which keep every paragraph
the global cuts can keep: a paragraph among the best P of all is among the best P of its shard) and
returns each candidate with its coarse and final scores and its place in the global order of ties;
``merge.py`` takes the global cuts from these. (A shard is asked for fewer than P, its share with a
margin; ``merge.py`` asks again, for P, a shard whose every paragraph sent made the global cut.)

Ties are ordered by (day, article key, position): a generation numbers its paragraphs in that order
(``build.date_order``), so this is the order of paragraph numbers on one machine as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from newsbot.index.generation import Generation
from newsbot.index.layout import FLAG_HEADLINE
from newsbot.index.ranking import compiled, scratch
from newsbot.index.ranking.bm25 import accumulate
from newsbot.index.ranking.inputs import rank_arrays, rank_settings
from newsbot.index.ranking.params import RankParams, Window
from newsbot.index.ranking.search import _scores, _visible, coarse_scores, top_indices

_EMPTY = np.empty(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Candidates:
    """A shard's candidates for one question, as parallel arrays (plain numpy: cheap to ship).

    Rows are paragraphs; ``titled`` lists the shard's best title matches (articles), which the
    global title cut chooses among. Keys order ties: (day, key, position) for paragraphs, (day,
    key) for articles.
    """

    final: np.ndarray  # float64: the paragraph's score
    coarse: np.ndarray  # float64: its preselect score; -inf for one only a title match brought in
    day: np.ndarray  # int64 per row: its article's day
    key: np.ndarray  # int64: its article's key
    position: np.ndarray  # int64: its place in the article
    article: np.ndarray  # int64: its article's id in the shard's store
    headline: np.ndarray  # bool: its article is a video page, shown by its headline
    titled_day: np.ndarray  # int64 per best title match
    titled_key: np.ndarray
    titled_score: np.ndarray  # float64: the title's BM25

    @classmethod
    def empty(cls) -> Candidates:
        f, b = np.empty(0, dtype=np.float64), np.empty(0, dtype=bool)
        return cls(f, f, _EMPTY, _EMPTY, _EMPTY, _EMPTY, b, _EMPTY, _EMPTY, f)

    def __len__(self) -> int:
        return len(self.final)


def candidates(
    gen: Generation, term_ids: list[int], window: Window, params: RankParams, preselect: int | None = None
) -> Candidates:
    """The candidates of ``gen`` for a question of ``term_ids`` (see the module docstring), the
    preselection cut at ``preselect`` (default: one index's, ``PRESELECT``; a cluster asks for fewer,
    ``merge.kept``).

    Needs a generation with article keys (layout 12). By the compiled kernels once they are loaded
    (``compiled.start()``; ``pruned.candidates``, which reads only the blocks of postings that can
    make the cuts), else by numpy: the same rows, scores and order either way.
    """
    if not term_ids or gen.n_paragraphs == 0 or gen.art_keys is None:
        return Candidates.empty()
    found = compiled.candidates(gen, term_ids, window, params, preselect=preselect)
    if found is None:
        return candidates_numpy(gen, term_ids, window, params, preselect)
    return _described(gen, *found)


def candidates_numpy(
    gen: Generation, term_ids: list[int], window: Window, params: RankParams, preselect: int | None = None
) -> Candidates:
    """``candidates`` in numpy: the reference the kernels are tested against (tests/test_cluster.py),
    and what ranks where they are not loaded. The same float operations as ``search.rank_numpy``, so
    the scores equal one index's bit for bit."""
    if not term_ids or gen.n_paragraphs == 0 or gen.art_keys is None:
        return Candidates.empty()
    ix, (s, tables) = rank_arrays(gen), rank_settings(gen, window, params, 1)
    if preselect is not None:
        s = s._replace(preselect=preselect)
    with scratch.take_for(gen) as buf:
        b_touched, constant = accumulate(gen.body(), term_ids, buf.body)
        t_touched = a_touched = _EMPTY
        articles = gen.articles() if s.whole_article_weight else None
        try:
            if s.title_weight:
                t_touched, _ = accumulate(gen.titles(), term_ids, buf.titles)
            if articles is not None:
                a_touched, _ = accumulate(articles, term_ids, buf.whole)
            touched = _visible(b_touched, ix, s)
            coarse = coarse_scores(ix, s, tables, buf, touched)
            if len(touched) > s.preselect:
                keep = np.sort(top_indices(coarse, s.preselect))  # ties to lower numbers
                touched, coarse = touched[keep], coarse[keep]
            titled = _EMPTY
            if len(t_touched):
                titled = t_touched[top_indices(buf.titles[t_touched], s.title_articles, t_touched)]
            extra = _title_paragraphs(gen, titled, touched)
            extra = _visible(extra, ix, s)
            cand = np.concatenate([touched, extra])
            final = _scores(ix, s, tables, buf, cand) + constant
            coarse = np.concatenate([coarse, np.full(len(extra), -np.inf)])
            title_scores = buf.titles[titled].copy()
        finally:
            buf.body[b_touched] = 0.0
            buf.titles[t_touched] = 0.0
            buf.whole[a_touched] = 0.0
    return _described(gen, cand, final, coarse, titled, title_scores)


def _title_paragraphs(gen: Generation, titled: np.ndarray, touched: np.ndarray) -> np.ndarray:
    """The paragraphs of the articles ``titled`` that are not in ``touched``."""
    if not len(titled):
        return _EMPTY
    start = np.asarray(gen.art_start)
    every = np.concatenate([np.arange(start[a], start[a + 1]) for a in titled])
    return np.setdiff1d(every, touched, assume_unique=True)


def _described(
    gen: Generation,
    cand: np.ndarray,
    final: np.ndarray,
    coarse: np.ndarray,
    titled: np.ndarray,
    title_scores: np.ndarray,
) -> Candidates:
    """The candidates with their keys and what an answer cites them by."""
    keys = np.asarray(gen.art_keys)
    days = np.asarray(gen.art_days).astype(np.int64)
    start = np.asarray(gen.art_start)
    art = np.asarray(gen.para_article)[cand]
    first = start[art]
    return Candidates(
        final=np.asarray(final, dtype=np.float64),
        coarse=np.asarray(coarse, dtype=np.float64),
        day=days[art],
        key=keys[art].astype(np.int64),
        position=(cand - first).astype(np.int64),
        article=np.asarray(gen.art_ids)[art].astype(np.int64),
        headline=(np.asarray(gen.para_flags)[first] & FLAG_HEADLINE) != 0,
        titled_day=days[titled],
        titled_key=keys[titled].astype(np.int64),
        titled_score=np.asarray(title_scores, dtype=np.float64),
    )
