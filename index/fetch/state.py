"""What newsbot remembers about each feed between passes, as plain JSON-ready dataclasses.

:class:`FeedState` is what the fetcher reads before a feed and writes after it. Where it is kept is
the caller's choice through :class:`FeedStateStore` (two async methods): :class:`JsonStateStore`
keeps every feed's state in one JSON file, written atomically; a database table keyed by the feed's
URL, holding :meth:`FeedState.to_json`, does as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Protocol

from newsbot.index.fetch.errors import ArchiveError

_TIMES = ("last_attempt", "last_success", "next_try", "failing_since")


@dataclass(slots=True)
class FeedState:
    url: str
    title: str | None = None  # the feed's own title, as last read
    etag: str | None = None
    last_modified: str | None = None
    last_attempt: dt.datetime | None = None
    last_success: dt.datetime | None = None
    failures: int = 0  # failures in a row; 0 when the last attempt worked
    last_error: str | None = None
    next_try: dt.datetime | None = None  # set while backing off: not fetched before this
    moved_to: str | None = None  # where a permanent redirect says the feed now lives
    stored: int = 0  # articles stored from this feed, all passes together
    failing_since: dt.datetime | None = None  # the first failure of the failures in a row

    @property
    def failing(self) -> bool:
        return self.failures > 0

    def waiting(self, now: dt.datetime) -> bool:
        """Backing off: the next try is still ahead."""
        return self.next_try is not None and now < self.next_try

    def describe(self, now: dt.datetime | None = None) -> str:
        """One line for ``feeds list`` and ``/feeds list``."""
        now = now or dt.datetime.now(dt.UTC)
        if self.failures:
            since = f" since {self.failing_since.isoformat(timespec='minutes')}" if self.failing_since else ""
            text = f"failing{since} ({self.failures} in a row): {self.last_error or 'unknown error'}"
            if self.next_try and self.next_try > now:
                text += f"; next try {self.next_try.isoformat(timespec='minutes')}"
            return text
        if self.last_success:
            return f"ok, last fetched {self.last_success.isoformat(timespec='minutes')}; {self.stored} stored"
        return "not fetched yet"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in _TIMES:
            value = getattr(self, key)
            out[key] = value.isoformat() if value else None
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeedState:
        """Tolerant: unknown keys are ignored, bad values fall back to the defaults."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        for key in _TIMES:
            raw = values.get(key)
            try:
                parsed = dt.datetime.fromisoformat(raw) if isinstance(raw, str) else None
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            values[key] = parsed
        for key in ("failures", "stored"):
            if not isinstance(values.get(key), int) or isinstance(values.get(key), bool):
                values.pop(key, None)
        for key in ("title", "etag", "last_modified", "last_error", "moved_to"):
            if key in values and not isinstance(values[key], str):
                values[key] = None
        if not isinstance(values.get("url"), str):
            raise ValueError("a feed state needs its url")
        return cls(**values)


class FeedStateStore(Protocol):
    async def load(self, url: str) -> FeedState | None: ...

    async def save(self, state: FeedState) -> None: ...


class JsonStateStore:
    """Every feed's state in one JSON file (``{url: state}``), replaced atomically on each save."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._states: dict[str, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    def _read(self) -> dict[str, dict[str, Any]]:
        if self._states is None:
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raw = {}
            except (OSError, ValueError):
                raw = {}  # unreadable state: start again (conditional GET and backoff are only hints)
            self._states = (
                {k: v for k, v in raw.items() if isinstance(v, dict)} if isinstance(raw, dict) else {}
            )
        return self._states

    async def load(self, url: str) -> FeedState | None:
        data = self._read().get(url)
        if data is None:
            return None
        try:
            return FeedState.from_json(data)
        except (TypeError, ValueError):
            return None

    async def save(self, state: FeedState) -> None:
        async with self._lock:
            states = self._read()
            states[state.url] = state.to_json()
            self._write(states)

    async def remove(self, url: str) -> None:
        async with self._lock:
            states = self._read()
            if states.pop(url, None) is not None:
                self._write(states)

    def all(self) -> list[FeedState]:
        out = []
        for data in self._read().values():
            with contextlib.suppress(TypeError, ValueError):
                out.append(FeedState.from_json(data))
        return out

    def _write(self, states: dict[str, dict[str, Any]]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as out:
                json.dump(states, out, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise ArchiveError(str(self.path.parent), f"cannot save feed state ({exc.strerror})") from None
