"""The generation a process serves: loaded when any connection publishes a newer one, and kept
serving while a newer one cannot be read.

The arrays are files next to the database, so reading them fails the way the database does (a
folder deleted or unreadable, a file cut short); like :class:`~newsbot.index.store.database.Store`,
this turns those failures into a :class:`GenerationError` (a StoreError) a user can read.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from newsbot.index.errors import GenerationError, NoIndexError, StoreError
from newsbot.index.generation import Generation, gens_dir
from newsbot.index.store.database import Store
from newsbot.index.tokenizer import Tokenizer, TokenizerSpec

log = logging.getLogger(__name__)


async def load(database: Path, number: int) -> Generation:
    """Generation ``number`` of ``database``, mapped from disk (off the event loop)."""
    folder = gens_dir(database) / f"{number:08d}"
    try:
        return await asyncio.to_thread(Generation.load, database, number)
    except OSError as exc:  # deleted, or unreadable: a reindex writes what is missing anew
        why = f"{exc.strerror or exc}; `newsbot index` rebuilds it"
    except (ValueError, KeyError) as exc:  # a file cut short, or written by something else
        why = f"damaged: {exc}"
    raise GenerationError(f"cannot read the index at {folder} ({why})")


class Serving:
    """The newest generation a database has published (and the tokenizer it was built with), as
    loaded by this process."""

    def __init__(self, store: Store, tokenizer: Tokenizer) -> None:
        self.store = store
        self.generation: Generation | None = None
        self.tokenizer = tokenizer  # the settings' until a generation names its own
        self.published = 0  # the number of the newest generation published (0: none yet)
        self._data_version: int | None = None
        self._lock = asyncio.Lock()

    async def refresh(self, force: bool = False) -> None:
        """Load the newest generation if some connection published one since the last look."""
        async with self._lock:
            version = int(await self.store.scalar("PRAGMA data_version"))
            if not force and version == self._data_version and self.generation is not None:
                return
            self._data_version = version
            number = self.published = int(await self.store.get_meta("generation") or 0)
            if number == 0 or (self.generation is not None and self.generation.number == number):
                return
            spec = await self.store.get_meta("tokenizer")
            gen = await load(self.store.path, number)
            if spec:
                self.tokenizer = Tokenizer(TokenizerSpec.from_json(spec))
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
            raise NoIndexError("nothing is indexed yet: run `newsbot index` (or /reindex) first")
        return self.generation
