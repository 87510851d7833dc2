"""Which ranked passages an answer shows: per-article cap, repeats discounted, near copies left out."""

from __future__ import annotations

import random

from newsbot.index.answer.diversity import Pick, Picker


def pick(article: int, score: float, words: str = "") -> Pick:
    return Pick(article, {"id": f"{article}:{score}"}, score, set(words.split()) or {f"w{article}:{score}"})


def shown(ranked: list[Pick], want: int = 10, cap: int = 2, factor: float = 0.85) -> list[tuple[int, float]]:
    picker = Picker(want=want, cap=cap, repeat_factor=factor)
    for p in ranked:
        picker.offer(p)
    return [(p.article, p.score) for p in picker.finish()]


def test_a_repeat_from_the_same_article_must_beat_other_stories_by_a_margin() -> None:
    ranked = [pick(1, 10.0), pick(1, 9.5), pick(2, 9.0), pick(3, 7.0)]
    # 9.5 x 0.85 = 8.075: below story 2's 9.0, above story 3's 7.0
    assert shown(ranked) == [(1, 10.0), (2, 9.0), (1, 9.5), (3, 7.0)]
    # factor 1: plain rank order
    assert shown(ranked, factor=1.0) == [(1, 10.0), (1, 9.5), (2, 9.0), (3, 7.0)]


def test_a_much_better_repeat_still_comes_first() -> None:
    ranked = [pick(1, 10.0), pick(1, 9.8), pick(2, 5.0)]
    assert shown(ranked) == [(1, 10.0), (1, 9.8), (2, 5.0)]


def test_equal_discounted_score_keeps_the_earlier_passage_first() -> None:
    ranked = [pick(1, 10.0), pick(1, 8.0), pick(2, 4.0)]
    assert shown(ranked, factor=0.5) == [(1, 10.0), (1, 8.0), (2, 4.0)]  # 8 x 0.5 = 4


def test_cap_and_growing_discount_for_later_repeats() -> None:
    ranked = [pick(1, 10.0), pick(1, 9.0), pick(1, 8.9), pick(1, 8.8), pick(2, 7.0)]
    # cap 3: the fourth passage of article 1 is never shown; the third counts 8.9 x 0.8^2 = 5.7
    assert shown(ranked, cap=3, factor=0.8) == [(1, 10.0), (1, 9.0), (2, 7.0), (1, 8.9)]
    assert shown(ranked, cap=1) == [(1, 10.0), (2, 7.0)]


def test_held_back_repeats_are_shown_when_nothing_else_comes() -> None:
    assert shown([pick(1, 3.0), pick(1, 2.5)]) == [(1, 3.0), (1, 2.5)]


def test_negative_scores_are_discounted_downwards_too() -> None:
    ranked = [pick(1, -1.0), pick(1, -1.1), pick(2, -1.2)]
    # -1.1 counts -1.265: after story 2
    assert shown(ranked) == [(1, -1.0), (2, -1.2), (1, -1.1)]


def test_near_copy_from_another_article_is_left_out_and_frees_the_slot() -> None:
    ranked = [
        pick(1, 10.0, "ferry crane harbour lifted dawn"),
        pick(2, 9.0, "ferry crane harbour lifted dawn"),  # a copy of article 1's passage
        pick(2, 8.0, "council budget vote"),
        pick(1, 7.0, "ferry crane harbour lifted dawn crews"),  # same article: not a "copy"
    ]
    assert shown(ranked) == [(1, 10.0), (2, 8.0), (1, 7.0)]


def test_stops_when_full_and_random_orders_keep_the_rules() -> None:
    rng = random.Random(4)
    for _ in range(300):
        scores = sorted((rng.uniform(-2, 20) for _ in range(rng.randint(0, 30))), reverse=True)
        ranked = [pick(rng.randint(1, 6), s) for s in scores]
        want, cap = rng.randint(1, 8), rng.randint(1, 3)
        got = shown(ranked, want=want, cap=cap, factor=rng.choice([0.5, 0.85, 1.0]))
        assert len(got) <= want
        per = {a: sum(1 for b, _ in got if b == a) for a, _ in got}
        assert all(n <= cap for n in per.values())
        firsts = [s for i, (a, s) in enumerate(got) if all(b != a for b, _ in got[:i])]
        assert firsts == sorted(firsts, reverse=True)  # first passages of stories stay in rank order
        if len(got) < want:  # nothing that could be shown was dropped
            possible = sum(
                min(cap, sum(1 for p in ranked if p.article == a)) for a in {p.article for p in ranked}
            )
            assert len(got) == possible


def test_a_held_repeat_that_nearly_copies_another_story_is_left_out() -> None:
    ranked = [
        pick(1, 10.0, "ferry crane harbour"),
        pick(2, 9.0, "bakery bread rye"),
        pick(2, 8.9, "ferry crane harbour"),  # held back (8.9 x 0.85), then a near copy of article 1's
        pick(3, 5.0, "council vote budget"),
    ]
    assert shown(ranked) == [(1, 10.0), (2, 9.0), (3, 5.0)]


def test_without_the_whole_ranking_held_repeats_stay_back() -> None:
    picker = Picker(want=10)
    for p in [pick(1, 10.0), pick(1, 9.9), pick(2, 5.0)]:
        picker.offer(p)
    # 9.9 x 0.85 = 8.4 came before 5.0, the last passage offered
    assert [(p.article, p.score) for p in picker.finish(everything=False, cut=5.0)] == [
        (1, 10.0),
        (1, 9.9),
        (2, 5.0),
    ]
    picker = Picker(want=10)
    for p in [pick(1, 10.0), pick(1, 9.0), pick(2, 8.0)]:
        picker.offer(p)
    # 9.0 x 0.85 = 7.65: the ranking was cut at 7.7, so a passage not offered yet might beat it
    assert [(p.article, p.score) for p in picker.finish(everything=False, cut=7.7)] == [(1, 10.0), (2, 8.0)]
    assert [(p.article, p.score) for p in picker.finish(everything=False, cut=7.6)] == [
        (1, 10.0),
        (2, 8.0),
        (1, 9.0),
    ]
