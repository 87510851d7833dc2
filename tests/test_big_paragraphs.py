"""A paragraph of ~10 MB (under the file limit) is answered without stalling the event loop.

The work a question does on a paragraph's text is bounded whatever its size: the words a long paragraph
is compared by are those of its beginning, its excerpt comes from a window around its first match, and
the Discord renderers show at most a bounded part of it. A lag probe (a task sleeping 10 ms in a loop)
records the loop's longest stall while such questions are answered from a real index.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsbot.bot import render as discord_render
from newsbot.cli import render as cli_render
from newsbot.index.answer import excerpt
from newsbot.index.answer.compose import word_set
from newsbot.index.answer.excerpt import LONG_PARAGRAPH, make_excerpt, richest_chunks
from newsbot.index.api import NewsIndex
from newsbot.index.config import Settings
from newsbot.index.tokenizer import Tokenizer, TokenizerSpec

from .helpers import make_settings, write_article

BIG_CHARS = 9_500_000  # characters of the big paragraph: under the 10 MiB file limit
DEEP = 6_000_000  # where the big paragraph's one rare sentence is
RARE = "The zeppelin Albatross moored at the quarry pier before dawn."
STALL_LIMIT = 0.5  # seconds the loop may be held at most while a question is answered

_SUBJECTS = ["The harbor council", "A tram driver", "The marathon club", "Storm wardens", "The ferry crew"]
_VERBS = ["discussed", "reported on", "voted against", "argued about", "looked into", "praised"]
_OBJECTS = ["the budget", "the river path", "the new depot", "late trains", "the flood barrier", "fares"]
_TAILS = ["on Monday.", "again this week.", "for an hour.", "after a long delay.", "in the town hall."]


def big_paragraph(chars: int = BIG_CHARS, deep: int = DEEP, rare: str = RARE) -> str:
    """About ``chars`` characters of ordinary sentences in one paragraph, ``rare`` once near ``deep``."""
    rnd = random.Random(16)
    sentences = [
        f"{s} {v} {o} {t}" for s in _SUBJECTS for v in _VERBS for o in _OBJECTS for t in _TAILS
    ]  # 900 different sentences
    size = sum(len(s) + 1 for s in sentences) / len(sentences)
    parts = rnd.choices(sentences, k=int(chars / size))
    at = int(deep / size)
    parts.insert(at, rare)
    return " ".join(parts)[:chars].rsplit(" ", 1)[0]


@dataclass(frozen=True)
class BigIndex:
    settings: Settings
    text: str


@pytest.fixture(scope="module")
def big_index(tmp_path_factory: pytest.TempPathFactory) -> BigIndex:
    """A real index of a ~10 MB one-paragraph article and two short ones (built once: ~10 s)."""
    root = tmp_path_factory.mktemp("big")
    news = root / "news"
    text = big_paragraph()
    write_article(
        news, "big.txt", "The longest minutes ever taken", [text, "A short closing line about trams."]
    )
    write_article(news, "tram.txt", "Tram depot opens", ["The new tram depot opened on the river path."])
    write_article(news, "pier.txt", "Pier repairs", ["Repairs to the quarry pier will take a month."])
    settings = make_settings(root, [news])

    async def build() -> None:
        async with await NewsIndex.open(settings, compiled=False) as index:
            report = await index.reindex()
            assert report.published and report.paragraphs == 4, report

    asyncio.run(build())
    return BigIndex(settings, text)


class LagProbe:
    """A task that sleeps ``tick`` seconds in a loop and records the largest overshoot: the loop's
    longest stall while it runs."""

    def __init__(self, tick: float = 0.01) -> None:
        self.tick = tick
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.tick)
            self.worst = max(self.worst, loop.time() - before - self.tick)

    async def __aenter__(self) -> LagProbe:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        await asyncio.sleep(self.tick * 2)  # a stall just before the end is measured too
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


# ---- the loop's longest stall, on a real index ------------------------------------------------------


async def test_questions_about_a_huge_paragraph_never_stall_the_loop(big_index: BigIndex) -> None:
    async with await NewsIndex.open(big_index.settings, compiled=False) as index:
        await index.ask("warm up")  # the first question's one-time costs are not the paragraph's
        answers = {}
        async with LagProbe() as probe:
            started = time.perf_counter()
            for question in ("harbor council budget", "zeppelin albatross", "quarry pier", "trams"):
                answer = await index.ask(question, k=5)
                answers[question] = answer
                cli_render.answer(answer)
                discord_render.answer_message(answer)
                for parts in discord_render.paragraph_messages(answer.hits):
                    assert len(parts.embeds) <= discord_render.EMBEDS_PER_MESSAGE
            took = time.perf_counter() - started
    print(
        f"\n4 questions about a {len(big_index.text):,}-character paragraph: {took:.2f} s, "
        f"longest stall of the loop {probe.worst * 1000:.0f} ms"
    )
    assert probe.worst < STALL_LIMIT, f"the loop stalled for {probe.worst:.2f} s"

    early = answers["harbor council budget"].hits[0]
    assert early.title == "The longest minutes ever taken" and len(early.text) == len(big_index.text)
    assert len(early.excerpt.text) <= 300 and early.excerpt.cut_end and early.excerpt.marks
    deep = next(h for h in answers["zeppelin albatross"].hits if h.title == "The longest minutes ever taken")
    assert "zeppelin Albatross" in deep.excerpt.text and deep.excerpt.cut_start and deep.excerpt.cut_end
    marked = [deep.excerpt.text[s:e].lower() for s, e in deep.excerpt.marks]
    assert marked == ["zeppelin albatross"]


def test_the_full_paragraph_button_shows_a_bounded_part_and_says_so(big_index: BigIndex) -> None:
    async def ask() -> list[discord_render.MessageParts]:
        async with await NewsIndex.open(big_index.settings, compiled=False) as index:
            answer = await index.ask("zeppelin albatross")
        big = [h for h in answer.hits if len(h.text) > LONG_PARAGRAPH]
        assert big
        return discord_render.paragraph_messages(big)

    messages = asyncio.run(ask())
    embeds = [e for m in messages for e in m.embeds]
    shown = sum(len(e.description or "") for e in embeds)
    assert len(messages) <= 3 and shown <= discord_render.FULL_TEXT_CHARS + 200
    footer = embeds[-1].footer.text or ""
    assert f"of {len(big_index.text):,} characters" in footer, footer


# ---- bounded work, counted (no clock) -----------------------------------------------------------------


class CountingTokenizer(Tokenizer):
    """Counts the characters it is asked to read."""

    def __init__(self, spec: TokenizerSpec | None = None) -> None:
        super().__init__(spec)
        self.read = 0

    def tokens(self, text: str) -> list[str]:
        self.read += len(text)
        return super().tokens(text)

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        self.read += len(text)
        return super().spans(text)


@pytest.fixture(scope="module")
def text() -> str:
    return big_paragraph(3_000_000, 2_000_000)


CHUNK = 65_536  # the most a chunk of a long paragraph holds


@pytest.mark.parametrize("stem", [False, True])
def test_an_excerpt_of_a_huge_paragraph_reads_a_bounded_part_of_it(text: str, stem: bool) -> None:
    tokenizer = CountingTokenizer(TokenizerSpec(stem=stem))
    query = set(tokenizer.tokens("zeppelin albatross"))
    tokenizer.read = 0
    ex = make_excerpt(text, query, tokenizer)
    assert tokenizer.read <= CHUNK, tokenizer.read
    assert "zeppelin Albatross" in ex.text and ex.cut_start and ex.cut_end and len(ex.text) <= 300
    assert ex.text in text


def test_words_of_a_huge_paragraph_are_those_of_its_beginning(text: str) -> None:
    tokenizer = CountingTokenizer()
    words = word_set(text, tokenizer)
    assert tokenizer.read <= CHUNK
    assert "harbor" in words and "zeppelin" not in words
    short = "The zeppelin moored at the pier."
    assert word_set(short, tokenizer) == set(tokenizer.tokens(short))


def test_a_huge_paragraph_without_a_match_found_cheaply_shows_its_beginning(text: str) -> None:
    tokenizer = CountingTokenizer()
    ex = make_excerpt(text, {"quokka"}, tokenizer)  # in no chunk: only the first is read
    assert tokenizer.read <= CHUNK
    assert text.startswith(ex.text) and not ex.cut_start and ex.cut_end and not ex.marks
    # letters in every chunk but never a word: a few chunks are read, then the first
    tokenizer.read = 0
    ex = make_excerpt(text, {"ar"}, tokenizer)
    assert tokenizer.read <= 4 * CHUNK and text.startswith(ex.text) and not ex.marks


def test_the_richest_chunk_is_found_across_accents_case_and_apostrophes() -> None:
    tokenizer = Tokenizer()
    filler = "Nothing to see here. " * 12_000  # 252,000 characters: four chunks
    text = filler + "Then CAFÉ and O’Brien's met in Zürich, and the café closed. " + filler
    at = len(filler)
    chunks = richest_chunks(text, {"cafe", "obrien", "zurich"}, stem=False)
    assert len(chunks) == 1 and chunks[0][0] <= at < chunks[0][1]
    ex = make_excerpt(text, {"cafe", "obrien", "zurich"}, tokenizer)
    assert [ex.text[s:e] for s, e in ex.marks] == ["CAFÉ", "O’Brien's", "Zürich", "café"]
    # the chunk with the most distinct terms comes first, then the others in order
    text = "The café. " + filler + "Zürich and the café. " + filler + "Zürich. " + filler
    chunks = richest_chunks(text, {"cafe", "zurich"}, stem=False)
    assert [lo <= 10 + len(filler) < hi for lo, hi in chunks] == [True, False, False]
    assert chunks[1][0] == 0 and chunks[2][0] > chunks[0][0]


def test_paragraphs_up_to_the_limit_are_excerpted_whole(text: str) -> None:
    """Just under the limit a paragraph is excerpted whole; just over it, from a chunk (which here
    holds the best sentence, so the excerpt is the same)."""
    tokenizer = Tokenizer()
    query = set(tokenizer.tokens("zeppelin albatross"))
    part = text[1_990_000 : 1_990_000 + LONG_PARAGRAPH]
    part = part[part.index(" ") + 1 :].rsplit(" ", 1)[0]
    assert RARE in part and len(part) <= LONG_PARAGRAPH
    whole = make_excerpt(part, query, tokenizer)
    chunked = make_excerpt(part + " " + "Padding words here. " * 100, query, tokenizer)
    assert chunked == whole and "zeppelin Albatross" in whole.text


PIECES = ["the", "mayor", "Café", "café", "O’Brien's", "東京", "e\u0301t\u00e9", "x" * 30, "Zürich", "naïve"]
SEPARATORS = [" ", "  ", "\n", ". ", "! ", ", ", "\t", ".\n\n", ""]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.sampled_from(PIECES) | st.text(max_size=6), st.sampled_from(SEPARATORS)), max_size=60
    ),
    st.sets(st.sampled_from(["mayor", "cafe", "obrien", "東京", "zurich", "naive", "ete", "xx"]), max_size=3),
    st.integers(min_value=10, max_value=120),
)
def test_long_paragraph_excerpts_hold_the_excerpt_properties(
    monkeypatch: pytest.MonkeyPatch, parts: list[tuple[str, str]], query: set[str], max_chars: int
) -> None:
    """The chunked path, on small texts (the limits made small): the excerpt is a piece of the
    whitespace-collapsed paragraph, within bounds, its marks on query terms, its cuts where it was cut."""
    monkeypatch.setattr(excerpt, "LONG_PARAGRAPH", 40)
    monkeypatch.setattr(excerpt, "_CHUNK", 48)
    text = "".join(w + sep for w, sep in parts)
    tokenizer = Tokenizer()
    ex = make_excerpt(text, query, tokenizer, max_chars)
    whole = " ".join(text.split())
    assert ex.text in whole and len(ex.text) <= max_chars
    assert bool(ex.text) == bool(whole)
    if not ex.cut_start:
        assert whole.startswith(ex.text)
    if not ex.cut_end:
        assert whole.endswith(ex.text)
    ends = [0, *[x for m in ex.marks for x in m], len(ex.text)]
    assert ends == sorted(ends)
    for s, e in ex.marks:
        assert set(tokenizer.tokens(ex.text[s:e])) <= query


def test_the_big_paragraph_is_under_the_file_limit() -> None:
    from newsbot.index.ingest.sources import MAX_ARTICLE_BYTES

    assert BIG_CHARS + 1000 < MAX_ARTICLE_BYTES
