"""Excerpts: the best 1–3 sentences, trimmed on word boundaries, with marks on the matched words."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsbot.index.answer.excerpt import make_excerpt, sentences
from newsbot.index.model import Excerpt
from newsbot.index.tokenizer import Tokenizer, TokenizerSpec

TOKENIZER = Tokenizer(TokenizerSpec(stem=True))  # stemming on: inflected words are marked too


def terms(text: str) -> frozenset[str]:
    return frozenset(TOKENIZER.tokens(text))


def excerpt(text: str, query: str, max_chars: int = 300) -> Excerpt:
    return make_excerpt(text, terms(query), TOKENIZER, max_chars)


def marked(ex: Excerpt) -> list[str]:
    return [ex.text[s:e] for s, e in ex.marks]


def check_marks(ex: Excerpt, query_terms: frozenset[str] | set[str]) -> None:
    """Marks are sorted, disjoint, inside the text, and cover whole words whose terms were asked for."""
    spans = TOKENIZER.spans(ex.text)
    previous_end = -1
    for s, e in ex.marks:
        assert 0 <= s < e <= len(ex.text)
        assert s > previous_end
        previous_end = e
        inside = [w for w in spans if s <= w[0] and w[1] <= e]
        assert inside, (ex, s, e)
        assert inside[0][0] == s and inside[-1][1] == e
        assert all(term in query_terms for _, _, term in inside)
        assert all(ex.text[a[1] : b[0]] == " " for a, b in itertools.pairwise(inside))


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# ---- sentences -------------------------------------------------------------------------------------


def split(text: str) -> list[str]:
    return [text[s:e] for s, e in sentences(text)]


def test_sentences_split_on_terminal_punctuation() -> None:
    assert split("One here. Two there! Three? Four.") == ["One here.", "Two there!", "Three?", "Four."]


def test_sentences_need_a_capital_quote_or_digit_next() -> None:
    text = "It rose 3.5 percent. shares fell. 2021 was odd."
    assert split(text) == ["It rose 3.5 percent. shares fell.", "2021 was odd."]
    assert split('He left. "Why?" she asked.') == ["He left.", '"Why?" she asked.']
    assert split("He said “no.” Then he left.") == ["He said “no.”", "Then he left."]


def test_sentences_keep_abbreviations_together() -> None:
    text = "Mr. Smith met Dr. Jones in the U.S. Senate on Jan. 5 with J. K. Rowling. Then they left."
    assert split(text) == [text[:-16], "Then they left."]
    assert split("He was at St. Paul's. No. 5 won.") == ["He was at St. Paul's.", "No. 5 won."]


def test_sentences_of_one_sentence_and_of_nothing() -> None:
    assert split("no full stop at all") == ["no full stop at all"]
    assert split("Ends here.") == ["Ends here."]
    assert sentences("") == [(0, 0)]


# ---- choosing the window ------------------------------------------------------------------------------


def test_short_paragraph_is_kept_whole_with_marks() -> None:
    ex = excerpt("The mayor opened the new bridge.", "bridge mayor")
    assert ex == Excerpt("The mayor opened the new bridge.", ((4, 9), (25, 31)), False, False)
    assert ex.render("**", "**") == "The **mayor** opened the new **bridge**."


def test_marks_find_inflected_and_accented_words() -> None:
    ex = excerpt("Cafés were OPENING again in Zürich.", "café open zurich")
    assert marked(ex) == ["Cafés", "OPENING", "Zürich"]


def test_sentence_with_most_distinct_terms_wins() -> None:
    text = (
        "The bridge was old and the bridge was long and the bridge was closed. "
        "Nothing else is in this sentence at all, it is here only to keep the two apart. "
        "Also nothing in this one, filler text of some length to stop windows joining. "
        "The mayor said the bridge will reopen."
    )
    ex = excerpt(text, "bridge mayor", max_chars=120)
    assert ex.text == "The mayor said the bridge will reopen."
    assert ex.cut_start and not ex.cut_end


def test_tie_on_distinct_goes_to_more_matches_then_earlier() -> None:
    filler = " ".join([f"Filler sentence number {i} goes here without anything." for i in range(3)])
    text = f"The bridge is old. {filler} The bridge and the bridge again. {filler} A bridge again."
    assert excerpt(text, "bridge", max_chars=60).text == "The bridge and the bridge again."
    text = f"A bridge here. {filler} A bridge there."
    assert excerpt(text, "bridge", max_chars=60).text == "A bridge here."


def test_up_to_three_consecutive_sentences_when_they_fit() -> None:
    text = "The mayor spoke. Then the bridge opened. Crowds cheered the river. Later it rained."
    ex = excerpt(text, "mayor bridge river")
    assert ex.text == "The mayor spoke. Then the bridge opened. Crowds cheered the river."
    assert marked(ex) == ["mayor", "bridge", "river"]
    assert not ex.cut_start and ex.cut_end


def test_never_more_than_three_sentences() -> None:
    text = "Alpha one. Beta two. Gamma three. Delta four."
    ex = excerpt(text, "alpha beta gamma delta")
    assert ex.text == "Alpha one. Beta two. Gamma three."


def test_window_that_does_not_fit_falls_back_to_one_sentence() -> None:
    text = "The mayor spoke at length. " + "Filler words fill this long sentence. " * 3 + "The bridge opened."
    ex = excerpt(text, "mayor bridge", max_chars=40)
    assert ex.text == "The mayor spoke at length."


def test_window_does_not_start_or_end_on_a_sentence_without_matches() -> None:
    text = "Nothing here. The bridge opened. Nothing there."
    assert excerpt(text, "bridge").text == "The bridge opened."


# ---- trimming ------------------------------------------------------------------------------------------


def test_long_sentence_is_centred_on_the_densest_cluster() -> None:
    words = [f"word{i}" for i in range(200)]
    words[100:103] = ["mayor", "opened", "bridge"]
    words[20] = "bridge"
    text = " ".join(words) + "."
    ex = excerpt(text, "mayor bridge", max_chars=80)
    assert len(ex.text) <= 80
    assert "mayor opened bridge" in ex.text
    assert ex.cut_start and ex.cut_end
    centre = ex.text.index("mayor opened bridge") + len("mayor opened bridge") / 2
    assert abs(centre - len(ex.text) / 2) < 12
    assert set(ex.text.split()) <= set(text.split())
    assert marked(ex) == ["mayor", "bridge"]


def test_trimmed_window_stays_inside_its_sentence() -> None:
    long_sentence = "The mayor " + "talked and talked " * 30 + "about nothing."
    text = f"Short one. {long_sentence} Next one."
    ex = excerpt(text, "mayor", max_chars=100)
    assert ex.text.startswith("The mayor talked")
    assert ex.cut_start and ex.cut_end
    assert len(ex.text) <= 100


def test_no_match_gives_the_beginning() -> None:
    text = "First sentence here. " * 40
    ex = excerpt(text, "zebra", max_chars=50)
    assert ex.text == "First sentence here. First sentence here. First"
    assert ex.marks == () and not ex.cut_start and ex.cut_end
    ex = excerpt("Short paragraph.", "zebra")
    assert ex == Excerpt("Short paragraph.")


def test_cuts_never_split_words() -> None:
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu"
    for n in range(5, len(text) + 2):
        ex = excerpt(text, "", max_chars=n)
        assert len(ex.text) <= n
        assert text.startswith(ex.text)
        assert ex.text == "" or text[len(ex.text) : len(ex.text) + 1] in ("", " ")
        assert ex.cut_end == (ex.text != text)


def test_unspaced_text_is_cut_at_word_boundaries() -> None:
    text = "/".join(["segment"] * 100)
    ex = excerpt(text, "", max_chars=50)
    assert len(ex.text) <= 50
    assert all(part == "segment" for part in ex.text.strip("/").split("/"))


def test_one_huge_word_is_cut_hard() -> None:
    ex = excerpt("x" * 5000, "", max_chars=100)
    assert ex.text == "x" * 100 and ex.cut_end and not ex.cut_start


def test_hard_cut_keeps_combining_marks_with_their_letter() -> None:
    text = "e\u0301" * 200  # é written as e + combining acute
    ex = excerpt(text, "", max_chars=51)
    assert len(ex.text) <= 51
    assert ex.text.endswith("\u0301")


def test_render_length_bound() -> None:
    text = " ".join(["the bridge and the mayor"] * 200)
    for n in (1, 2, 5, 40, 99, 300):
        ex = excerpt(text, "bridge mayor", max_chars=n)
        assert len(ex.render(ellipsis="…")) <= n + 2
        check_marks(ex, terms("bridge mayor"))


def test_max_chars_must_be_positive() -> None:
    with pytest.raises(ValueError):
        excerpt("text", "text", max_chars=0)


# ---- whitespace, markup, Unicode -----------------------------------------------------------------------


def test_whitespace_is_collapsed_and_marks_follow() -> None:
    text = "  The\tmayor\n\n  opened   the\u00a0new \r\n bridge.  "
    ex = excerpt(text, "mayor bridge")
    assert ex.text == "The mayor opened the new bridge."
    assert marked(ex) == ["mayor", "bridge"]
    check_marks(ex, terms("mayor bridge"))


def test_whitespace_collapse_before_a_long_trim() -> None:
    text = ("filler\n\n\n\t " * 100) + "the   mayor\n\nopened the bridge" + (" \n filler" * 100)
    ex = excerpt(text, "mayor bridge", max_chars=60)
    assert "  " not in ex.text and "\n" not in ex.text
    assert marked(ex) == ["mayor", "bridge"]
    check_marks(ex, terms("mayor bridge"))


def test_adjacent_matches_are_one_mark() -> None:
    ex = excerpt("She moved to New York last year.", "new york")
    assert marked(ex) == ["New York"]
    ex = excerpt("Bank of England rates.", "bank england")
    assert marked(ex) == ["Bank", "England"]


def test_markup_is_kept_as_text() -> None:
    text = "**Breaking**: <@123> says the _bridge_ is `closed` <#42>."
    ex = excerpt(text, "bridge breaking")
    assert ex.text == text
    assert marked(ex) == ["Breaking", "bridge"]
    assert ex.render("[", "]") == "**[Breaking]**: <@123> says the _[bridge]_ is `closed` <#42>."


def test_escape_is_left_to_the_caller() -> None:
    ex = excerpt("a *bridge* here", "bridge")
    assert ex.render("**", "**", escape=lambda s: s.replace("*", "\\*")) == "a \\***bridge**\\* here"


def test_unicode_text() -> None:
    text = "東京で会議が開かれた。 Le café est fermé à Paris 🎉🎉 aujourd’hui. 😀 Ünïcödé naïve test."
    ex = excerpt(text, "café paris naive")
    check_marks(ex, terms("café paris naive"))
    assert "café" in marked(ex) and "Paris" in marked(ex)
    ex = excerpt("東京 会議 大阪", "会議")
    assert marked(ex) == ["会議"]


def test_emoji_and_cjk_runs_are_cut_within_bounds() -> None:
    for text in ("🎉" * 1000, "東京" * 1000, "👨\u200d👩\u200d👧" * 300):
        ex = excerpt(text, "東京", max_chars=40)
        assert 0 < len(ex.text) <= 40 and ex.cut_end
        assert text.startswith(ex.text)
    ex = excerpt("👨\u200d👩\u200d👧" * 300, "", max_chars=42)
    assert ex.text == "👨\u200d👩\u200d👧" * 8


def test_empty_and_blank_text() -> None:
    assert excerpt("", "anything") == Excerpt("")
    assert excerpt(" \n\t ", "anything") == Excerpt("")
    assert make_excerpt("text", set(), TOKENIZER) == Excerpt("text")


def test_text_of_only_stopwords() -> None:
    text = "and the of to in it was " * 30
    ex = excerpt(text, "the and of", max_chars=40)
    assert ex.marks == ()
    assert flat(text).startswith(ex.text) and len(ex.text) <= 40


# ---- long paragraphs (correctness only: speed is measured in bench/, never asserted) -----------------


def test_long_paragraph_finds_the_match_deep_inside() -> None:
    sentence = "The mayor of the city said on Tuesday that the old bridge over the river will close. "
    text = (sentence * 1200)[:100_000]
    text = text[:60_000] + " The new stadium opened. " + text[60_000:]
    query = terms("stadium bridge mayor")
    ex = make_excerpt(text, query, TOKENIZER)
    assert "stadium" in ex.text and ex.cut_start and ex.cut_end
    check_marks(ex, query)


def test_long_unbroken_paragraph_is_cut() -> None:
    text = "word" * 25_000
    ex = make_excerpt(text, terms("word"), TOKENIZER)
    assert len(ex.render()) <= 302 and ex.cut_end


# ---- properties ----------------------------------------------------------------------------------------

WORDS = ["the", "mayor", "bridge", "river", "of", "U.S.", "Mr.", "Café", "東京", "🎉", "**bold**", "<@123>"]
WORDS += ["naïve", "Zürich", "don't", "e\u0301t\u00e9", "👨\u200d👩\u200d👧", "x" * 90]
PUNCT = [" ", "  ", "\n", ". ", "! ", "? ", ", ", "\t", ".\n\n"]


def _paragraph() -> st.SearchStrategy[str]:
    piece = st.sampled_from(WORDS) | st.text(min_size=1, max_size=12)
    return st.lists(st.tuples(piece, st.sampled_from(PUNCT)), max_size=80).map(
        lambda parts: "".join(w + p for w, p in parts)
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(), st.sets(st.text(max_size=8), max_size=5), st.integers(min_value=1, max_value=400))
def test_any_text_and_terms(text: str, query_terms: set[str], max_chars: int) -> None:
    ex = make_excerpt(text, query_terms, TOKENIZER, max_chars)
    assert len(ex.text) <= max_chars
    assert len(ex.render(ellipsis="…")) <= max_chars + 2
    check_marks(ex, query_terms)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_paragraph(), st.data(), st.integers(min_value=1, max_value=300))
def test_paragraph_properties(text: str, data: st.DataObject, max_chars: int) -> None:
    own = sorted(set(TOKENIZER.tokens(text)))
    query_terms = data.draw(st.sets(st.sampled_from(own), max_size=4) if own else st.just(set()))
    ex = make_excerpt(text, query_terms, TOKENIZER, max_chars)
    whole = flat(text)
    assert len(ex.render(ellipsis="…")) <= max_chars + 2
    assert ex.text in whole
    assert ex.text == ex.text.strip() and "  " not in ex.text
    assert not re.search(r"[\t\n\r]", ex.text)
    assert bool(ex.text) == bool(whole)
    if not ex.cut_start:
        assert whole.startswith(ex.text)
    if not ex.cut_end:
        assert whole.endswith(ex.text)
    assert (ex.cut_start or ex.cut_end) == (ex.text != whole)
    check_marks(ex, query_terms)
    for s, e, term in TOKENIZER.spans(ex.text):
        cut_word = (ex.cut_start and s == 0) or (ex.cut_end and e == len(ex.text))
        if term in query_terms and not cut_word:
            assert any(ms <= s and e <= me for ms, me in ex.marks), (ex, term)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["alpha", "beta", "gamma", "delta", "Epsilon.", "zeta!", "eta"]), max_size=120),
    st.integers(min_value=10, max_value=200),
)
def test_spaced_words_are_never_split(words: list[str], max_chars: int) -> None:
    text = " ".join(words)
    ex = make_excerpt(text, terms("gamma epsilon"), TOKENIZER, max_chars)
    assert len(ex.text) <= max_chars
    chunks = ex.text.split()
    for i, chunk in enumerate(chunks):
        if chunk in words:
            continue
        # only the last piece may lose trailing punctuation ("Epsilon." -> "Epsilon"), never letters
        assert i == len(chunks) - 1 and ex.cut_end
        assert any(w.startswith(chunk) and not w[len(chunk)].isalnum() for w in words if len(w) > len(chunk))
