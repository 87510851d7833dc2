"""What the ranking is asked: its features' weights (``RankParams``) and a question's dates (``Window``).

Every weight is named once, here, and keeps that name in the configuration file (``[ranking]``), in
the structures the numpy ranking and the kernels read (``inputs.RankSettings``) and in the kernels.
Its default is written once too: the configuration's defaults are read from ``RankParams``.

Only the weights an operator can judge are settings (``config.RankingSettings``): how fast news goes stale,
and whether whole articles count (which also costs memory). The others were tuned together on the
news-quiz evaluation (docs/evaluation.md); changing one alone is not a knob anyone can reason
about, so they are fields for evaluation and tests, never read from the configuration file.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from newsbot.index.layout import EPOCH, MAX_WORDS

PRESELECT = 500  # paragraphs kept for the finer features (more gave the same evaluation, slower)
TITLE_ARTICLES = 20  # best title matches whose paragraphs always stay in the running
RECENCY_HORIZON = 3650  # days; older (and undated) articles get no recency favour
LEAD_HORIZON = 4096  # positions; later paragraphs are treated as this one


@dataclass(frozen=True, slots=True)
class RankParams:
    # settings: the configuration's [ranking] section (config.RankingSettings)
    recency_days: float = 14.0  # the recency prior fades over about this many days; 0 turns it off
    whole_article_weight: float = 2.0  # the whole article as one BM25 document (title and paragraphs)
    # internal weights, tuned together on the evaluation (see the module's docstring)
    title_weight: float = 0.3
    neighbour_weight: float = 0.3
    junk_factor: float = 0.2
    recency_boost: float = 2.0  # a story from "now" counts 1 + this times an old one
    date_boost: float = 0.5  # extra weight for articles in the period a question names
    date_slack_days: float = 3.0  # how far around that period still counts
    lead_boost: float = 0.5  # favour an article's first paragraphs (news puts the facts first)
    lead_paragraphs: float = 10.0  # how quickly that favour fades with the paragraph's position
    short_words: float = 16.0  # paragraphs with fewer indexed words than this count less …
    short_power: float = 0.75  # … by (words / short_words) ** short_power (0 turns it off) …
    short_after: int = 2  # … unless among an article's first paragraphs (a lead is short by design)
    number_boost: float = 0.4  # a question asking for a number: paragraphs holding one count this much more

    def __post_init__(self) -> None:
        # the date multipliers stay at 1 or above: a paragraph is never hidden by a preference
        if self.recency_boost < 0 or self.date_boost < 0:
            raise ValueError("recency_boost and date_boost cannot be negative")
        if not 0 <= self.short_words <= MAX_WORDS or not 0 <= self.short_power < math.inf:
            raise ValueError(f"short_words must be 0 to {MAX_WORDS} and short_power 0 or more")
        if not 0 <= self.number_boost < math.inf:
            raise ValueError("number_boost must be 0 or more")
        if not isinstance(self.short_after, int) or self.short_after < 0:
            raise ValueError("short_after must be a whole number, 0 or more")


@dataclass(frozen=True, slots=True)
class Window:
    """What a question sets: which articles may be seen (none dated after ``until``, none before
    ``since``), the day that counts as now, a period to favour, and whether it asks for a number."""

    since: dt.date | None = None
    until: dt.date | None = None
    now: dt.date | None = None  # the reference for recency (usually the "as of" date)
    prefer: tuple[dt.date, dt.date] | None = None  # a period to favour (not a filter)
    numbers: bool = False  # the question asks for a number (answer_type.wants_number)


def day_number(date: dt.date | None) -> int | None:
    """Days since the epoch, as the generation stores dates."""
    return (date - EPOCH).days if date else None


def recency_table(params: RankParams) -> npt.NDArray[np.float64]:
    """The recency multiplier by age in days (the last entry, 1, for older and undated articles)."""
    table = 1.0 + params.recency_boost * np.exp(-np.arange(RECENCY_HORIZON + 1) / params.recency_days)
    table[RECENCY_HORIZON] = 1.0
    return table


def lead_table(params: RankParams) -> npt.NDArray[np.float64]:
    """The lead-paragraph multiplier by position in the article."""
    position = np.arange(LEAD_HORIZON + 1, dtype=np.float64)
    return 1.0 + params.lead_boost * np.exp(-position / params.lead_paragraphs)


def short_table(params: RankParams) -> npt.NDArray[np.float64]:
    """The multiplier by a paragraph's length in indexed words: ``min(1, words / short_words) **
    short_power``; its last entry, 1, is for every length from ``short_words`` up.

    BM25 favours short paragraphs that hold the query's words densely. Past an article's lead
    (``short_after`` paragraphs, exempt: news opens with short summary sentences), the shortest
    are mostly subheadings, captions, pull quotes and fragments; an answer needs some substance.
    """
    top = int(np.ceil(params.short_words))
    words = np.arange(top + 1, dtype=np.float64)
    return np.minimum(1.0, words / params.short_words) ** params.short_power


def has_short(params: RankParams) -> bool:
    return params.short_power > 0 and params.short_words > 1
