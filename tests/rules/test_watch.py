"""Hot reload for real: watchfiles on a temporary directory."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

import monitor.rules.watch as watch_module
from monitor.rules import LoadResult, watch_rules

GOOD = "rules:\n  - {id: r1, title: T, query: drone, examples: {match: [drone]}}\n"
BROKEN = "rules:\n  - {id: r2, title: T, query: '(drone'}\n"
WAIT = 20.0  # a safety net against a hung test, not a timing assertion


async def after(queue: asyncio.Queue[LoadResult], change: Callable[[], object]) -> LoadResult:
    """Make a change and return the reload it causes.

    The watcher starts asynchronously, so a change made before its first snapshot
    goes unseen: repeat the (idempotent) change until a reload arrives.
    """
    for _ in range(int(WAIT)):
        change()
        try:
            return await asyncio.wait_for(queue.get(), 1.0)
        except TimeoutError:
            continue
    raise AssertionError("no reload after the change")


async def test_reload_on_change_and_errors_on_broken_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.yaml").write_text(GOOD)
    queue: asyncio.Queue[LoadResult] = asyncio.Queue()
    stop = asyncio.Event()
    task = asyncio.create_task(
        watch_rules([rules], reload=queue.put_nowait, stop=stop, debounce_ms=50, force_polling=True)
    )
    try:
        second = GOOD.replace("r1", "r2").replace("drone", "rocket")
        result = await after(queue, lambda: (rules / "b.yaml").write_text(second))
        assert result.ruleset is not None
        assert [r.id for r in result.ruleset.rules] == ["r1", "r2"]

        result = await after(queue, lambda: (rules / "b.yaml").write_text(BROKEN))
        assert result.ruleset is None
        assert [str(e) for e in result.errors] == [
            f"{rules}/b.yaml:2:32: unbalanced parentheses: this ( is never closed"
        ]

        (rules / "notes.txt").write_text("not a rule file")  # ignored
        result = await after(queue, lambda: (rules / "b.yaml").unlink(missing_ok=True))
        assert result.ruleset is not None and [r.id for r in result.ruleset.rules] == ["r1"]
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT)


async def test_single_file_is_watched_through_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text(GOOD)
    queue: asyncio.Queue[LoadResult] = asyncio.Queue()
    stop = asyncio.Event()
    task = asyncio.create_task(
        watch_rules([path], reload=queue.put_nowait, stop=stop, debounce_ms=50, force_polling=True)
    )
    try:

        def save() -> None:
            (tmp_path / "other.yaml").write_text(BROKEN)  # not one of the watched paths
            replacement = tmp_path / "one.yaml.tmp"
            replacement.write_text(GOOD.replace("drone", "rocket"))
            replacement.replace(path)  # how editors save

        result = await after(queue, save)
        assert result.ruleset is not None
        assert result.ruleset.rules[0].query == "rocket"
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT)


async def test_deeply_nested_files_are_refused_and_later_edits_still_load(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.yaml").write_text(GOOD)
    queue: asyncio.Queue[LoadResult] = asyncio.Queue()
    stop = asyncio.Event()
    task = asyncio.create_task(
        watch_rules([rules], reload=queue.put_nowait, stop=stop, debounce_ms=50, force_polling=True)
    )
    try:
        deep_query = "rules:\n  - {id: q, title: Q, query: '" + "(" * 200 + "x" + ")" * 200 + "'}\n"
        result = await after(queue, lambda: (rules / "b.yaml").write_text(deep_query))
        assert result.ruleset is None
        assert [str(e).split(": ", 1)[0] for e in result.errors] == [f"{rules}/b.yaml:2:95"]
        assert "nested more than 64 levels deep" in str(result.errors[0])

        deep_yaml = "rules: " + "[" * 500 + "]" * 500 + "\n"
        result = await after(queue, lambda: (rules / "b.yaml").write_text(deep_yaml))
        assert result.ruleset is None
        assert str(result.errors[0]).startswith(
            f"{rules}/b.yaml:1:71: invalid YAML: nested more than 64 levels deep"
        )

        second = GOOD.replace("r1", "r2")
        result = await after(queue, lambda: (rules / "b.yaml").write_text(second))
        assert result.ruleset is not None
        assert [r.id for r in result.ruleset.rules] == ["r1", "r2"]
        assert not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT)


async def test_watcher_survives_any_exception_in_a_reload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.yaml").write_text(GOOD)
    real_load = watch_module.RuleLoader.load

    def flaky_load(self: watch_module.RuleLoader) -> LoadResult:
        if "BOOM" in (rules / "a.yaml").read_text():
            raise RuntimeError("the loader broke")
        return real_load(self)

    monkeypatch.setattr(watch_module.RuleLoader, "load", flaky_load)
    queue: asyncio.Queue[LoadResult] = asyncio.Queue()
    calls = 0

    def reload(result: LoadResult) -> None:
        nonlocal calls
        calls += 1
        queue.put_nowait(result)
        if "rocket" in (rules / "a.yaml").read_text():
            raise ValueError("the daemon's reload broke")

    stop = asyncio.Event()
    task = asyncio.create_task(
        watch_rules([rules], reload=reload, stop=stop, debounce_ms=50, force_polling=True)
    )
    try:
        result = await after(queue, lambda: (rules / "a.yaml").write_text(GOOD + "# BOOM\n"))
        assert result.ruleset is None  # refused: the daemon keeps its last good rules
        (error,) = result.errors
        assert str(error) == (
            f"{rules}/a.yaml:1:1: the rules could not be reloaded: RuntimeError: the loader broke"
        )
        assert "reloading the rules failed" in caplog.text

        rocket = GOOD.replace("drone", "rocket")
        result = await after(queue, lambda: (rules / "a.yaml").write_text(rocket))
        assert result.ruleset is not None  # delivered; the callback then raised
        assert "applying the reloaded rules failed" in caplog.text

        result = await after(queue, lambda: (rules / "a.yaml").write_text(GOOD))
        assert result.ruleset is not None and result.ruleset.rules[0].query == "drone"
        assert not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT)


async def test_watcher_passes_the_size_limit_on(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    queue: asyncio.Queue[LoadResult] = asyncio.Queue()
    stop = asyncio.Event()
    task = asyncio.create_task(
        watch_rules(
            [rules],
            reload=queue.put_nowait,
            stop=stop,
            debounce_ms=50,
            force_polling=True,
            max_file_bytes=len(GOOD),
        )
    )
    try:
        result = await after(queue, lambda: (rules / "a.yaml").write_text(GOOD + "# more\n"))
        assert result.ruleset is None
        assert "file too large" in str(result.errors[0])
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT)
