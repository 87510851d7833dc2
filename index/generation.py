"""Index generations on disk: written aside, published by one rename and one commit, memory-mapped.

A generation is a folder ``<database>.gens/<number>/`` of ``.npy`` arrays and an ``info.json``.
It is built in ``tmp-<number>-<pid>/``, flushed to disk, renamed to its number, and only then
named as current in the database (``meta.generation``) by the reindex's commit. Until that commit
every reader keeps using the previous generation; a crash at any point leaves a stray folder that
the next reindex deletes. Readers map the arrays read-only, so serving memory stays small.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from newsbot.index.layout import ARRAYS, BOUNDS, DERIVED, LAYOUT, MAX_WORDS, OPTIONAL, WHOLE_ARTICLES
from newsbot.index.ranking.bm25 import CountWeights, Weights


def gens_dir(database: Path) -> Path:
    return database.with_name(database.name + ".gens")


I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class Generation:
    """The arrays of one published generation (memory-mapped when loaded from disk).

    Paragraphs are numbered 0..P-1 in (article, position) order, so an article's paragraphs are
    ``art_start[a]:art_start[a+1]`` and paragraph ``p``'s position is ``p - art_start[a]``. ``w_*``
    is the paragraph matrix, ``t_*`` the title matrix (``bm25.Weights``: rows are terms, columns
    paragraphs or articles) and ``a_*`` the whole-article matrix (``bm25.CountWeights``: each
    article's title and paragraphs as one document). The fields are ``layout.ARRAYS``, by name.

    Compared by identity, and weakly referable: the ranking keeps what it derives from a generation
    only while the generation is in use.
    """

    number: int
    info: dict[str, Any]
    para_ids: I64  # the store's paragraph ids
    para_article: I32  # each paragraph's article number
    para_len: I32  # its length in indexed words
    para_words: U8  # the same, capped to MAX_WORDS (a byte: the ranking reads few pages)
    para_flags: U8  # FLAG_* bits
    para_days: I32  # its article's day (NO_DATE: undated)
    art_ids: I64  # the store's article ids
    art_days: I32
    art_start: I64  # each article's first paragraph number, and P at the end
    w_indptr: I64
    w_indices: I32
    w_data: F64
    w_floor: F64
    t_indptr: I64
    t_indices: I32
    t_data: F64
    t_floor: F64
    # layout.WHOLE_ARTICLES: None in a generation written before whole articles were scored
    a_indptr: I64 | None = None  # 2-D: (blocks, terms + 1)
    a_indices: npt.NDArray[np.uint16] | None = None
    a_tf: U8 | None = None
    a_idf: F64 | None = None
    a_k1_norm: F64 | None = None
    # layout.BOUNDS: None in a generation written before the pruned ranking (ingest/blocks.py)
    e_indptr: I64 | None = None
    e_entries: np.ndarray | None = None  # layout.ENTRY records
    # layout.KEYS: None in a generation written before articles had stable keys
    art_keys: I64 | None = None  # each article's key (build.article_key): ties are ordered by (day, key)

    @classmethod
    def from_arrays(cls, number: int, info: dict[str, Any], arrays: Mapping[str, np.ndarray]) -> Generation:
        """A generation of these arrays (by their ``layout.ARRAYS`` names); ``layout.DERIVED`` ones
        are computed when missing, ``layout.OPTIONAL`` ones may be missing."""
        arrays = dict(arrays)
        if "para_days" not in arrays:  # a generation written before it was stored
            arrays["para_days"] = np.asarray(arrays["art_days"])[np.asarray(arrays["para_article"])]
        if "para_words" not in arrays:
            arrays["para_words"] = words_of(np.asarray(arrays["para_len"]))
        unknown = set(arrays) - set(ARRAYS)
        if unknown:
            raise ValueError(f"not arrays of a generation: {', '.join(sorted(unknown))}")
        return cls(number, info, **arrays)

    @classmethod
    def load(cls, database: Path, number: int) -> Generation:
        folder = gens_dir(database) / f"{number:08d}"
        info = json.loads((folder / "info.json").read_text(encoding="utf-8"))
        arrays = {
            name: np.load(folder / f"{name}.npy", mmap_mode="r")
            for name in ARRAYS
            if name not in DERIVED + OPTIONAL or (folder / f"{name}.npy").exists()
        }
        return cls.from_arrays(number, info, arrays)

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays present, by name (a new dict: for writing a generation out, or a variant of it)."""
        out = {name: getattr(self, name) for name in ARRAYS}
        return {name: array for name, array in out.items() if array is not None}

    @property
    def n_paragraphs(self) -> int:
        return int(self.info["paragraphs"])

    @property
    def n_articles(self) -> int:
        return int(self.info["articles"])

    def body(self) -> Weights:
        return Weights(self.w_indptr, self.w_indices, self.w_data, self.w_floor, self.n_paragraphs)

    def titles(self) -> Weights:
        return Weights(self.t_indptr, self.t_indices, self.t_data, self.t_floor, self.n_articles)

    @property
    def has_articles(self) -> bool:
        present = all(getattr(self, name) is not None for name in WHOLE_ARTICLES)
        return present and "article_block" in self.info

    @property
    def has_bounds(self) -> bool:
        """Whether the pruned ranking can rank it (its articles in date order, with block bounds)."""
        return (
            self.has_articles
            and "prune_block" in self.info
            and all(getattr(self, name) is not None for name in BOUNDS)
        )

    def articles(self) -> CountWeights | None:
        """Whole articles as BM25Okapi documents; None for a generation written before they were."""
        indptr, indices, tf, idf, norm = self.a_indptr, self.a_indices, self.a_tf, self.a_idf, self.a_k1_norm
        if indptr is None or indices is None or tf is None or idf is None or norm is None:
            return None
        if "article_block" not in self.info:
            return None
        k1, block = float(self.info["article_k1"]), int(self.info["article_block"])
        return CountWeights(indptr, indices, tf, idf, norm, k1, self.n_articles, block)


def words_of(para_len: np.ndarray) -> np.ndarray:
    """``para_words`` from the paragraphs' lengths: a byte each, so that the ranking reads few pages."""
    return np.minimum(para_len, MAX_WORDS).astype(np.uint8)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write(database: Path, number: int, info: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    """Write a generation aside and rename it into place; returns its folder.

    Not yet current: the caller names it in the database in the same transaction as its rows.
    """
    root = gens_dir(database)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f"tmp-{number:08d}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        for name in ARRAYS:
            with open(tmp / f"{name}.npy", "wb") as fh:
                np.save(fh, np.ascontiguousarray(arrays[name]))
                fh.flush()
                os.fsync(fh.fileno())
        with open(tmp / "info.json", "w", encoding="utf-8") as fh:
            json.dump(info, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # give the space back at once (a full disk is the usual cause)
        raise
    final = root / f"{number:08d}"
    if final.exists():
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_dir(root)
    return final


def up_to_date(database: Path, number: int) -> bool:
    """Whether a generation on disk has this version's layout and every array it names."""
    folder = gens_dir(database) / f"{number:08d}"
    try:
        info = json.loads((folder / "info.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    arrays = [name for name in ARRAYS if name not in DERIVED]
    return info.get("layout", 1) == LAYOUT and all((folder / f"{name}.npy").is_file() for name in arrays)


def numbers_on_disk(database: Path) -> list[int]:
    root = gens_dir(database)
    if not root.is_dir():
        return []
    return sorted(int(p.name) for p in root.iterdir() if p.name.isdigit())


def cleanup(database: Path, current: int) -> list[str]:
    """Delete debris: unfinished builds and generations other than the current and the one before.

    The previous generation is kept so that a reader in another process that has not yet noticed
    the swap can still open it. Only call while holding the writer's lock.
    """
    root = gens_dir(database)
    removed: list[str] = []
    if not root.is_dir():
        return removed
    previous = max((n for n in numbers_on_disk(database) if n < current), default=None)
    for entry in root.iterdir():
        keep = entry.name.isdigit() and int(entry.name) in (current, previous)
        if not keep:
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
            removed.append(entry.name)
    return removed
