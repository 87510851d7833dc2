"""Worker processes end with the reindex that started them, even when it is killed with ``kill -9``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from newsbot.index.ingest import workers

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from newsbot.index.ingest import workers
    from newsbot.index.ingest.indexer import reindex
    from newsbot.index.ranking.bm25 import BM25Params
    from newsbot.index.tokenizer import TokenizerSpec

    def progress(stage, done, total):
        if stage == "parse" and done:
            print("parsed", done, flush=True)

    if __name__ == "__main__":
        workers.PROCESS_THRESHOLD = 10  # worker processes whatever the number of cores
        workers.PROCESS_CHUNK = 20
        workers.cores = lambda: 2
        db, folder = Path(sys.argv[1]), Path(sys.argv[2])
        asyncio.run(reindex(db, [folder], TokenizerSpec(), BM25Params(), progress))
        print("finished", flush=True)
    """
)


def marked(marker: str) -> set[int]:
    """The running processes (not zombies) whose environment holds ``marker``."""
    out = set()
    needle = f"NEWSBOT_TEST_MARK={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if state != "Z" and needle in environ.split(b"\0"):
            out.add(int(entry.name))
    return out


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (a zombie has ended; only its exit status is left)."""
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(pid)
    return out


def big_folder(tmp_path: Path, files: int) -> Path:
    folder = tmp_path / "news"
    folder.mkdir()
    words = "harbor tram council budget storm warning ferry fare library museum river flood".split()
    for i in range(files):
        body = " ".join(words[(i + j) % len(words)] + str(j % 97) for j in range(400))
        (folder / f"{i:05d}.txt").write_text(f" date 2026-01-01 Story {i}\n\n{body}\n", encoding="utf-8")
    return folder


def start(tmp_path: Path, folder: Path) -> tuple[subprocess.Popen[str], str]:
    """The reindex in a process of its own; it and the processes it starts carry a marker."""
    script = tmp_path / "run_index.py"
    script.write_text(SCRIPT, encoding="utf-8")
    marker = uuid.uuid4().hex
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "news.db"), str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "NEWSBOT_TEST_MARK": marker},
    )
    return proc, marker


def workers_of(proc: subprocess.Popen[str], marker: str, count: int) -> set[int]:
    """Once there are ``count`` of them: the processes the reindex started."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        spawned = marked(marker) - {proc.pid}
        if len(spawned) >= count:
            return spawned
        time.sleep(0.01)
    raise AssertionError(f"no worker processes appeared (exit status {proc.poll()})")


def kill_and_watch(proc: subprocess.Popen[str], marker: str) -> set[int]:
    """``kill -9`` the reindex; the processes it started still running 5 s later."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while marked(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = marked(marker)
    for pid in left:  # leave nothing behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    return left


def test_workers_killed_while_they_start_end_too(tmp_path: Path) -> None:
    proc, marker = start(tmp_path, big_folder(tmp_path, 400))
    workers_of(proc, marker, 1)  # at once: they are still importing
    assert kill_and_watch(proc, marker) == set()


def test_workers_busy_reading_end_when_the_reindex_is_killed(tmp_path: Path) -> None:
    proc, marker = start(tmp_path, big_folder(tmp_path, 3000))
    assert proc.stdout is not None
    workers_of(proc, marker, 2)
    line = proc.stdout.readline()  # the workers have sent back files: they are running, initialised
    assert line.startswith("parsed"), line
    assert len(marked(marker) - {proc.pid}) >= 2
    assert kill_and_watch(proc, marker) == set()


def test_a_worker_whose_parent_is_gone_exits() -> None:
    # the portable fallback, without the kernel's help: the watchdog sees it was orphaned
    code = textwrap.dedent(
        """
        import os, sys, time
        from newsbot.index.ingest import workers
        workers.sys.platform = "other"  # no prctl: only the watchdog
        workers.ORPHAN_CHECK_SECONDS = 0.05
        parent = os.getpid()
        pid = os.fork()
        if pid:  # the "reindex": says who its worker is, then dies
            print(pid, flush=True)
            os._exit(0)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        workers.end_with_parent(parent)
        time.sleep(60)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    worker = int(proc.stdout.split()[0])
    deadline = time.monotonic() + 5
    while alive({worker}) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = alive({worker})
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == set()


def test_a_worker_started_after_its_parent_died_exits_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    class Exited(Exception):
        pass

    def exit_(code: int) -> None:
        raise Exited(code)

    monkeypatch.setattr(workers.sys, "platform", "other")
    monkeypatch.setattr(workers.os, "_exit", exit_)
    with pytest.raises(Exited):
        workers.end_with_parent(os.getppid() + 1)
