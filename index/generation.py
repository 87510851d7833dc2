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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from newsbot.index.layout import ARRAYS, DERIVED, LAYOUT, MAX_WORDS, OPTIONAL
from newsbot.index.ranking.bm25 import CountWeights, Weights


def gens_dir(database: Path) -> Path:
    return database.with_name(database.name + ".gens")


@dataclass(slots=True)
class Generation:
    """The arrays of one published generation (memory-mapped when loaded from disk).

    Paragraphs are numbered 0..P-1 in (article, position) order, so an article's paragraphs are
    ``art_start[a]:art_start[a+1]`` and paragraph ``p``'s position is ``p - art_start[a]``. ``w_*``
    is the paragraph matrix, ``t_*`` the title matrix and ``a_*`` the whole-article matrix (each
    article's title and paragraphs as one document; rows: terms, columns: articles).
    """

    number: int
    info: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.arrays[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def n_paragraphs(self) -> int:
        return int(self.info["paragraphs"])

    @property
    def n_articles(self) -> int:
        return int(self.info["articles"])

    def body(self) -> Weights:
        a = self.arrays
        return Weights(a["w_indptr"], a["w_indices"], a["w_data"], a["w_floor"], self.n_paragraphs)

    def titles(self) -> Weights:
        a = self.arrays
        return Weights(a["t_indptr"], a["t_indices"], a["t_data"], a["t_floor"], self.n_articles)

    @property
    def has_articles(self) -> bool:
        return all(name in self.arrays for name in OPTIONAL) and "article_block" in self.info

    def articles(self) -> CountWeights | None:
        """Whole articles as BM25Okapi documents; None for a generation written before they were."""
        a = self.arrays
        if not self.has_articles:
            return None
        k1, block = float(self.info["article_k1"]), int(self.info["article_block"])
        counts = (a["a_indptr"], a["a_indices"], a["a_tf"], a["a_idf"], a["a_k1_norm"])
        return CountWeights(*counts, k1, self.n_articles, block)

    @classmethod
    def load(cls, database: Path, number: int) -> Generation:
        folder = gens_dir(database) / f"{number:08d}"
        info = json.loads((folder / "info.json").read_text(encoding="utf-8"))
        arrays = {
            name: np.load(folder / f"{name}.npy", mmap_mode="r")
            for name in ARRAYS
            if name not in DERIVED + OPTIONAL or (folder / f"{name}.npy").exists()
        }
        if "para_days" not in arrays:  # a generation written before it was stored
            arrays["para_days"] = np.asarray(arrays["art_days"])[np.asarray(arrays["para_article"])]
        if "para_words" not in arrays:
            arrays["para_words"] = words_of(np.asarray(arrays["para_len"]))
        return cls(number=number, info=info, arrays=arrays)


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
