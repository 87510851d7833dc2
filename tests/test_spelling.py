"""A question none of whose words the index holds gets the nearest words it does hold as a suggestion."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from newsbot.bot import render as bot_render
from newsbot.cli import render as cli_render
from newsbot.index.answer import spelling
from newsbot.index.api import NewsIndex

from .helpers import make_settings, write_article


def test_edits_are_one_slip_away() -> None:
    near = spelling.edits("tram")
    assert {"tam", "rtam", "team", "trams", "tran"} <= near  # a letter left out, swapped, changed, added
    assert "tram" not in near and "trmaa" not in near  # not the word itself, nor two edits away
    assert spelling.candidates("ab") == set() and spelling.candidates("x" * 31) == set()
    assert "cafe" in spelling.candidates("cafs") and spelling.candidates("caf") == set()
    assert spelling.candidates("2026x") == set()  # numbers are not misspellings
    # beside a question's other words, another form of a word is not a misspelling of it
    assert {"reopens", "reope"} <= spelling.candidates("reopen")
    assert "reopens" not in spelling.candidates("reopen", endings=False)
    assert "reopen" not in spelling.candidates("reopens", endings=False)
    assert "close" not in spelling.candidates("closed", endings=False)
    assert {"reopan", "repen", "reopne", "reope"} <= spelling.candidates("reopen", endings=False)
    assert "harbour" in spelling.candidates("harbou", endings=False)  # a slip at the end is still one


def test_a_long_respelling_is_whole_and_shown_cut() -> None:
    text = "stomr " + "and the " * 30 + "harbour bridge"
    respelt = spelling.respell(text, [(0, 5, "stomr")], {"stomr": "storm"})
    assert respelt == "storm " + "and the " * 30 + "harbour bridge"  # the question the button asks
    shown = spelling.did_you_mean(respelt)
    assert len(shown) < spelling.SHOWN_CHARS + 20 and shown.endswith("…”")
    label = bot_render.suggestion_label(respelt)
    assert len(label) == bot_render.BUTTON_LABEL_LIMIT and label.startswith("Search: storm and the")


def test_the_most_used_candidate_wins() -> None:
    assert spelling.best({"tram": 3, "team": 9, "trap": 0}) == "team"
    assert spelling.best({"tram": 4, "team": 4}) == "team"  # a tie: the alphabetically first
    assert spelling.best({"trap": 0}) is None and spelling.best({}) is None


async def test_a_misspelt_question_gets_a_suggestion(tmp_path: Path) -> None:
    async with await NewsIndex.open(make_settings(tmp_path)) as index:  # the sample news
        await index.reindex()
        typo = await index.ask("Alderbrok festivl")
        nonsense = await index.ask("qqqzzx wwwvvq")
        fixed = await index.ask("alderbrook festival")
    assert typo.hits == () and typo.note is not None
    assert "“Alderbrok”, “festivl”" in typo.note and "Did you mean “Alderbrook festival”?" in typo.note
    assert nonsense.hits == () and nonsense.note is not None and "Did you mean" not in nonsense.note
    assert fixed.hits  # the suggestion finds something


async def test_no_suggestion_of_a_word_no_article_holds_any_more(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    gone = write_article(
        folder, "gone.txt", "Zebra crossing repainted", ["The zebra crossing on Elm Road got new paint."]
    )
    write_article(folder, "kept.txt", "Harbour ferry", ["The harbour ferry runs every hour from the pier."])
    async with await NewsIndex.open(make_settings(tmp_path, [folder])) as index:
        await index.reindex()
        assert "Did you mean “zebra”?" in str((await index.ask("zebr")).note)
        gone.unlink()
        await index.reindex()  # "zebra" stays in the terms table, but nothing holds it
        note = (await index.ask("zebr")).note
        assert note is not None and "Did you mean" not in note and "“zebr”" in note
        assert "Did you mean “ferry”?" in str((await index.ask("ferr")).note)
        # nor is the word itself counted as found: the question's other word gets its suggestion
        gone_and_typo = await index.ask("zebra ferr")
        assert gone_and_typo.hits == () and "Did you mean “zebra ferry”?" in str(gone_and_typo.note)


async def test_no_suggestion_when_the_index_holds_stems(tmp_path: Path) -> None:
    async with await NewsIndex.open(make_settings(tmp_path, index={"stem": True})) as index:
        await index.reindex()
        note = (await index.ask("Alderbrok festivl")).note
    assert note is not None and "Did you mean" not in note and "Check the spelling" in note


async def test_an_answer_without_a_misspelt_word_says_so(tmp_path: Path) -> None:
    async with await NewsIndex.open(make_settings(tmp_path)) as index:
        await index.reindex()
        partly = await index.ask("When does the Alderbrook festivl open?", k=2)
        page_two = await index.ask("When does the Alderbrook festivl open?", k=2, offset=2)
        unknown_name = await index.ask("Alderbrook qqqzzx")  # nothing near: no note
        fine = await index.ask("When does the Alderbrook festival open?")
    assert partly.hits and "Alderbrook" in partly.hits[0].title
    assert partly.note == "Not in the news: “festivl”. Did you mean “When does the Alderbrook festival open?”"
    assert page_two.hits and page_two.note is None  # said once, on the first page
    assert unknown_name.hits and unknown_name.note is None and fine.note is None
    async with await NewsIndex.open(make_settings(tmp_path)) as index:
        other_form = await index.ask("Alderbrook festivals")  # the news has "festival" only
    assert other_form.hits and other_form.note is None
    assert cli_render.answer(partly).startswith("[yellow]Not in the news: “festivl”.")
    assert partly.note in str(bot_render.answer_message(partly).content)


async def test_the_respelt_question_keeps_what_was_typed(tmp_path: Path) -> None:
    async with await NewsIndex.open(make_settings(tmp_path)) as index:
        await index.reindex()
        dated = await index.ask(
            "What happened at the Alderbrook festivl last week?", as_of=dt.date(2026, 11, 30)
        )
        shouting = await index.ask("ALDERBROK Festivl?!")
        number = await index.ask("Alderbrook festival 20266")  # a number is not a misspelling
        repeated = await index.ask("qqqzx " * 9 + "festivl")  # the same unknown word many times
    assert str(dated.note).endswith("Did you mean “What happened at the Alderbrook festival last week?”")
    assert "Did you mean “ALDERBROOK Festival?!” Or try other words." in str(shouting.note)
    assert number.hits and number.note is None
    assert "Did you mean “qqqzx qqqzx qqqzx qqqzx qqqzx qqqzx qqqzx qqqzx qqqzx festival”?" in str(
        repeated.note
    )
