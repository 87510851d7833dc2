"""A full disk while the new index is written: the reindex says so, naming the folder, and the previous
index keeps serving."""

from __future__ import annotations

import builtins
import errno
from pathlib import Path
from typing import Any

import pytest

from newsbot.index import generation
from newsbot.index.api import NewsIndex
from newsbot.index.errors import IndexingError
from newsbot.index.generation import gens_dir, numbers_on_disk
from newsbot.index.ingest.indexer import disk_full

from .helpers import make_settings, write_article


def to_dev_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every array of the generation is written to /dev/full: the write fails as on a full disk."""

    def full_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if str(path).endswith(".npy"):
            return builtins.open("/dev/full", mode, *args, **kwargs)
        return builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr(generation, "open", full_open, raising=False)


def raise_(exc: OSError) -> Any:
    def write(*args: Any, **kwargs: Any) -> Path:
        raise exc

    return write


FAILURES = {
    "dev-full": to_dev_full,
    "enospc": lambda mp: mp.setattr(
        generation, "write", raise_(OSError(errno.ENOSPC, "No space left on device"))
    ),
    "quota": lambda mp: mp.setattr(generation, "write", raise_(OSError(errno.EDQUOT, "Disk quota exceeded"))),
    # numpy's own message for a short write, with no errno (what users saw: "reindex failed (...)")
    "short-write": lambda mp: mp.setattr(
        generation, "write", raise_(OSError("524288 requested and 4096 written"))
    ),
}


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("failure", FAILURES)
async def test_a_full_disk_is_named_and_the_previous_index_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    folder = tmp_path / "news"
    write_article(folder, "tram.txt", "Harbor tram opens", ["The harbor tram opened to riders on Monday."])
    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
        assert (await index.reindex()).generation == 1
        write_article(folder, "ferry.txt", "Ferry fares rise", ["Ferry fares rise to three dollars."])
        with monkeypatch.context() as mp:
            FAILURES[failure](mp)
            with pytest.raises(IndexingError) as caught:
                await index.reindex()
        message = str(caught.value)
        assert (
            message == f"the disk is full (no space left in {tmp_path}); the previous index is still serving"
        )
        assert numbers_on_disk(index.settings.database) == [1]
        assert [p.name for p in gens_dir(index.settings.database).iterdir()] == ["00000001"]  # no debris
        assert [h.title for h in (await index.ask("harbor tram")).hits] == ["Harbor tram opens"]
        assert (await index.ask("ferry fares")).hits == ()
        # with space again, the next reindex publishes
        report = await index.reindex()
        assert report.generation == 2 and report.articles == 2


def test_what_counts_as_a_full_disk() -> None:
    assert disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert disk_full(OSError("8 requested and 0 written"))
    assert not disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not disk_full(OSError("something else"))
