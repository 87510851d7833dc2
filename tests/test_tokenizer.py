"""The one tokenizer: the same terms for indexing (tokens, tokens_many) and highlighting (spans)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newsbot.index.tokenizer import Tokenizer, TokenizerSpec

TOK = Tokenizer(TokenizerSpec(stem=True))
PLAIN = Tokenizer(TokenizerSpec(stem=False, stopwords=False))


def test_examples() -> None:
    assert TOK.tokens("The Mayor's plan: don't raise taxes!") == ["mayor", "plan", "dont", "rais", "tax"]
    assert TOK.tokens("Café cafe\u0301 CAFÉ") == ["cafe", "cafe", "cafe"]
    assert TOK.tokens("İstanbul l’état") == ["istanbul", "letat"]
    assert PLAIN.tokens("The elections") == ["the", "elections"]
    assert TOK.tokens("") == [] and TOK.tokens("the of and") == []


def test_inner_ampersands_join_a_word() -> None:
    text = "AT&T's network, S&P 500, R&B; rock & roll, &amp a& &b"
    assert PLAIN.tokens(text) == ["at&t", "network", "s&p", "500", "r&b", "rock", "roll", "amp", "a", "b"]
    assert [text[s:e] for s, e, _ in PLAIN.spans(text)][:4] == ["AT&T's", "network", "S&P", "500"]
    # an index made by version 1 is still read its way (split: two stopwords) until a reindex
    old = Tokenizer(TokenizerSpec(version=1))
    assert old.tokens("AT&T network") == ["network"] and TOK.tokens("AT&T network") == ["at&t", "network"]
    try:
        Tokenizer(TokenizerSpec(version=99))
    except ValueError as exc:
        assert "99" in str(exc)
    else:
        raise AssertionError("an unknown tokenizer version was accepted")


def test_spans_point_at_the_words() -> None:
    text = "Voters in Alderbrook elected Ruth Okafor."
    spans = TOK.spans(text)
    assert [text[s:e] for s, e, _ in spans] == ["Voters", "Alderbrook", "elected", "Ruth", "Okafor"]
    assert [t for _, _, t in spans] == TOK.tokens(text)


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


@settings(max_examples=300, deadline=None)
@given(st.lists(texts, max_size=5))
def test_all_paths_agree(batch: list[str]) -> None:
    for tok in (TOK, PLAIN, Tokenizer(TokenizerSpec(version=1))):
        one_by_one = [tok.tokens(t) for t in batch]
        assert tok.tokens_many(batch) == one_by_one
        for text, terms in zip(batch, one_by_one, strict=True):
            assert [t for _, _, t in tok.spans(text)] == terms
            assert all(term and "\x00" not in term and "\x01" not in term for term in terms)
