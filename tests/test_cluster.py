"""The archive sharded (shards in this process; tests/test_cluster_ray.py runs them as Ray actors):
every answer equals one index's over the same articles, with 1, 2, 3 and 7 shards, after
incremental reindexes that add, change and remove articles; a cluster reindex that fails on one
shard leaves every shard's previous generation serving.

Answers are compared whole, as their JSON (passages, order, scores to six places, excerpts, notes).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from newsbot.index.api import NewsIndex
from newsbot.index.cluster import source
from newsbot.index.cluster.coordinator import ClusterIndex
from newsbot.index.cluster.shard import Shard
from newsbot.index.cluster.stats import shard_of
from newsbot.index.cluster.transport import LocalShards
from newsbot.index.config import SAMPLE_NEWS, Settings
from newsbot.index.errors import IndexingError
from newsbot.index.ranking.merge import Merged, merge
from tests.helpers import CORPUS, SHARED, make_settings, write_article

QUESTIONS = [
    ("harbor tram riders", None),
    ("storm warning for the bay", None),
    ("council vote on the budget", None),
    ("what happened at the festival this week", dt.date(2026, 10, 20)),
    ("how many passengers", None),
    ("festivl", None),  # a spelling suggestion
    ("tram zzqx", None),  # a word the index lacks
    ("the", None),  # no words to search for
]
Asked = Sequence[tuple[str, dt.date | None]]


async def answers(index: NewsIndex, questions: Asked, k: int = 10) -> list[str]:
    out = []
    for question, as_of in questions:
        answer = await index.ask(question, k=k, as_of=as_of)
        out.append(json.dumps({**answer.to_json(), "more": answer.has_more, "fix": answer.suggestion}))
    return out


async def single(settings: Settings, questions: Asked) -> list[str]:
    async with await NewsIndex.open(settings) as index:
        await index.reindex()
        return await answers(index, questions)


async def cluster(settings: Settings, shards: int) -> ClusterIndex:
    return await ClusterIndex.open_cluster(settings, LocalShards(settings, shards))


def news_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    shutil.copytree(SAMPLE_NEWS, folder)
    return folder


@pytest.mark.parametrize("shards", [1, 2, 3, 7])
async def test_the_sample_news_gets_one_indexs_answers(tmp_path: Path, shards: int) -> None:
    folder = news_copy(tmp_path)
    want = await single(make_settings(tmp_path / "one", [folder]), QUESTIONS)
    settings = make_settings(tmp_path / "many", [folder])
    index = await cluster(settings, shards)
    try:
        report = await index.reindex()
        assert report.generation == 1 and report.articles == 42
        assert await answers(index, QUESTIONS) == want
        held = [await index.shards.call(i, "stats", n) for i, n in enumerate(index.numbers)]
        assert sum(s.articles for s in held) == 42 and (shards == 1 or max(s.articles for s in held) < 42)
        stories = await index.latest(5)
        assert len(stories) == 5 and stories == sorted(
            stories, key=lambda s: s.date or dt.date.min, reverse=True
        )
    finally:
        await index.close()
    assert any(json.loads(a)["hits"] for a in want) and any(json.loads(a)["note"] for a in want)


def counts(report: object) -> tuple[int, ...]:
    names = ("added", "changed", "removed", "duplicates", "articles", "paragraphs")
    return tuple(getattr(report, n) for n in names)


async def test_incremental_reindexes_keep_the_answers_equal(tmp_path: Path) -> None:
    folder = news_copy(tmp_path)
    asked = [*QUESTIONS, ("night ferry", None)]
    index = await cluster(make_settings(tmp_path / "many", [folder]), 3)
    one = await NewsIndex.open(make_settings(tmp_path / "one", [folder]))
    try:
        assert counts(await index.reindex()) == counts(await one.reindex())
        files = sorted(folder.rglob("*.txt"))
        files[0].unlink()  # removed
        text = files[1].read_text(encoding="utf-8")
        files[1].write_text(text + "\nThe harbor tram gained a night service.\n", encoding="utf-8")  # changed
        write_article(
            folder, "new/ferry.txt", "Night ferry", ["The harbor ferry now runs at night for riders."]
        )
        write_article(
            folder, "new/copy.txt", "Night ferry", ["The harbor ferry now runs at night for riders."]
        )
        report, alone = await index.reindex(), await one.reindex()
        assert report.generation == 2 and counts(report) == counts(alone)
        assert (report.changed, report.removed, report.duplicates) == (1, 1, 1)
        want = await answers(one, asked)
        assert await answers(index, asked) == want
        again = await index.reindex()  # nothing changed: nothing is built
        assert again.generation == 2 and await answers(index, asked) == want
    finally:
        await index.close()
        await one.close()


async def test_forgetting_a_folder_whose_articles_some_shards_lack(tmp_path: Path) -> None:
    folder, extra = news_copy(tmp_path), tmp_path / "extra"
    write_article(extra, "ferry.txt", "Night ferry", ["The harbor ferry now runs at night for riders."])
    asked = [*QUESTIONS, ("night ferry", None)]
    index = await cluster(make_settings(tmp_path / "many", [folder, extra]), 3)
    one = await NewsIndex.open(make_settings(tmp_path / "one", [folder, extra]))
    try:
        assert counts(await index.reindex()) == counts(await one.reindex())
        # the one article of the folder is on one shard: the others know the folder by its file
        report, alone = await index.reindex(forget=[extra]), await one.reindex(forget=[extra])
        assert report.removed == alone.removed == 1 and report.articles == alone.articles
        assert await answers(index, asked) == await answers(one, asked)
        with pytest.raises(IndexingError, match=r"nothing from .*extra is in the index"):
            await index.reindex(forget=[extra])  # (forgotten: no shard knows it any more)
    finally:
        await index.close()
        await one.close()


async def test_a_failed_cluster_reindex_leaves_the_previous_one_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = news_copy(tmp_path)
    index = await cluster(make_settings(tmp_path / "many", [folder]), 3)
    try:
        await index.reindex()
        before = await answers(index, QUESTIONS)
        numbers = list(index.numbers)
        write_article(folder, "late.txt", "Harbor tram late", ["The harbor tram ran late for riders."])
        failing = index.shards.shards[1]  # type: ignore[attr-defined]

        async def broken(reply: object) -> object:
            message = await Shard.step(failing, reply)
            if message.kind == "ready":  # its new generation is written, not committed
                raise OSError("disk unplugged")
            return message

        monkeypatch.setattr(failing, "step", broken)
        with pytest.raises(IndexingError, match="disk unplugged"):
            await index.reindex()
        monkeypatch.undo()
        assert index.numbers == numbers and await answers(index, QUESTIONS) == before
        for shard in index.shards.shards:  # type: ignore[attr-defined]
            assert await shard.current() == numbers[shard.number]  # every shard rolled back
        report = await index.reindex()  # and the next one goes through
        assert report.generation == 2 and report.added == 1
    finally:
        await index.close()


def test_copies_of_an_article_meet_on_one_shard() -> None:
    hashes = [f"{i:064x}" for i in range(0, 10**6, 997)]
    for shards in (2, 3, 7):
        counts = np.bincount([shard_of(h, shards) for h in hashes], minlength=shards)
        assert counts.min() > 0.8 * len(hashes) / shards  # spread evenly
        assert all(shard_of(h, shards) == shard_of(h, shards) for h in hashes[:50])


@pytest.mark.corpus
async def test_the_dev_questions_get_one_indexs_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions_file = SHARED / "eval" / "realtimeqa_dev.jsonl"
    folder = CORPUS / "realtimeqa_demo"
    if not folder.is_dir() or not questions_file.is_file():
        pytest.skip("../shared is not here")
    rows = [
        json.loads(line) for line in questions_file.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    questions = [(r["question"], dt.date.fromisoformat(r["question_date"])) for r in rows]
    assert len(questions) == 224
    want = await single(make_settings(tmp_path / "one", [folder]), questions)
    assert sum(bool(json.loads(a)["hits"]) for a in want) > 200
    for shards in (2, 3, 7):
        index = await cluster(make_settings(tmp_path / f"many{shards}", [folder]), shards)
        try:
            await index.reindex()
            assert await answers(index, questions) == want, shards
            if shards == 3:  # shards that send only their best 5 by coarse score: those cut short
                # are asked again for their full preselection, and the answers are the same
                shorts: list[tuple[int, ...]] = []
                monkeypatch.setattr(source, "kept", lambda count: 5)
                monkeypatch.setattr(source, "merge", functools.partial(_noted, shorts))
                assert await answers(index, questions) == want
                monkeypatch.undo()
                print(f"{sum(bool(s) for s in shorts)} of {len(shorts)} merges short")
                assert sum(bool(s) for s in shorts) > 100 and not shorts[-1]
        finally:
            await index.close()


def _noted(shorts: list[tuple[int, ...]], *args: Any, **options: Any) -> Merged:
    merged = merge(*args, **options)
    shorts.append(merged.short)
    return merged


async def test_a_cluster_reads_each_file_once_and_again_only_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsbot.index.cluster import transport

    folder = news_copy(tmp_path)
    read: list[str] = []
    real = transport.read_parts

    def counting(sources: list, *args: object) -> object:  # type: ignore[type-arg]
        read.extend(s.rel for s in sources)
        return real(sources, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(transport, "read_parts", counting)
    index = await cluster(make_settings(tmp_path / "many", [folder]), 3)
    try:
        await index.reindex()
        assert len(read) == len(set(read)) == 43  # each of the 43 article files once, for all 3 shards
        read.clear()
        write_article(folder, "new/ferry.txt", "Night ferry", ["The harbor ferry now runs at night."])
        report = await index.reindex()
        assert report.added == 1 and read == ["new/ferry.txt"]  # not the files other shards hold
        read.clear()
        assert (await index.reindex()).generation == report.generation and read == []
    finally:
        await index.close()


async def test_a_changed_file_whose_text_moves_shard_is_counted_as_changed(tmp_path: Path) -> None:
    folder = news_copy(tmp_path)
    one = await NewsIndex.open(make_settings(tmp_path / "one", [folder]))
    index = await cluster(make_settings(tmp_path / "many", [folder]), 7)
    try:
        assert counts(await index.reindex()) == counts(await one.reindex())
        for path in sorted(folder.rglob("*.txt"))[:4]:  # most of their new texts go to another shard
            path.write_text(path.read_text(encoding="utf-8") + "\nA night tram.\n", encoding="utf-8")
        alone = await one.reindex()
        assert (alone.added, alone.changed, alone.removed) == (0, 4, 0)
        report = await index.reindex()
        assert counts(report) == counts(alone) and report.unchanged == alone.unchanged
        assert index._moved >= 2  # (texts that did move: each shard alone counted them added, removed)
    finally:
        await index.close()
        await one.close()
