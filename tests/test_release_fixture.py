"""An index written by release 0.1 is opened and answered by this code without a rebuild.

``tests/fixtures/release-0.1`` holds the bundled sample news indexed by newsbot 0.1.0 and what 0.1.0
answered over it; the answers must come out the same (passages, order, scores, excerpts).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from newsbot.index.api import NewsIndex
from newsbot.index.config import settings_from_dict

FIXTURE = Path(__file__).parent / "fixtures" / "release-0.1"
QUESTIONS = [
    "when does the Harbor Line tram open?",
    "who won the Riverside marathon?",
    "storm damage in Kestrel Bay",
    "what did the council vote on the budget",
    "boil water notice Millbrook",
    "who is the new mayor of Alderbrook",
    "how many beetle species were found at Greyfen",
    "Lumora raised how much money",
    "flu cases",
    "comet",
    "film festival lineup",
    "ferry fares since October",
]
AS_OF = dt.date(2026, 11, 30)


async def test_a_release_0_1_index_answers_as_it_did(tmp_path: Path) -> None:
    shutil.copy(FIXTURE / "news.db", tmp_path / "news.db")
    shutil.copytree(FIXTURE / "news.db.gens", tmp_path / "news.db.gens")
    expected = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))
    settings = settings_from_dict({"store": {"database": str(tmp_path / "news.db")}})
    async with await NewsIndex.open(settings, compiled=False) as index:
        assert index.generation is not None and index.generation.number == 1  # opened, not rebuilt
        answers = [(await index.ask(q, k=5, as_of=AS_OF)).to_json() for q in QUESTIONS]
        latest = [story.title for story in await index.latest(3)]
    assert len(expected["answers"]) == len(QUESTIONS)
    assert all(a["hits"] for a in answers)
    assert answers == expected["answers"]
    assert latest == expected["latest"]
    assert sorted(p.name for p in (tmp_path / "news.db.gens").iterdir()) == ["00000001"]
