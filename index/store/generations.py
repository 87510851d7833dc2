"""The generation a process serves: loaded when any connection publishes a newer one, and kept
serving while a newer one cannot be read; and what a reindex does with one that cannot be read.

The arrays are files next to the database, so reading them fails the way the database does (a
folder deleted or unreadable, a file cut short, a FIFO or a folder where a file should be); like
:class:`~newsbot.index.store.database.Store`, this turns those failures, and a ``meta`` table naming
no usable generation or tokenizer, into a :class:`GenerationError` (a StoreError) a user can read.
The store holds everything a generation is built from, so a reindex builds a damaged one anew
(:func:`set_aside_damaged`); the question log, feedback and follows are in the store and never touched.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import threading
from pathlib import Path

import numpy as np

from newsbot.index.errors import GenerationError, NoIndexError, StoreError
from newsbot.index.generation import Generation, gens_dir, numbers_on_disk
from newsbot.index.layout import ARRAYS, ENTRY, OPTIONAL
from newsbot.index.store.database import Store
from newsbot.index.tokenizer import TOKENIZER_VERSION, Tokenizer, TokenizerSpec

log = logging.getLogger(__name__)

# meta.tokenizer when the stored one cannot be read: no tokenizer is this one, so the next reindex
# tokenizes every stored text again (with the settings' tokenizer)
UNKNOWN_TOKENIZER = TokenizerSpec(language="unknown", version=0).to_json()


def number_of(text: str | None) -> int:
    """The generation number ``meta`` holds (0: nothing published yet); GenerationError when it is
    not a number."""
    if text is None:
        return 0
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number < 0:
        raise GenerationError(f"the index is damaged: the database names generation {text!r}")
    return number


def tokenizer_of(text: str) -> Tokenizer:
    """The tokenizer ``meta`` names; GenerationError when this version cannot make it."""
    try:
        data = json.loads(text)
        version = data.get("version") if isinstance(data, dict) else None
        if isinstance(version, int) and version > TOKENIZER_VERSION:
            raise GenerationError(
                f"the index was built with tokenizer version {version}, newer than this newsbot knows"
                f" ({TOKENIZER_VERSION})"
            )
        return Tokenizer(TokenizerSpec.from_json(text))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # not JSON, or not a spec
        raise GenerationError(f"the index names a tokenizer this newsbot cannot use ({exc})") from None


def _check_files(folder: Path) -> None:
    """Every file a generation is read from must be a regular file: reading a FIFO would wait forever,
    a device could read until memory runs out."""
    for name in ("info.json", *(f"{a}.npy" for a in ARRAYS)):
        try:
            mode = os.stat(folder / name).st_mode
        except FileNotFoundError:
            continue  # the load says which are missing (some may be)
        if not stat.S_ISREG(mode):
            raise ValueError(f"{name} is not a regular file")


def _lengths(gen: Generation) -> dict[str, int]:
    """Each array's required length, from info.json and the index pointers (read from its ends)."""
    info = gen.info
    paragraphs, articles = info.get("paragraphs"), info.get("articles")
    if not isinstance(paragraphs, int) or not isinstance(articles, int) or min(paragraphs, articles) < 0:
        raise ValueError("info.json has no counts of paragraphs and articles")
    need = {name: paragraphs for name in ARRAYS if name.startswith("para_")}
    need |= {"art_ids": articles, "art_days": articles, "art_start": articles + 1}
    if gen.art_keys is not None:
        need["art_keys"] = articles
    for m in ("w", "t"):
        indptr = getattr(gen, f"{m}_indptr")
        if not isinstance(indptr, np.ndarray) or indptr.ndim != 1 or len(indptr) == 0:
            raise ValueError(f"{m}_indptr.npy is not an index pointer")
        nnz = int(indptr[-1])
        need |= {f"{m}_indices": nnz, f"{m}_data": nnz, f"{m}_floor": len(indptr) - 1}
    if gen.e_indptr is not None:
        if not isinstance(gen.e_indptr, np.ndarray) or gen.e_indptr.ndim != 1 or len(gen.e_indptr) == 0:
            raise ValueError("e_indptr.npy is not an index pointer")
        block = gen.info.get("prune_block")
        if not isinstance(block, int) or not 0 < block < 1 << 16:
            raise ValueError("info.json has no block size for the bounds")
        entries = int(gen.e_indptr[-1])
        need |= {"e_indptr": len(gen.w_indptr), "e_entries": entries}
        if isinstance(gen.e_entries, np.ndarray) and gen.e_entries.dtype != ENTRY:
            raise ValueError("e_entries.npy does not hold bound entries")
    return need


def check(gen: Generation) -> None:
    """Raise ValueError unless ``gen``'s arrays fit together (their shapes, not every value)."""
    if not isinstance(gen.info, dict):
        raise ValueError("info.json is not an object")
    if gen.info.get("generation", gen.number) != gen.number:
        raise ValueError(f"info.json is of generation {gen.info.get('generation')!r}")
    for name, length in _lengths(gen).items():
        array = getattr(gen, name, None)
        if not isinstance(array, np.ndarray) or array.ndim != 1 or len(array) != length:
            shape = getattr(array, "shape", None)
            raise ValueError(f"{name}.npy has shape {shape}, not ({length},)")
    for name in OPTIONAL:
        array = getattr(gen, name, None)
        if array is not None and not isinstance(array, np.ndarray):
            raise ValueError(f"{name}.npy is not an array")


_loading = threading.Lock()  # numpy reads .npy headers with ast.literal_eval, which CPython 3.11
# does not make safe on several threads at once (shards of one process load together)


def _load(database: Path, number: int) -> Generation:
    folder = gens_dir(database) / f"{number:08d}"
    with _loading:
        _check_files(folder)
        gen = Generation.load(database, number)
        check(gen)
    return gen


async def load(database: Path, number: int) -> Generation:
    """Generation ``number`` of ``database``, mapped from disk (off the event loop) and checked."""
    folder = gens_dir(database) / f"{number:08d}"
    try:
        return await asyncio.to_thread(_load, database, number)
    except FileNotFoundError as exc:
        missing = Path(exc.filename or folder)
        why = "it is missing" if not folder.is_dir() else f"{missing.name} is missing"
    except OSError as exc:  # unreadable, or a folder where a file should be
        why = f"it cannot be read ({exc.strerror or exc}: {Path(exc.filename or folder).name})"
    except Exception as exc:  # a file cut short or written by something else: numpy's errors vary
        why = f"it is damaged ({exc or type(exc).__name__})"
    raise GenerationError(f"cannot read the index at {folder}: {why}")


def _move_aside(database: Path, number: int) -> bool:
    """Rename a damaged generation's folder to a name the next reindex deletes as debris (so that
    nothing reads it again); False if it cannot be moved."""
    root = gens_dir(database)
    folder = root / f"{number:08d}"
    try:
        if os.path.lexists(root) and not root.is_dir():  # kept, but out of the way of a new one
            os.rename(root, root.with_name(f"{root.name}-not-a-folder-{os.getpid()}"))
        elif os.path.lexists(folder):
            os.rename(folder, folder.with_name(f"tmp-damaged-{number:08d}-{os.getpid()}"))
    except OSError:
        return False
    return True


async def set_aside_damaged(store: Store, database: Path) -> list[str]:
    """Before a reindex, while holding the writer's lock: if ``meta`` names no usable generation or
    tokenizer, make the reindex build the index anew from the store; returns what was wrong.

    A generation number that is not a number becomes the newest generation on disk; a damaged
    generation is moved aside (if it cannot be, ``meta`` names none: the reindex then reads nothing
    of it); a tokenizer that cannot be read becomes :data:`UNKNOWN_TOKENIZER` (every stored text is
    tokenized again). The build settings are forgotten, so that the reindex builds even when no file
    changed. Nothing else in the store is touched, and nothing is written when all is well.
    """
    problems: list[str] = []
    fixes: dict[str, str] = {}
    try:
        number = number_of(await store.get_meta("generation"))
    except GenerationError as exc:
        problems.append(exc.problem)
        number = max(await asyncio.to_thread(numbers_on_disk, database), default=0)
        fixes["generation"] = str(number)
    spec = await store.get_meta("tokenizer")
    if spec is not None:
        try:
            tokenizer_of(spec)
        except GenerationError as exc:
            problems.append(exc.problem)
            if not _parses(spec):  # else the reindex sees it differs from its own
                fixes["tokenizer"] = UNKNOWN_TOKENIZER
    if number:
        try:
            await load(database, number)
        except GenerationError as exc:
            problems.append(exc.problem)
            if not await asyncio.to_thread(_move_aside, database, number):
                fixes["generation"] = "0"
    if problems:
        async with store.transaction():
            for key, value in fixes.items():
                await store.set_meta(key, value)
            await store.execute("DELETE FROM meta WHERE key = 'bm25'")
    return problems


def _parses(spec: str) -> bool:
    """Whether the indexer can read ``spec`` (to compare it with its own: a newer version it can)."""
    try:
        TokenizerSpec.from_json(spec)
    except (ValueError, TypeError):
        return False
    return True


class Serving:
    """The newest generation a database has published (and the tokenizer it was built with), as
    loaded by this process."""

    def __init__(self, store: Store, tokenizer: Tokenizer) -> None:
        self.store = store
        self.generation: Generation | None = None
        self.tokenizer = tokenizer  # the settings' until a generation names its own
        self.published = 0  # the number of the newest generation published (0: none yet)
        self.error: GenerationError | None = None  # why the newest published one cannot be served
        self._data_version: int | None = None
        self._lock = asyncio.Lock()

    async def refresh(self, force: bool = False) -> None:
        """Load the newest generation if some connection published one since the last look."""
        async with self._lock:
            version = int(await self.store.scalar("PRAGMA data_version"))
            if not force and version == self._data_version and self.generation is not None:
                return
            self._data_version = version
            try:
                await self._load_newest()
            except GenerationError as exc:
                self.error = exc
                raise
            self.error = None

    async def _load_newest(self) -> None:
        number = number_of(await self.store.get_meta("generation"))
        self.published = number
        if number == 0 or (self.generation is not None and self.generation.number == number):
            return
        spec = await self.store.get_meta("tokenizer")
        tokenizer = tokenizer_of(spec) if spec else None
        gen = await load(self.store.path, number)
        if tokenizer is not None:
            self.tokenizer = tokenizer
        self.generation = gen

    async def current(self) -> Generation:
        """The generation a question arriving now is answered from (the newest published one).

        If the newest cannot be read, the one already loaded keeps serving; raises NoIndexError when
        nothing is indexed, StoreError when nothing can be read.
        """
        try:
            await self.refresh()
        except StoreError as exc:
            if self.generation is None:
                raise
            log.warning("Answering from index generation %d: %s", self.generation.number, exc)
        if self.generation is None:
            raise NoIndexError(
                "nothing is indexed yet: run `newsbot index FOLDER` (or /reindex) to index your news"
            )
        return self.generation
