"""What kind of answer a question asks for, read from its words (English questions).

Only one kind is told apart so far: a number ("How many …", "How much …", "What percentage …"). The
ranking then favours paragraphs that hold one (``RankParams.number_boost``): a question after a
count or an amount is answered by the sentence that gives it, not by the one that repeats its words.
"""

from __future__ import annotations

import re

_NUMBER = re.compile(
    r"\b(?:how\s+(?:many|much|long|old|far|big|tall|high|fast|large|often)(?![-\w])"
    r"|(?:what|which)(?:'s|’s|\s+is|\s+was)?\s+(?:the\s+)?(?:\w+\s+)?(?:percent|percentage|year|age|number|amount"
    r"|price|fraction|share|proportion|rate|score|total|population)\b"
    r"|by\s+how\b)",
    re.IGNORECASE,
)


def wants_number(question: str) -> bool:
    """Whether the question asks for a number (a count, an amount, a percentage, a year, …)."""
    return _NUMBER.search(question) is not None
