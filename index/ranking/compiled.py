"""The compiled rankings (``kernels.py``, ``pruned.py``), loaded in the background; numpy ranks until
they are ready.

``start()`` imports numba and compiles the kernels on a thread of their own. numba keeps the
machine code in a cache (``__pycache__`` beside ``kernels.py``, or a per-user folder when that is
read-only), so this takes about 20 s once per machine and installed version and a few tenths of a
second after that; until then, and wherever numba cannot load, ``search.rank`` uses numpy and gives
the same results. Long-running programs (the bot, the console, batches, benchmarks) call
``start()``; one-shot commands need not pay for it.

After the warm-up, compiling is switched off: a call with argument types the warm-up did not see
(a generation built with other dtypes) raises TypeError and is answered by numpy, rather than
stalling a question for seconds while numba compiles.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np

from newsbot.index.generation import Generation
from newsbot.index.layout import ENTRY, EPOCH
from newsbot.index.ranking import scratch
from newsbot.index.ranking.bm25 import query_counts
from newsbot.index.ranking.inputs import bound_arrays, rank_arrays, rank_settings
from newsbot.index.ranking.params import RankParams, Window

log = logging.getLogger(__name__)

_lock = threading.Lock()
_thread: threading.Thread | None = None
_kernels: ModuleType | None = None  # set once the kernels are compiled and warm
_failed: str | None = None
_mismatch_logged = False
seconds_to_ready: float | None = None  # how long the warm-up took (for stats and benchmarks)


def start() -> None:
    """Begin loading the kernels in the background (once per process; later calls do nothing).

    The thread is not a daemon: a program that exits during the first compile waits for it,
    because stopping LLVM half-way at interpreter shutdown can crash the process.
    """
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_warm_up, name="newsbot-compile")
            _thread.start()


def wait(timeout: float | None = None) -> bool:
    """Block until the warm-up has finished (if it was started); True when the kernels are in use."""
    thread = _thread
    if thread is not None:
        thread.join(timeout)
    return ready()


def started() -> bool:
    """True once :func:`start` was called in this process (one-shot commands never call it)."""
    return _thread is not None


@contextlib.contextmanager
def numpy_only() -> Iterator[None]:
    """Rank with numpy inside this block even where the kernels are loaded (to compare the two)."""
    global _kernels
    kept, _kernels = _kernels, None
    try:
        yield
    finally:
        _kernels = kept


def ready() -> bool:
    return _kernels is not None


def loading() -> bool:
    """True while the warm-up thread runs (a process exiting now waits for it)."""
    return _thread is not None and _thread.is_alive()


def failure() -> str | None:
    """Why the kernels could not be loaded, if they could not."""
    return _failed


def _warm_up() -> None:
    global _kernels, _failed, seconds_to_ready
    started = time.perf_counter()
    try:
        from newsbot.index.ranking import bounds, kernels, parts, pruned

        modules = (kernels, pruned, bounds, parts)
        _check_cache(modules)
        try:
            _exercise(kernels)
        except Exception as exc:
            log.info("compiled ranking: starting numba's cache afresh (%s: %s)", type(exc).__name__, exc)
            _forget_cache(modules)
            _exercise(kernels)
        for fn in (kernels.rank, kernels.bm25_top, pruned.rank, pruned.candidates):
            fn.disable_compile()
    except Exception as exc:  # numba missing or broken here: numpy serves, same answers
        _failed = f"{type(exc).__name__}: {exc}"
        log.warning("compiled ranking unavailable, using numpy: %s", _failed)
        return
    seconds_to_ready = time.perf_counter() - started
    _kernels = kernels
    log.info("compiled ranking ready in %.1f s", seconds_to_ready)


def _check_cache(modules: tuple[ModuleType, ...]) -> None:
    """Start numba's cache afresh when any kernel file changed since it was written.

    numba checks a cached kernel against the file it is defined in only, but the kernels compile in
    the helpers of ``parts.py`` (and the named tuples of ``inputs.py`` and ``scratch.py``): a change
    there alone would leave stale machine code in use. A digest of all those files is kept beside
    the cache; when it differs, every kernel's cache is emptied first.
    """
    from newsbot.index.ranking import inputs

    sources = [Path(m.__file__ or "") for m in (*modules, inputs, scratch)]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()
    folder = getattr(getattr(modules[0].rank, "_cache", None), "_cache_path", None)  # numba's, no public name
    if folder is None:
        return
    stamp = Path(folder) / "newsbot-kernels.digest"
    with contextlib.suppress(OSError):
        if stamp.is_file() and stamp.read_text(encoding="ascii") == digest:
            return
        _forget_cache(modules)
        stamp.write_text(digest, encoding="ascii")


def _forget_cache(modules: tuple[ModuleType, ...]) -> None:
    """Empty numba's cache index of every kernel.

    The kernels take the NamedTuples of ``inputs.py``, and numba's cache index names the classes
    of the arguments it was compiled for. numba reads an index before it checks that it is stale,
    so an index written by another version of newsbot, naming a class this one moved or lacks,
    fails every call; starting afresh costs one compile.
    """
    for module in modules:
        for value in vars(module).values():
            cache = getattr(value, "_cache", None)  # numba's Dispatcher; no public way to do this
            if cache is not None:
                with contextlib.suppress(OSError):  # a read-only cache: the retry will tell
                    cache.flush()


def _exercise(kernels: ModuleType) -> None:
    """Call every kernel once on a tiny generation with the dtypes the indexer writes."""

    def ro(values: list[float] | list[int] | list[list[int]], dtype: type) -> np.ndarray:
        return np.asarray(values, dtype=dtype)

    arrays = {
        "para_ids": ro([1, 2], np.int64),
        "para_article": ro([0, 0], np.int32),
        "para_len": ro([2, 20], np.int32),
        "para_flags": ro([0, 1], np.uint8),
        "para_days": ro([19000, 19000], np.int32),
        "art_ids": ro([1], np.int64),
        "art_days": ro([19000], np.int32),
        "art_start": ro([0, 2], np.int64),
        "w_indptr": ro([0, 2, 3], np.int64),
        "w_indices": ro([0, 1, 1], np.int32),
        "w_data": ro([1.0, 0.5, 2.0], np.float64),
        "w_floor": ro([0.0, 0.0], np.float64),
        "t_indptr": ro([0, 1, 1], np.int64),
        "t_indices": ro([0], np.int32),
        "t_data": ro([1.0], np.float64),
        "t_floor": ro([0.0, 0.0], np.float64),
        "a_indptr": ro([[0, 1, 2]], np.int64),
        "a_indices": ro([0, 0], np.uint16),
        "a_tf": ro([1, 2], np.uint8),
        "a_idf": ro([1.0, 1.5], np.float64),
        "a_k1_norm": ro([1.2], np.float64),
        "e_indptr": ro([0, 1, 2], np.int64),
        "e_entries": np.array([(0, 2, 0, 1, 1.0, 9.0), (0, 1, 0, 1, 2.0, 9.0)], dtype=ENTRY),
    }
    info = {"paragraphs": 2, "articles": 1, "article_k1": 1.5, "article_block": 1 << 16, "prune_block": 1024}
    gen = Generation.from_arrays(0, info, arrays)
    day = EPOCH + dt.timedelta(days=19000)
    windows = (Window(), Window(since=day, until=day, now=day, prefer=(day, day), numbers=True))
    for window in windows:
        for exhaustive in (True, False):
            got = traced(gen, [0, 1, 1], window, RankParams(), 5, kernels, exhaustive=exhaustive)
            if not got or not got[0]:
                raise RuntimeError("the compiled ranking returned nothing on its self-test")
        found = candidates(gen, [0, 1, 1], window, RankParams(), kernels)
        if found is None or not len(found[0]):
            raise RuntimeError("the compiled candidates returned nothing on their self-test")
    bm25_top(gen, [0, 1], 2, kernels)


def rank(
    gen: Generation,
    term_ids: list[int],
    window: Window,
    params: RankParams,
    limit: int,
) -> list[tuple[int, float]] | None:
    """``search.rank`` by the kernels, or None when they are not ready (the caller uses numpy)."""
    got = traced(gen, term_ids, window, params, limit, counted=False)
    return None if got is None else got[0]


def traced(
    gen: Generation,
    term_ids: list[int],
    window: Window,
    params: RankParams,
    limit: int,
    kernels: ModuleType | None = None,
    *,
    exhaustive: bool = False,
    counted: bool = True,
) -> tuple[list[tuple[int, float]], int] | None:
    """``rank``, and how many postings it read (block entries included); by the pruned ranking
    unless ``exhaustive`` or the generation has no block bounds (``ingest/blocks.py``) or the
    question has more than ``scratch.MAX_TERMS`` distinct words. None when not ready. ``counted``
    False: the exhaustive ranking's count is not worked out (0), as ``rank`` has no use for it."""
    kernels = _usable(gen, kernels)
    if kernels is None:
        return None
    if limit <= 0:
        return [], 0
    arrays, (settings, tables) = rank_arrays(gen), rank_settings(gen, window, params, limit)
    terms, times = _query(term_ids, gen)
    # the bounds hold for weights that only add (the date multipliers are 1 or more by RankParams)
    prunable = not exhaustive and len(terms) <= scratch.MAX_TERMS and settings.whole_article_weight >= 0
    bounds = bound_arrays(gen) if prunable and gen.n_paragraphs > 0 else None
    with scratch.take_for(gen) as buf:
        try:
            if bounds is not None:
                ids, scores, read = _modules()[1].rank(arrays, bounds, settings, tables, terms, times, buf)
            else:
                ids, scores = kernels.rank(arrays, settings, tables, terms, times, buf)
                read = postings(gen, terms) if counted else 0
        except TypeError as exc:  # argument types the warm-up did not compile for (nothing ran)
            _note_mismatch(exc)
            return None
    return list(zip(ids.tolist(), scores.tolist(), strict=True)), int(read)


def candidates(
    gen: Generation,
    term_ids: list[int],
    window: Window,
    params: RankParams,
    kernels: ModuleType | None = None,
    preselect: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """A shard's candidates (``ranking/shard.py``) by the pruned kernels: (paragraphs, final scores,
    coarse scores, best title matches, their titles' BM25; see ``pruned.candidates``), the best
    ``preselect`` by coarse score (default ``PRESELECT``). None when not ready, or for what only the
    exhaustive ranking takes (a generation without block bounds, more than ``scratch.MAX_TERMS``
    distinct words, a negative whole-article weight): numpy answers those."""
    kernels = _usable(gen, kernels)
    if kernels is None or gen.n_paragraphs == 0:
        return None
    arrays, (settings, tables) = rank_arrays(gen), rank_settings(gen, window, params, 1)
    if preselect is not None:
        settings = settings._replace(preselect=preselect)
    terms, times = _query(term_ids, gen)
    bounds = bound_arrays(gen)
    if bounds is None or len(terms) > scratch.MAX_TERMS or settings.whole_article_weight < 0:
        return None
    with scratch.take_for(gen) as buf:
        try:
            *found, _ = _modules()[1].candidates(arrays, bounds, settings, tables, terms, times, buf)
        except TypeError as exc:  # argument types the warm-up did not compile for (nothing ran)
            _note_mismatch(exc)
            return None
    return found[0], found[1], found[2], found[3], found[4]


def postings(gen: Generation, terms: np.ndarray) -> int:
    """How many postings the exhaustive ranking reads for these words (paragraphs, titles, articles)."""
    n = 0
    for t in terms.tolist():
        n += int(gen.w_indptr[t + 1] - gen.w_indptr[t]) + int(gen.t_indptr[t + 1] - gen.t_indptr[t])
        if gen.a_indptr is not None:
            n += int(np.sum(gen.a_indptr[:, t + 1] - gen.a_indptr[:, t]))
    return n


def _modules() -> tuple[ModuleType, ModuleType]:
    """The loaded kernel modules (exhaustive, pruned); only called once the warm-up imported them."""
    from newsbot.index.ranking import kernels, pruned

    return kernels, pruned


def bm25_top(
    gen: Generation, term_ids: list[int], k: int, kernels: ModuleType | None = None
) -> list[tuple[int, float]] | None:
    """Plain BM25's best ``k`` paragraphs (with rank-bm25's scores), or None when not ready."""
    kernels = _usable(gen, kernels, whole_articles=False)
    if kernels is None:
        return None
    if k <= 0:
        return []
    terms, times = _query(term_ids, gen)
    with scratch.take_for(gen) as buf:
        try:
            ids, scores = kernels.bm25_top(rank_arrays(gen), terms, times, buf, k)
        except TypeError as exc:
            _note_mismatch(exc)
            return None
    return list(zip(ids.tolist(), scores.tolist(), strict=True))


def _has_negative_weights(gen: Generation) -> bool:
    """Whether any contribution is negative (an Okapi index whose average idf is negative: nearly
    every word in most paragraphs). The kernels tell a first touch by a zero score, which a sum of
    mixed signs can return to, so such indexes are ranked by numpy. The indexer records it; for
    generations written before that, found once (a pass over the weights) and kept in the info."""
    known = gen.info.get("negative_weights")
    if known is None:
        weights = [w for w in (gen.w_data, gen.t_data, gen.a_idf) if w is not None]
        known = gen.info["negative_weights"] = any(len(w) and float(np.min(w)) < 0 for w in weights)
    return bool(known)


def _usable(gen: Generation, kernels: ModuleType | None, whole_articles: bool = True) -> ModuleType | None:
    """The kernels to rank ``gen`` with (the loaded ones unless given), or None for numpy.

    ``whole_articles``: the ranking reads them, so a generation written before them is left to numpy.
    """
    kernels = kernels or _kernels
    if kernels is None or (whole_articles and not gen.has_articles) or _has_negative_weights(gen):
        return None
    return kernels


def _query(term_ids: list[int], gen: Generation) -> tuple[np.ndarray, np.ndarray]:
    """The known terms in first-occurrence order and how often each occurs (``bm25.query_counts``)."""
    counts = query_counts(term_ids, len(gen.w_indptr) - 1)
    return (
        np.fromiter(counts.keys(), dtype=np.int64, count=len(counts)),
        np.fromiter(counts.values(), dtype=np.int64, count=len(counts)),
    )


def _note_mismatch(exc: TypeError) -> None:
    global _mismatch_logged
    if not _mismatch_logged:
        _mismatch_logged = True
        log.warning("compiled ranking does not fit this index's arrays, using numpy: %s", exc)
