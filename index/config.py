"""Settings: read once from TOML into one typed, validated object.

A wrong or missing setting raises :class:`ConfigError` naming the key; nothing else in the
program reads the configuration file. The Discord token is never a setting: it comes from the
``DISCORD_TOKEN`` environment variable only.
"""

from __future__ import annotations

import dataclasses
import math
import os
import stat
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from newsbot.index.config_rules import validate
from newsbot.index.errors import ConfigError
from newsbot.index.ranking.bm25 import BM25Params
from newsbot.index.ranking.params import RankParams

SAMPLE_NEWS = Path(__file__).parent / "sample_news"


@dataclass(frozen=True)
class NewsSettings:
    folders: list[str] = field(default_factory=lambda: [str(SAMPLE_NEWS)])


@dataclass(frozen=True)
class StoreSettings:
    database: str = "newsbot.db"


# The ranking's defaults are written once, in BM25Params and RankParams: the settings read them there
# and keep their names, so a setting is called the same from the file to the kernels.
_BM25 = BM25Params()
_RANKING = RankParams()


@dataclass(frozen=True)
class IndexSettings:
    variant: str = _BM25.variant  # variant to article_b: BM25Params, by the same names
    k1: float = _BM25.k1
    b: float = _BM25.b
    article_b: float = _BM25.article_b
    epsilon: float = _BM25.epsilon
    delta: float = _BM25.delta
    language: str = "english"
    stem: bool = False
    stopwords: bool = True
    compiled: bool = True


@dataclass(frozen=True)
class AnswerSettings:
    passages: int = 3
    max_passages: int = 10
    per_article: int = 2
    repeat_factor: float = 0.85
    excerpt_chars: int = 300
    min_score: float = 0.0


@dataclass(frozen=True)
class RankingSettings:
    """The ranking weights an operator may set, by their RankParams names; the rest of RankParams
    stays at its defaults (see ``ranking/params.py`` for why)."""

    recency_days: float = _RANKING.recency_days
    whole_article_weight: float = _RANKING.whole_article_weight


@dataclass(frozen=True)
class DiscordSettings:
    guild_ids: list[int] = field(default_factory=list)
    admin_role_ids: list[int] = field(default_factory=list)
    admin_user_ids: list[int] = field(default_factory=list)
    mention_channel_ids: list[int] = field(default_factory=list)
    message_content_intent: bool = False
    cooldown_questions: int = 5
    cooldown_seconds: float = 60.0
    more_timeout_seconds: float = 600.0
    # Gateway shards (Discord requires them past 2,500 servers): "auto" lets Discord choose the count.
    shard_count: int | Literal["auto"] = "auto"
    # The shards this process runs, when several processes share the bot; empty: all of them.
    shard_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class WatchSettings:
    enabled: bool = True
    interval_seconds: float = 300.0
    announce_cap: int = 10


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"


@dataclass(frozen=True)
class FetchSettings:
    # How often ``newsbot run`` fetches every feed (then reindexes).
    interval_minutes: float = 15.0
    # Sent with every request; give an address where site owners can reach you.
    user_agent: str = "newsbot"
    contact: str = ""
    # Timeouts: to connect, between two reads, and for one whole request.
    connect_timeout_seconds: float = 10.0
    read_timeout_seconds: float = 20.0
    total_timeout_seconds: float = 60.0
    # Size caps, counted on the decompressed body while it streams.
    max_feed_bytes: int = 5_000_000
    max_page_bytes: int = 3_000_000
    max_redirects: int = 5
    # Pause between two requests to one host (robots.txt Crawl-delay raises it, to 60 s at most).
    per_host_delay_seconds: float = 1.0
    # Requests in flight at once (over all hosts).
    concurrency: int = 4
    # A 429/503 asking to wait at most this long is waited for once; a longer wait backs the feed off.
    max_retry_after_seconds: float = 30.0
    # Honour robots.txt for article pages (feeds are fetched because someone subscribed to them).
    respect_robots: bool = True
    robots_cache_minutes: float = 60.0
    # A failing feed waits backoff_minutes, doubling at each failure, at most max_backoff_hours.
    backoff_minutes: float = 15.0
    max_backoff_hours: float = 24.0
    # At most this many items of one feed are read in one pass.
    max_items_per_feed: int = 200
    # A page whose extracted text is shorter than this falls back to the feed item's own text.
    min_article_chars: int = 200
    # Feed content at least this long is taken as the full article (no page fetched).
    full_content_chars: int = 1500
    # Off, no host that resolves to a loopback, private, link-local or reserved address is fetched.
    allow_private_addresses: bool = False
    # Networks fetched even so (CIDR, e.g. "10.1.2.3/32" for a feed server on your own network).
    allowed_networks: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FeedSpec:
    """One followed feed, as a ``[[feeds]]`` table or a row added from the terminal or Discord."""

    url: str
    # The source name shown with answers; default: the feed's own title, else its host.
    source: str = ""
    # Where its articles are written; default: <feeds folder>/<name>. Never taken from a Discord user.
    folder: str = ""
    # Fetch each item's linked page and extract the whole article (unless the feed carries it).
    full_text: bool = True


@dataclass(frozen=True)
class ClusterSettings:
    # 0: one index on this machine. N: the articles spread over N shards (docs/scale.md), with the
    # answers of one index. Needs `pip install 'newsbot[cluster]'` unless address is "inprocess".
    shards: int = 0
    # "local": a Ray of this process's own; "auto": the Ray cluster running here (`ray start`);
    # "HOST:6379": the head of a cluster this machine is a node of; "ray://HOST:10001": a cluster
    # elsewhere (Ray Client); "inprocess": every shard in this process, no Ray.
    address: str = "local"
    # How long a shard may take to answer before the answer goes without it.
    call_timeout_seconds: float = 30.0
    # Ray actors per shard: each answers questions, so that one lost leaves the shard answering. The
    # copies read the same files (on other nodes: a shared filesystem); the first one reindexes.
    replicas: int = 1


@dataclass(frozen=True)
class Settings:
    news: NewsSettings = field(default_factory=NewsSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    index: IndexSettings = field(default_factory=IndexSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    ranking: RankingSettings = field(default_factory=RankingSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    watch: WatchSettings = field(default_factory=WatchSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    feeds: list[FeedSpec] = field(default_factory=list)  # [[feeds]] tables

    @property
    def database(self) -> Path:
        return Path(self.store.database)

    @property
    def folders(self) -> list[Path]:
        return [Path(f) for f in self.news.folders]

    def bm25(self) -> BM25Params:
        """The index's BM25 parameters (``[index]``)."""
        return BM25Params(**{f.name: getattr(self.index, f.name) for f in dataclasses.fields(BM25Params)})

    def rank_params(self) -> RankParams:
        """The ranking's weights: ``[ranking]``, and RankParams' defaults for the rest."""
        return RankParams(**dataclasses.asdict(self.ranking))


MOVED = {  # settings that moved, to the name they have now
    "answer.recency_days": "ranking.recency_days",
    "answer.whole_article_weight": "ranking.whole_article_weight",
}


KIND_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


def _kind_name(kind: Any) -> str:
    """How an error message names a setting's type (``Literal["auto"]`` is "auto")."""
    if typing.get_origin(kind) is Literal:
        return " or ".join(f'"{v}"' for v in typing.get_args(kind))
    return KIND_NAMES.get(kind, str(kind))


def _check_value(key: str, value: Any, kind: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin in (list,):
        (inner,) = typing.get_args(kind)
        if not isinstance(value, list):
            raise ConfigError(key, f"expected a list, got {type(value).__name__}")
        return [_check_value(f"{key}[{i}]", v, inner) for i, v in enumerate(value)]
    if origin in (typing.Union, types.UnionType):  # the first kind that takes the value
        for option in typing.get_args(kind):
            try:
                return _check_value(key, value, option)
            except ConfigError:
                continue
        kinds = " or ".join(_kind_name(option) for option in typing.get_args(kind))
        raise ConfigError(key, f"expected {kinds}, got {value!r}")
    if origin is Literal:
        if not isinstance(value, str) or value not in typing.get_args(kind):
            raise ConfigError(key, f"expected {_kind_name(kind)}, got {value!r}")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"expected a whole number, got {value!r}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key, f"expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(key, f"expected a finite number, got {value!r}")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {value!r}")
        if "\x00" in value:
            raise ConfigError(key, "holds a NUL character")
        return value
    raise AssertionError(f"unsupported setting type for {key}")


def _section(name: str, cls: type, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(name, "expected a table of settings")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in raw:
        if f"{name}.{key}" in MOVED:
            raise ConfigError(f"{name}.{key}", f"moved to {MOVED[f'{name}.{key}']}")
        if key not in known:
            raise ConfigError(f"{name}.{key}", f"unknown setting (known: {', '.join(sorted(known))})")
    values = {key: _check_value(f"{name}.{key}", raw[key], hints[key]) for key in raw}
    return cls(**values)


def _feeds(raw: Any) -> list[FeedSpec]:
    """``[[feeds]]``: an array of tables, each naming at least a ``url``."""
    if not isinstance(raw, list):
        raise ConfigError("feeds", "expected [[feeds]] tables, each with a url")
    feeds = []
    for i, table in enumerate(raw):
        if isinstance(table, dict) and "url" not in table:
            raise ConfigError(f"feeds[{i}].url", "missing: every [[feeds]] table needs a url")
        feeds.append(_section(f"feeds[{i}]", FeedSpec, table))
    return feeds


def settings_from_dict(raw: dict[str, Any], base_dir: Path | None = None) -> Settings:
    """Build settings from parsed TOML; relative paths are taken from ``base_dir``."""
    sections = {f.name: f for f in dataclasses.fields(Settings)}
    hints = typing.get_type_hints(Settings)
    for name in raw:
        if name not in sections:
            raise ConfigError(name, f"unknown section (known: {', '.join(sections)})")
    parts = {name: _section(name, hints[name], raw[name]) for name in raw if name != "feeds"}
    if "feeds" in raw:
        parts["feeds"] = _feeds(raw["feeds"])
    settings = Settings(**parts)
    if base_dir is not None:
        folders = [
            str((base_dir / f).resolve()) if not Path(f).is_absolute() else f for f in settings.news.folders
        ]
        db = settings.store.database
        if not Path(db).is_absolute():
            db = str(base_dir / db)
        settings = dataclasses.replace(
            settings,
            news=dataclasses.replace(settings.news, folders=folders),
            store=dataclasses.replace(settings.store, database=db),
        )
    validate(settings)
    return settings


MAX_CONFIG_BYTES = 1 << 20


def _read_config(path: Path) -> bytes:
    """A settings file's bytes: a regular file (never a FIFO or a device, which could block or never
    end) of at most ``MAX_CONFIG_BYTES``."""
    with open(path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NONBLOCK)) as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise ConfigError(str(path), "not a regular file")
        data = file.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(str(path), f"larger than {MAX_CONFIG_BYTES >> 10} KiB: not a settings file")
    return data


def load_settings(path: Path | None = None) -> Settings:
    """Read settings from ``path``, ``$NEWSBOT_CONFIG`` or ``./newsbot.toml``; defaults if none exist.

    An explicitly named file that does not exist is an error; the implicit ones are optional.
    """
    explicit = path or (Path(os.environ["NEWSBOT_CONFIG"]) if os.environ.get("NEWSBOT_CONFIG") else None)
    candidate = explicit or Path("newsbot.toml")
    if not candidate.exists():
        if explicit is not None:
            raise ConfigError(str(candidate), "config file not found")
        settings = Settings()
        validate(settings)
        return settings
    try:
        raw = tomllib.loads(_read_config(candidate).decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(candidate), f"not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(str(candidate), "not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(str(candidate), f"cannot read ({exc.strerror})") from None
    return settings_from_dict(raw, base_dir=candidate.resolve().parent)
