"""The project's shape: layering, settings, and the command line's help."""

from __future__ import annotations

import ast
import dataclasses
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from newsbot.bot.app import shard_options
from newsbot.cli.main import build_parser, main
from newsbot.index.config import (
    IndexSettings,
    RankingSettings,
    Settings,
    load_settings,
    settings_from_dict,
)
from newsbot.index.errors import ConfigError
from newsbot.index.ranking.bm25 import BM25Params
from newsbot.index.ranking.inputs import RankSettings
from newsbot.index.ranking.params import RankParams

from .helpers import ROOT


def test_index_never_imports_discord_or_bot() -> None:
    for path in (ROOT / "index").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in ("discord", "bot", "cli"), f"{path} imports {name}"


def test_importing_index_loads_no_discord() -> None:
    code = "import sys, index.api, index.config; print('discord' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_example_config_parses_and_covers_every_setting() -> None:
    path = ROOT / "config.example.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    settings = settings_from_dict(raw, base_dir=ROOT)
    # that it names every setting is tests/test_docs.py's; here: the example's values are the defaults
    # (relative paths aside)
    assert dataclasses.replace(settings, news=Settings().news, store=Settings().store) == Settings()
    text = path.read_text(encoding="utf-8")
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            before = text[: text.index(line)].rstrip().splitlines()[-1]
            assert before.lstrip().startswith("#") or "=" in before, f"setting without a comment: {line}"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"answer": {"passages": "three"}}, "answer.passages"),
        ({"answer": {"passages": 11}}, "answer.passages"),
        ({"index": {"variant": "bm99"}}, "index.variant"),
        ({"index": {"b": 2}}, "index.b"),
        ({"index": {"article_b": -0.1}}, "index.article_b"),
        ({"answer": {"repeat_factor": 0}}, "answer.repeat_factor"),
        ({"ranking": {"whole_article_weight": -1}}, "ranking.whole_article_weight"),
        ({"ranking": {"whole_article_weight": float("inf")}}, "ranking.whole_article_weight"),
        ({"ranking": {"recency_days": -1}}, "ranking.recency_days"),
        ({"ranking": {"title_weight": 0.5}}, "ranking.title_weight"),  # internal: not a setting
        ({"answer": {"repeat_factor": 1.5}}, "answer.repeat_factor"),
        ({"index": {"language": "klingon"}}, "index.language"),
        ({"index": {"language": "English"}}, "index.language"),
        ({"discord": {"guild_ids": ["x"]}}, "discord.guild_ids[0]"),
        ({"discord": {"admin_roles": [1]}}, "discord.admin_roles"),
        ({"discord": {"shard_count": 0}}, "discord.shard_count"),
        ({"discord": {"shard_count": "many"}}, "discord.shard_count"),
        ({"discord": {"shard_count": 2.5}}, "discord.shard_count"),
        ({"discord": {"shard_count": True}}, "discord.shard_count"),
        ({"discord": {"shard_ids": [0]}}, "discord.shard_ids"),  # needs a numeric shard_count
        ({"discord": {"shard_count": 2, "shard_ids": [2]}}, "discord.shard_ids[0]"),
        ({"discord": {"shard_count": 2, "shard_ids": [-1]}}, "discord.shard_ids[0]"),
        ({"discord": {"shard_count": 3, "shard_ids": [1, 1]}}, "discord.shard_ids[1]"),
        ({"discord": {"shard_count": 2, "shard_ids": ["1"]}}, "discord.shard_ids[0]"),
        ({"discord": {"shard_count": 2, "shard_ids": 1}}, "discord.shard_ids"),
        ({"nonsense": {}}, "nonsense"),
        ({"logging": {"level": "LOUD"}}, "logging.level"),
        ({"watch": {"enabled": "yes"}}, "watch.enabled"),
        ({"news": {"folders": "news"}}, "news.folders"),
        ({"feeds": [{"source": "Gazette"}]}, "feeds[0].url"),
        ({"feeds": [{"url": "file:///etc/passwd"}]}, "feeds[0].url"),
        ({"feeds": [{"url": "https://example.com/rss", "fulltext": True}]}, "feeds[0].fulltext"),
        ({"feeds": {"url": "https://example.com/rss"}}, "feeds"),
        ({"fetch": {"max_redirects": 50}}, "fetch.max_redirects"),
        ({"fetch": {"allowed_networks": ["the office"]}}, "fetch.allowed_networks[0]"),
        ({"fetch": {"connect_timeout_seconds": float("inf")}}, "fetch.connect_timeout_seconds"),
        ({"fetch": {"user_agent": "newsbot\r\nX-Evil: 1"}}, "fetch.user_agent"),
        ({"cluster": {"shards": 2, "replicas": 0}}, "cluster.replicas"),
        ({"cluster": {"shards": 2, "replicas": 9}}, "cluster.replicas"),
    ],
)
def test_bad_settings_name_the_key(raw: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_dict(raw)
    assert info.value.key == key
    assert str(info.value).startswith(f"config: {key}: ")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("answer.whole_article_weight", "ranking.whole_article_weight"),
        ("answer.recency_days", "ranking.recency_days"),
    ],
)
def test_a_moved_setting_names_its_new_key(
    old: str, new: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    section, key = old.split(".")
    with pytest.raises(ConfigError) as info:
        settings_from_dict({section: {key: 1.0}})
    assert info.value.key == old and str(info.value) == f"config: {old}: moved to {new}"
    old_file = tmp_path / "old.toml"
    old_file.write_text(f"[{section}]\n{key} = 1.0\n", encoding="utf-8")
    assert main(["--config", str(old_file), "stats"]) == 2
    err = capsys.readouterr().err.strip()
    assert new in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_ranking_settings_keep_their_names_and_defaults() -> None:
    # one name from the file to the kernels, one default: [ranking] holds RankParams' own fields,
    # and the BM25 settings of [index] are BM25Params', with the defaults those classes define
    ranking = {f.name for f in dataclasses.fields(RankingSettings)}
    assert ranking <= {f.name for f in dataclasses.fields(RankParams)}
    assert set(RankSettings._fields) >= ranking - {"recency_days"}  # the kernels' names (recency: a table)
    assert Settings().rank_params() == RankParams()
    assert Settings().bm25() == BM25Params()
    bm25 = {f.name for f in dataclasses.fields(BM25Params)}
    assert bm25 <= {f.name for f in dataclasses.fields(IndexSettings)}
    raw = {"ranking": {"recency_days": 3.0, "whole_article_weight": 0.5}, "index": {"k1": 1.2, "b": 0.6}}
    settings = settings_from_dict(raw)
    assert settings.rank_params() == RankParams(recency_days=3.0, whole_article_weight=0.5)
    assert settings.bm25() == BM25Params(k1=1.2, b=0.6)


def test_shard_settings() -> None:
    assert (Settings().discord.shard_count, Settings().discord.shard_ids) == ("auto", [])
    settings = settings_from_dict({"discord": {"shard_count": 4, "shard_ids": [3, 0]}})
    assert (settings.discord.shard_count, settings.discord.shard_ids) == (4, [3, 0])
    assert settings_from_dict({"discord": {"shard_count": "auto"}}).discord.shard_count == "auto"
    assert shard_options(Settings()) == {"shard_count": None, "shard_ids": None}  # discord.py asks Discord
    assert shard_options(settings) == {"shard_count": 4, "shard_ids": [3, 0]}
    for raw, message in (
        ({"shard_count": "many"}, """discord.shard_count: expected a whole number or "auto", got 'many'"""),
        ({"shard_count": 0}, 'discord.shard_count: must be 1 or more (or "auto")'),
        ({"shard_ids": [1]}, 'discord.shard_ids: needs a number as discord.shard_count, not "auto"'),
        (
            {"shard_count": 2, "shard_ids": [5]},
            "discord.shard_ids[0]: must be 0 to 1 (discord.shard_count is 2)",
        ),
        ({"shard_count": 3, "shard_ids": [2, 2]}, "discord.shard_ids[1]: shard 2 is listed twice"),
    ):
        with pytest.raises(ConfigError) as info:
            settings_from_dict({"discord": raw})
        assert str(info.value) == f"config: {message}"


def test_load_settings_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[answer\npassages = 3", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad)
    good = tmp_path / "good.toml"
    good.write_text('[store]\ndatabase = "data/x.db"\n[news]\nfolders = ["n"]\n', encoding="utf-8")
    s = load_settings(good)
    assert s.database == tmp_path / "data/x.db" and s.folders == [tmp_path / "n"]


def test_bad_config_is_one_line_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[answer]\npassages = 0\n", encoding="utf-8")
    assert main(["--config", str(bad), "stats"]) == 2
    err = capsys.readouterr().err.strip()
    assert "answer.passages" in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_every_subcommand_has_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    names = set(sub.choices)  # type: ignore[arg-type]
    assert {"index", "ask", "latest", "run", "console"} <= names
    for name, action in sub.choices.items():  # type: ignore[union-attr]
        assert action.description, f"newsbot {name} has no help"
        text = action.format_help()
        assert f"newsbot {name}" in text
        for arg in action._actions:
            if arg.dest not in ("help", "config") and arg.help != "==SUPPRESS==":
                assert arg.help, f"newsbot {name} {arg.dest} has no help"


def test_run_without_token_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert main(["run"]) == 2
    assert "DISCORD_TOKEN" in capsys.readouterr().err


def test_error_text_is_not_read_as_markup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "[archive]"
    assert main(["index", str(folder), "--db", str(tmp_path / "x.db")]) == 2
    err = capsys.readouterr().err
    assert "[archive]" in err and "Traceback" not in err


def test_a_settings_file_that_is_no_file_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "newsbot.toml"
    os.mkfifo(fifo)  # nobody writes to it: reading it would block for ever
    for path in (Path("/dev/zero"), fifo, tmp_path):
        with pytest.raises(ConfigError) as info:
            load_settings(path)
        assert info.value.key == str(path)
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (2 << 20) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="larger than"):
        load_settings(big)
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"[logging]\n# caf\xe9\nlevel = 'INFO'\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(latin)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_settings_are_finite_numbers(value: float) -> None:
    for section, key in (("index", "k1"), ("ranking", "recency_days"), ("discord", "cooldown_seconds")):
        with pytest.raises(ConfigError, match="finite") as info:
            settings_from_dict({section: {key: value}})
        assert info.value.key == f"{section}.{key}"


def test_a_nul_in_a_path_setting_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_dict({"news": {"folders": ["news\x00/evil"]}})
    assert info.value.key == "news.folders[0]"
