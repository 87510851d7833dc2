"""A burst of /ask interactions injected into a :class:`FakeDiscord` at once, with latency figures.

Shared by the load tests (``tests/e2e/test_load.py``, over the test corpus) and ``bench/burst.py`` (over a
full-size index, by hand). Latencies run from the moment the fake sent an interaction to the moment it
received the acknowledgement (the interaction callback) and the answer (the first edit of ``@original``).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass

from .fake_discord import FakeDiscord, Json, Person, Request, Sent


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def make_people(fake: FakeDiscord, count: int, prefix: str = "asker") -> list[Person]:
    """``count`` distinct members (each has their own question allowance)."""
    return [fake.person(f"{prefix}-{i}") for i in range(count)]


@dataclass
class Burst:
    sent: list[Sent]
    callbacks: list[Request]
    answers: list[Request]

    @property
    def ack_seconds(self) -> list[float]:
        return [c.at - s.at for s, c in zip(self.sent, self.callbacks, strict=True)]

    @property
    def answer_seconds(self) -> list[float]:
        return [a.at - s.at for s, a in zip(self.sent, self.answers, strict=True)]

    @property
    def bodies(self) -> list[Json]:
        return [a.json for a in self.answers]

    @property
    def injected_in(self) -> float:
        """Seconds from the first interaction sent to the last."""
        return self.sent[-1].at - self.sent[0].at

    def figures(self, label: str) -> str:
        ack, answer = self.ack_seconds, self.answer_seconds
        ms = 1000.0
        return (
            f"{label}: {len(self.sent)} /ask injected in {self.injected_in * ms:.0f} ms; "
            f"ack p50 {percentile(ack, 50) * ms:.0f} ms, p99 {percentile(ack, 99) * ms:.0f} ms, "
            f"max {max(ack) * ms:.0f} ms; "
            f"answer p50 {percentile(answer, 50) * ms:.0f} ms, p99 {percentile(answer, 99) * ms:.0f} ms, "
            f"max {max(answer) * ms:.0f} ms"
        )


async def inject(fake: FakeDiscord, questions: Sequence[str], people: Sequence[Person]) -> list[Sent]:
    """Send one /ask per (question, person) back to back, without waiting for any answer."""
    return [await fake.slash("ask", {"question": q}, user=p) for q, p in zip(questions, people, strict=True)]


async def collect(fake: FakeDiscord, sent: Sequence[Sent], *, within: float = 60.0) -> Burst:
    """Wait for the acknowledgement and the answer of every interaction in ``sent``."""

    async def one(s: Sent) -> tuple[Request, Request]:
        callback = await fake.callback(s, within=within)
        answer = await fake.wait_for(
            lambda r: (
                r.method == "PATCH" and r.path == f"/webhooks/{fake.app_id}/{s.token}/messages/@original"
            ),
            within=within,
        )
        return callback, answer

    pairs = await asyncio.gather(*(one(s) for s in sent))
    return Burst(list(sent), [c for c, _ in pairs], [a for _, a in pairs])
