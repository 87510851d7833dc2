"""Loading a published generation beside the database, with its failures in the error family.

The arrays are files next to the database, so reading them fails the way the database does (a
folder deleted or unreadable, a file cut short); like :class:`~newsbot.index.store.database.Store`,
this turns those failures into a :class:`GenerationError` (a StoreError) a user can read.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from newsbot.index.errors import GenerationError
from newsbot.index.generation import Generation, gens_dir


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
