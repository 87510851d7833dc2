"""A small news folder written by the tests themselves (it does not depend on index/sample_news)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

LONG_PARAGRAPH = " ".join(
    f"Line {i} of the quarry budget allocation lists gravel, asphalt and culvert spending for ward {i % 7}."
    for i in range(80)
)  # about 7,500 characters: more than one embed description


@dataclass(frozen=True)
class Article:
    file: str
    date: str
    title: str
    paragraphs: tuple[str, ...]
    source: str | None = None
    url: str | None = None

    def text(self) -> str:
        return f" date {self.date} {self.title}\n\n" + "\n\n".join(self.paragraphs) + "\n"


ARTICLES = (
    Article(
        "2026-10-10-harbour-bridge.txt",
        "2026-10-10",
        "Harbour Bridge Reopens After Repairs",
        (
            "The Kestrel Harbour bridge reopened to traffic on Saturday after eleven weeks of repairs to its "
            "steel cables, the county roads office said.",
            "Ferry services that carried commuters during the closure will return to their winter timetable "
            "next Monday.",
        ),
        source="Kestrel Courier",
        url="https://news.example.com/kestrel/2026/10/10/harbour-bridge",
    ),
    Article(
        "2026-10-12-notice-board.txt",
        "2026-10-12",
        "Town Hall Notice Board Prank",
        (
            "A prank notice on the Ashgrove town hall board told @everyone to attend a midnight meeting, "
            "signed <@123> for the <@&456> committee and printed in *bold* letters_with_underscores.",
            "The clerk removed the notice board prank on Tuesday morning.",
        ),
    ),
    Article(
        "2026-10-14-marathon.txt",
        "2026-10-14",
        "Riverside Marathon Won by Oduya",
        (
            "Lena Oduya won the Riverside marathon in two hours and twenty-six minutes, a course record.",
            "More than four thousand runners finished the marathon in cold weather.",
        ),
    ),
    Article(
        "2026-10-16-library.txt",
        "2026-10-16",
        "Library Gets Extra Funding",
        (
            "The Ashgrove library will receive extra funding of 300,000 dollars for new reading rooms.",
            "The library plans to open on Sundays from January.",
        ),
    ),
    Article(
        "2026-10-08-quarry-budget.txt",
        "2026-10-08",
        "Quarry Budget Details Published",
        ("The council published the quarry budget on Thursday.", LONG_PARAGRAPH),
    ),
    Article(
        "2026-10-15-storm-coast.txt",
        "2026-10-15",
        "Storm Warning for the Coast",
        (
            "A storm warning is in force for the coast as gales approach from the west.",
            "Coastal towns prepared sandbags before the storm arrived.",
        ),
    ),
    Article(
        "2026-10-13-storm-farms.txt",
        "2026-10-13",
        "Storm Damages Farm Sheds",
        (
            "The storm damaged farm sheds across the valley on Monday night.",
            "Farmers said the storm flattened maize fields near the river.",
        ),
    ),
    Article(
        "2026-10-11-storm-schools.txt",
        "2026-10-11",
        "Schools Close Ahead of Storm",
        (
            "Schools closed early as the storm moved inland on Friday.",
            "Teachers sent homework home before the storm reached the hills.",
        ),
    ),
)


def write_corpus(folder: Path) -> list[Article]:
    folder.mkdir(parents=True, exist_ok=True)
    meta = []
    for article in ARTICLES:
        (folder / article.file).write_text(article.text(), encoding="utf-8")
        if article.source or article.url:
            meta.append(
                {
                    "file": article.file,
                    "title": article.title,
                    "date": article.date,
                    "source": article.source,
                    "url": article.url,
                }
            )
    (folder / "metadata.jsonl").write_text("".join(json.dumps(m) + "\n" for m in meta), encoding="utf-8")
    return list(ARTICLES)


def write_filler(folder: Path, count: int, prefix: str = "filler") -> None:
    """``count`` extra small articles (to give a reindex some work)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        body = "\n\n".join(
            f"Filler report {i} paragraph {p} about orchard {i} and meadow {p} near village {i * 7 + p}."
            for p in range(4)
        )
        (folder / f"2026-09-01-{prefix}-{i:04d}.txt").write_text(
            f" date 2026-09-01 {prefix.title()} Report {i}\n\n{body}\n", encoding="utf-8"
        )
