"""One ``.eml`` file per message in a local folder, written atomically.

Files are named by outbox id, so a resend after a crash replaces the file instead of adding
a second one. ``maildir`` writes into ``tmp/`` and renames into ``new/`` as Maildir readers expect.
A crash mid-write leaves a ``.NAME.PID.tmp`` file behind: those older than an hour are removed
at start (a younger one may belong to another process writing right now).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from monitor.notifiers.channels.base import Item
from monitor.notifiers.channels.mail import MailRenderer
from monitor.notifiers.config import FolderChannel
from monitor.notifiers.errors import DeliveryError
from monitor.notifiers.templates import Templates

ORPHAN_AGE = 3600.0  # seconds
TMP_PATTERN = ".*.eml.*.tmp"  # what write_atomically leaves behind when interrupted


def remove_orphans(
    tmp_dir: Path, *, older_than: float = ORPHAN_AGE, now: float | None = None
) -> int:
    """Delete our interrupted writes in ``tmp_dir`` older than ``older_than`` seconds."""
    cutoff = (time.time() if now is None else now) - older_than
    removed = 0
    try:
        candidates = list(tmp_dir.glob(TMP_PATTERN))
    except OSError:
        return 0
    for path in candidates:
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:  # gone already, or not ours to delete: leave it
            continue
    return removed


def write_atomically(directory: Path, tmp_dir: Path, name: str, data: bytes) -> Path:
    """Readers never see a partial file: write, fsync, then rename into place."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    final = directory / name
    tmp = tmp_dir / f".{name}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    return final


class FolderSender:
    def __init__(self, name: str, config: FolderChannel, templates: Templates) -> None:
        self.name = name
        self.config = config
        self.mail = MailRenderer(
            name,
            templates,
            from_addr=config.from_addr,
            to=config.to,
            subject=config.subject,
            digest_subject=config.digest_subject,
        )
        if config.type == "maildir":
            self.directory, self.tmp_dir = config.path / "new", config.path / "tmp"
        else:
            self.directory = self.tmp_dir = config.path
        self.orphans_removed = remove_orphans(self.tmp_dir)

    async def send(self, item: Item, outbox_id: str) -> None:
        data = self.mail.message(item).as_bytes()
        try:
            if self.config.type == "maildir":
                (self.config.path / "cur").mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(
                write_atomically, self.directory, self.tmp_dir, f"{outbox_id}.eml", data
            )
        except OSError as exc:
            raise DeliveryError(f"cannot write to {self.directory}: {exc}") from exc

    async def aclose(self) -> None:
        return None
