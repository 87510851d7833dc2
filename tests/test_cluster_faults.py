"""A cluster with a shard down (shards in this process; tests/test_cluster_ray.py kills Ray actors):
questions are answered from the other shards, with a note naming what is missing, and are whole
again once the shard is back; with every shard down, a question gets a clear error. A coordinator
killed in the middle of a reindex leaves the previous cluster generation serving.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from newsbot.index.api import NewsIndex
from newsbot.index.cluster.shard import Shard
from newsbot.index.errors import ClusterUnavailable
from tests.helpers import make_settings, write_article
from tests.test_cluster import QUESTIONS, answers, cluster, news_copy


async def test_a_shard_down_gives_partial_answers_that_say_so(tmp_path: Path) -> None:
    folder = news_copy(tmp_path)
    index = await cluster(make_settings(tmp_path / "many", [folder]), 3)
    try:
        await index.reindex()
        whole = await answers(index, QUESTIONS)
        deep = {q: await index.ask(q, k=25, as_of=d) for q, d in QUESTIONS}
        down: Shard = index.shards.shards[1]  # type: ignore[attr-defined]
        gone = {s.path for s in await down.latest(index.numbers[1], 25, None, None, None)}
        assert gone
        await down.close()  # its store is gone: every call to it fails

        partial = 0
        for question, as_of in QUESTIONS:
            answer = await index.ask(question, k=10, as_of=as_of)
            if question == "the":  # no words to search for: no shard is asked
                assert answer.note and "shard" not in answer.note
                continue
            assert answer.note and "(shard 1 of 3)" in answer.note, question
            assert not {h.path for h in answer.hits} & gone
            scored = {(h.path, h.paragraph): h.score for h in deep[question].hits}
            for hit in answer.hits:  # the other shards' passages keep their scores
                if (hit.path, hit.paragraph) in scored:
                    assert hit.score == pytest.approx(scored[(hit.path, hit.paragraph)], abs=1e-9)
            partial += bool(answer.hits)
        assert partial >= 4
        stories = await index.latest(10)
        assert stories and stories.note and "shard 1 of 3" in stories.note
        assert not {s.path for s in stories} & gone
        stats = await index.stats()
        assert stats.note and "shard 1 of 3" in stats.note and stats.articles == 42 - len(gone)

        await down.open()  # back: answers are whole again
        assert await answers(index, QUESTIONS) == whole
        assert (await index.latest(10)).note is None
        stats = await index.stats()
        assert stats.note is None and stats.articles == 42
    finally:
        await index.close()


async def test_every_shard_down_is_a_clear_error(tmp_path: Path) -> None:
    folder = news_copy(tmp_path)
    index = await cluster(make_settings(tmp_path / "many", [folder]), 2)
    try:
        await index.reindex()
        for shard in index.shards.shards:  # type: ignore[attr-defined]
            await shard.close()
        with pytest.raises(ClusterUnavailable, match="not answering"):
            await index.ask("harbor tram riders")
        with pytest.raises(ClusterUnavailable):
            await index.latest(5)
    finally:
        await index.close()


DRIVER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from pathlib import Path
    from newsbot.index.cluster.coordinator import ClusterIndex
    from newsbot.index.cluster.transport import LocalShards
    from newsbot.index.config import load_settings

    class Dying(LocalShards):
        async def call(self, shard, method, *args):
            if method == "step" and args == (True,):  # every shard's part is built: commit them
                print("dying", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
            return await super().call(shard, method, *args)

    async def main():
        settings = load_settings(Path(sys.argv[1]))
        index = await ClusterIndex.open_cluster(settings, Dying(settings, 3))
        await index.reindex()

    asyncio.run(main())
    """
)


async def test_a_coordinator_killed_mid_reindex_leaves_the_previous_generation_serving(
    tmp_path: Path,
) -> None:
    folder = news_copy(tmp_path)
    settings = make_settings(tmp_path / "many", [folder])
    index = await cluster(settings, 3)
    try:
        await index.reindex()
        before, numbers = await answers(index, QUESTIONS), list(index.numbers)
    finally:
        await index.close()
    for i in range(6):
        write_article(folder, f"late/{i}.txt", f"Harbor tram late {i}", [f"The harbor tram ran late {i}."])
    config = tmp_path / "newsbot.toml"
    config.write_text(
        f'[news]\nfolders = ["{folder}"]\n[store]\ndatabase = "{settings.database}"\n', encoding="utf-8"
    )
    run = subprocess.run(
        [sys.executable, "-c", DRIVER, str(config)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == -signal.SIGKILL and "dying" in run.stdout, run.stderr

    index = await cluster(settings, 3)
    try:
        assert index.numbers == numbers and await answers(index, QUESTIONS) == before
        report = await index.reindex()  # the next reindex goes through, over what the killed one left
        assert report.generation == 2 and report.added == 6
        assert (
            "late"
            in json.loads((await answers(index, [("harbor tram ran late", None)]))[0])["hits"][0][
                "title"
            ].lower()
        )
    finally:
        await index.close()
    async with await NewsIndex.open(make_settings(tmp_path / "one", [folder])) as one:
        await one.reindex()
        assert await answers(one, QUESTIONS) == await _cluster_answers(settings)


async def _cluster_answers(settings: object) -> list[str]:
    index = await cluster(settings, 3)  # type: ignore[arg-type]
    try:
        return await answers(index, QUESTIONS)
    finally:
        await index.close()
