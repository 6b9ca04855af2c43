"""Hot reload: watch the rule paths and hand every re-load to the daemon.

The daemon decides what to do with a result: keep the last good rule set when
``result.ruleset`` is None, and log the errors (they carry file:line:column).

The watcher must outlive any one bad reload: an exception escaping it would end the
task silently and leave the daemon deaf to every later edit. So a reload that raises
is logged with its traceback and handed on as a refused result (the last good rules
keep running), and an exception in the ``reload`` callback is logged too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from watchfiles import Change, awatch

from monitor.rules.compiler import LoadResult
from monitor.rules.diagnostics import Diagnostic
from monitor.rules.loader import DEFAULT_MAX_FILE_BYTES, RULE_SUFFIXES, RuleLoader

log = logging.getLogger(__name__)


def _watch_targets(paths: Sequence[Path]) -> tuple[list[Path], set[Path], list[Path]]:
    """Directories to watch, the single files of interest, and the rule directories.

    A single file is watched through its directory: editors replace files by renaming,
    which a watch on the file itself would lose.
    """
    roots: list[Path] = []
    files: set[Path] = set()
    dirs: list[Path] = []
    for path in paths:
        resolved = path.resolve()
        if path.is_dir():
            dirs.append(resolved)
            roots.append(resolved)
        else:
            files.add(resolved)
            roots.append(resolved.parent)
    unique = [r for r in dict.fromkeys(roots) if r.exists()]
    return unique, files, dirs


async def watch_rules(
    paths: Sequence[Path],
    *,
    reload: Callable[[LoadResult], None],
    stop: asyncio.Event,
    channels: Collection[str] | None = None,
    digests: Collection[str] | None = None,
    debounce_ms: int = 300,
    force_polling: bool | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    loader: RuleLoader | None = None,
) -> None:
    """Until ``stop`` is set, re-load the rules whenever a rule file changes.

    Each change (a batch of file events within ``debounce_ms``) leads to one
    :meth:`RuleLoader.load` of all ``paths`` and one call of ``reload(result)``.
    ``loader``: the one that loaded the running rules (so a reload re-reads and
    re-compiles only the files that changed); by default a new one for ``paths`` with
    ``channels``, ``digests`` and ``max_file_bytes``, whose first reload reads all.
    """
    paths = [Path(p) for p in paths]
    if loader is None:
        loader = RuleLoader(
            paths, channels=channels, digests=digests, max_file_bytes=max_file_bytes
        )
    roots, files, dirs = _watch_targets(paths)
    if not roots:
        log.warning("rule paths %s do not exist: not watching", ", ".join(map(str, paths)))
        await stop.wait()
        return

    def relevant(change: Change, name: str) -> bool:
        path = Path(name)
        if path in files:
            return True
        return path.suffix in RULE_SUFFIXES and any(path.is_relative_to(d) for d in dirs)

    async for changes in awatch(
        *roots,
        watch_filter=relevant,
        stop_event=stop,
        debounce=debounce_ms,
        force_polling=force_polling,
        recursive=True,
    ):
        changed = sorted({name for _, name in changes})
        log.info("rule files changed: %s", ", ".join(changed))
        result = await _load(loader, changed)
        try:
            reload(result)
        except Exception:
            log.exception("applying the reloaded rules failed; still watching for changes")


async def _load(loader: RuleLoader, changed: Sequence[str]) -> LoadResult:
    """One re-load; a failure of the loader itself becomes a refused result."""
    try:
        return await asyncio.to_thread(loader.load)
    except Exception as exc:
        log.exception("reloading the rules failed; the last good rules keep running")
        where = changed[0] if changed else str(loader.paths[0])
        message = f"the rules could not be reloaded: {type(exc).__name__}: {exc}"
        return LoadResult(None, (Diagnostic(where, 1, 1, message),))
